"""POST a callback to a tenant's URL: to a checked address, briefly, without redirects.

The host is resolved and every address checked (domain/callback_urls.py), then the
connection goes to the first checked address itself, with the host name as TLS SNI,
certificate name and Host header: DNS cannot answer differently between the check and
the connection (rebinding). Redirects are returned as they are, never followed.
"""

from __future__ import annotations

import socket

import certifi
import urllib3
from urllib3.exceptions import HTTPError

from notify.domain.callback_urls import Resolver, checked_addresses, parse_callback_url
from notify.domain.callbacks import Unreachable

USER_AGENT = "messaging-callbacks/1"


def resolve(host: str, port: int) -> list[str]:
    """Every address of the host, in the resolver's order; Unreachable when DNS fails."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise Unreachable(f"cannot resolve {host}: {exc}") from exc
    return list(dict.fromkeys(info[4][0] for info in infos))


class GuardedPoster:
    def __init__(
        self,
        allow_loopback: bool,
        timeout: urllib3.Timeout,
        resolver: Resolver | None = None,  # a fake in tests; default: the system's DNS
    ) -> None:
        self._allow_loopback = allow_loopback
        self._timeout = timeout
        self._resolve = resolver or resolve

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """The receiver's HTTP status. UnsafeUrl when the URL or an address is refused;
        Unreachable when it cannot be reached in time."""
        target = parse_callback_url(url, self._allow_loopback)
        address = checked_addresses(target, self._resolve, self._allow_loopback)[0]
        pool = self._pool(target.scheme, address, target.port, target.host)
        request_headers = {**headers, "Host": target.host_header, "User-Agent": USER_AGENT}
        try:
            response = pool.urlopen(
                "POST",
                target.target,
                body=body,
                headers=request_headers,
                redirect=False,
                retries=False,
                timeout=self._timeout,
                assert_same_host=False,
                preload_content=True,
            )
        except HTTPError as exc:
            raise Unreachable(f"{type(exc).__name__}: {exc}") from exc
        finally:
            pool.close()
        return response.status

    @staticmethod
    def _pool(scheme: str, address: str, port: int, host: str) -> urllib3.HTTPConnectionPool:
        if scheme == "http":  # loopback only, where allowed (checked by parse_callback_url)
            return urllib3.HTTPConnectionPool(address, port, maxsize=1)
        return urllib3.HTTPSConnectionPool(
            address,
            port,
            maxsize=1,
            server_hostname=host,
            assert_hostname=host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
        )
