"""The local stack's HTTP side on 127.0.0.1: the API, and a small control API for the CLI.

every other path       the API: api/openapi.yaml's OpenAPI paths (emulator/api_gateway.py);
                       an unknown one gets API Gateway's 403 "Missing Authentication Token"
GET  /_local/stack     stack name, endpoints, API key and the template's outputs
GET  /_local/outbox    every message sent (?trace=ID to filter)
GET|POST|DELETE /_local/faults   fault injection, without a restart (DELETE: the quotas too)
GET|POST /_local/quotas          the providers' send quotas ({"channel", "per_second"})
GET  /_local/stats     the API's answers by status code, the event sources' records
/_console/             the web console (emulator/web_console/), for a person with a browser
"""

from __future__ import annotations

import json
import socket
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict
from typing import Any
from urllib.parse import urlsplit

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from emulator.api_gateway import ApiGateway, json_response
from emulator.priority import ApiFirst
from emulator.providers import Fault, Providers
from emulator.web_console import CONSOLE_PATH, WebConsole


class LocalHttp:
    def __init__(
        self,
        api: ApiGateway,
        providers: Providers,
        stack_info: dict[str, Any],
        stats: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self._api = api
        self._console = WebConsole(providers, stack_info)
        self._providers = providers
        self._stack_info = stack_info
        self._stats = stats or dict
        self.responses: Counter[int] = Counter()  # the API's answers by status code
        self._routes = {
            ("GET", "/_local/stack"): lambda request: json_response(200, self._stack_info),
            ("GET", "/_local/outbox"): self._outbox,
            ("GET", "/_local/faults"): lambda request: json_response(
                200, [asdict(fault) for fault in providers.faults]
            ),
            ("POST", "/_local/faults"): self._add_fault,
            ("DELETE", "/_local/faults"): self._clear_faults,
            ("GET", "/_local/quotas"): lambda request: json_response(
                200, [asdict(quota) for quota in providers.quotas.values()]
            ),
            ("POST", "/_local/quotas"): self._add_quota,
            ("GET", "/_local/stats"): lambda request: json_response(
                200, {"ApiResponses": dict(self.responses)} | self._stats()
            ),
        }

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path == "/_local" or request.path.startswith("/_local/"):
            route = self._routes.get((request.method, request.path.rstrip("/")))
            response = route(request) if route else json_response(404, {"message": "Not Found"})
        elif is_console(request.path):
            response = self._console(request)
        else:
            response = self._api(request)
            self.responses[response.status_code] += 1
        return response(environ, start_response)

    def _outbox(self, request: Request) -> Response:
        messages = self._providers.sent(request.args.get("trace"))
        return json_response(200, [message.to_dict() for message in messages])

    def _add_fault(self, request: Request) -> Response:
        try:
            spec = json.loads(request.get_data(as_text=True))
            fault = Fault(
                channel=spec["channel"],
                error=spec["error"],
                address=spec.get("address"),
                rate=float(spec.get("rate", 1.0)),
                times=int(spec["times"]) if spec.get("times") is not None else None,
                seconds=float(spec.get("seconds") or 0),
            )
            self._providers.add_fault(fault)
        except (ValueError, KeyError, TypeError) as exc:
            return json_response(400, {"message": "Invalid fault", "reason": str(exc)})
        return json_response(201, asdict(fault))

    def _add_quota(self, request: Request) -> Response:
        try:
            spec = json.loads(request.get_data(as_text=True))
            per_second = spec["per_second"]
            if not isinstance(per_second, int):
                raise ValueError(f"per_second is a whole number of sends, not {per_second!r}")
            quota = self._providers.add_quota(spec["channel"], per_second)
        except (ValueError, KeyError, TypeError) as exc:
            return json_response(400, {"message": "Invalid quota", "reason": str(exc)})
        return json_response(201, asdict(quota))

    def _clear_faults(self, request: Request) -> Response:
        self._providers.clear_faults()
        return Response(status=204)


def is_console(path: str) -> bool:
    return path == CONSOLE_PATH.rstrip("/") or path.startswith(CONSOLE_PATH)


class HttpServer:
    """A threaded WSGI server bound to loopback, served from a background thread.

    With `api_first`, the stack's other threads wait while a request is served: from its
    request line read to its answer sent (not while a kept-alive connection idles).
    """

    def __init__(self, app: Any, port: int, api_first: ApiFirst | None = None) -> None:
        handler = WSGIRequestHandler if api_first is None else _served_first(api_first)
        self._server = make_server("127.0.0.1", port, app, threaded=True, request_handler=handler)
        self.url = f"http://127.0.0.1:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> HttpServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()


def _served_first(api_first: ApiFirst) -> type[WSGIRequestHandler]:
    class ServedFirst(WSGIRequestHandler):
        serving = False

        def parse_request(self) -> bool:
            parsed = super().parse_request()
            # The console is a person watching, not the API: polling it every second must
            # not hold the executions back (its reads wait their turn like them).
            if parsed and not is_console(urlsplit(self.path).path):
                api_first.begin()
                self.serving = True
            return parsed

        def handle_one_request(self) -> None:
            try:
                super().handle_one_request()
            finally:
                if self.serving:
                    self.serving = False
                    api_first.end()

    return ServedFirst


def injected_failure(
    providers: Providers,
    channel: str,
    address: str,
    request: Request,
    error: Callable[[int, Any, str], Response],
    sender: str | None = None,
) -> Response | None:
    """Count a provider API's send; a fault that applies, or the quota of its `sender` (the
    channel's quota counts per sender), answers as `error` formats it.

    A crash drops the connection: to the client, a provider that died mid-call.
    """
    failure = providers.attempt(channel, address, sender)
    if failure is None:
        return None
    name, wire = failure
    if wire is None:
        request.environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
        return Response(status=500)  # never read: the connection is gone
    status, code = wire
    return error(status, code, f"injected {name} for {address}")
