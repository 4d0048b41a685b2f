"""Which callback URLs the service may POST to: https, public addresses only.

A tenant chooses the URL, so without this guard it could make the service call the
instance metadata endpoint or anything else inside the network (SSRF). The URL is
checked when it is registered, and again before each POST after resolving its name:
every address the name resolves to must be public, and the POST goes to one of those
very addresses (a later, different answer from DNS cannot redirect it). Redirects are
never followed.

Loopback (and plain http to it) is allowed only when the deployment says so: the local
stack's configuration, so tests and developers can receive callbacks on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_CHARS = 2048
# Prefixes that embed an IPv4 address (NAT64, 6to4, Teredo): the v4 inside could be private.
_EMBEDS_IPV4 = tuple(
    ipaddress.ip_network(prefix)
    for prefix in ("64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "2001::/32")
)
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*\.?$")

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port -> the addresses it resolves to (socket.getaddrinfo in AWS, a fake in tests).
Resolver = Callable[[str, int], list[str]]


class UnsafeUrl(ValueError):
    """A URL the service must not call; the message says why (it is shown to the tenant)."""


@dataclass(frozen=True)
class CallbackUrl:
    url: str
    scheme: str
    host: str  # a name or an IP literal, as written (no brackets)
    port: int
    target: str  # path and query, what the request line carries

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return shown if self.port == default else f"{shown}:{self.port}"


def parse_callback_url(url: object, allow_loopback: bool) -> CallbackUrl:
    """The URL's parts, when it may be registered; UnsafeUrl otherwise."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_CHARS:
        raise UnsafeUrl(f"Url must be a string of 1-{MAX_URL_CHARS} characters")
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise UnsafeUrl("Url must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"Url is not a valid URL: {exc}") from None
    host = parts.hostname or ""
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("Url must not carry a user name or password")
    if not host:
        raise UnsafeUrl("Url has no host")
    literal = _ip_literal(host)
    if literal is None and not _HOSTNAME.match(host):
        raise UnsafeUrl(f"Url's host {host!r} is not a valid host name")
    scheme = parts.scheme.lower()
    if scheme != "https" and not (scheme == "http" and allow_loopback):
        raise UnsafeUrl("Url must be https://")
    if literal is not None:
        _check_for(scheme, str(literal), allow_loopback)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default_port = 443 if scheme == "https" else 80
    return CallbackUrl(url, scheme, host, port or default_port, target)


def check_address(address: str, allow_loopback: bool) -> IpAddress:
    """The address, when the service may connect to it; UnsafeUrl naming why not."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # a scope id changes nothing
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        raise UnsafeUrl(f"{address} is an IPv4-mapped IPv6 address")
    if ip.is_loopback:
        if allow_loopback:
            return ip
        raise UnsafeUrl(f"{address} is a loopback address")
    reason = _not_public(ip)
    if reason:
        raise UnsafeUrl(f"{address} is {reason}")
    return ip


def checked_addresses(url: CallbackUrl, resolve: Resolver, allow_loopback: bool) -> list[str]:
    """Every address the URL's host resolves to, each checked; connect to one of these.

    A name with one non-public address among public ones is refused whole: which one a
    client would pick is up to it, and a rebinding attacker would rely on that.
    """
    literal = _ip_literal(url.host)
    addresses = [str(literal)] if literal is not None else resolve(url.host, url.port)
    if not addresses:
        raise UnsafeUrl(f"{url.host} resolves to no address")
    for address in addresses:
        _check_for(url.scheme, address, allow_loopback)
    return addresses


def _check_for(scheme: str, address: str, allow_loopback: bool) -> None:
    ip = check_address(address, allow_loopback)
    if scheme == "http" and not ip.is_loopback:
        raise UnsafeUrl(f"Url must be https:// ({address} is not loopback, where http is allowed)")


def _ip_literal(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def _embeds_ipv4(ip: IpAddress) -> bool:
    return ip.version == 6 and any(ip in network for network in _EMBEDS_IPV4)


def _not_public(ip: IpAddress) -> str | None:
    """Why the address is not a public unicast address, or None when it is one."""
    checks = (
        (ip.is_unspecified, "the unspecified address"),
        (ip.is_link_local, "a link-local address (the instance metadata endpoint's kind)"),
        (ip.is_multicast, "a multicast address"),
        (_embeds_ipv4(ip), "a NAT64, 6to4 or Teredo address (an IPv4 address inside)"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "not a public address (shared, documentation or special-purpose range)"),
    )
    return next((reason for failed, reason in checks if failed), None)
