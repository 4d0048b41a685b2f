"""The console's routes: server-rendered HTML (Jinja2, every value escaped), one small script."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.utils import send_from_directory
from werkzeug.wrappers import Request, Response

from cli.output import short_time
from cli.target import Target, target_from_info
from emulator.providers import Providers
from emulator.web_console.outbox import OutboxFilter, message_view, newest_first
from notify.domain.channels import CHANNELS

CONSOLE_PATH = "/_console/"
HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
# The header that tells the outbox's script how many messages the outbox held.
OUTBOX_SIZE_HEADER = "X-Outbox-Size"

URLS = Map(
    [
        Rule("/_console/", endpoint="outbox"),
        Rule("/_console/outbox/new", endpoint="outbox_new"),
        Rule("/_console/static/<name>", endpoint="static"),
    ]
)


def segment(value: str) -> str:
    """A value as one path segment of a link (a TraceId may hold "/" or "?")."""
    return quote(value, safe="")


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["short_time"] = short_time
    environment.filters["segment"] = segment
    environment.globals["channels"] = list(CHANNELS)
    return environment


class WebConsole:
    """Serves /_console/ for one local stack, whose GET /_local/stack answer is `stack_info`."""

    def __init__(self, providers: Providers, stack_info: dict[str, Any]) -> None:
        self._providers = providers
        self._info = stack_info
        self._templates = _environment()
        self._views: dict[str, Callable[..., Response]] = {
            "outbox": self.outbox,
            "outbox_new": self.outbox_new,
            "static": self.static,
        }

    def __call__(self, request: Request) -> Response:
        adapter = URLS.bind_to_environ(request.environ)
        try:
            endpoint, arguments = adapter.match()
            return self._views[endpoint](request, **arguments)
        except HTTPException as exc:
            return exc.get_response(request.environ)  # a 404, or the redirect to add a "/"

    @property
    def url(self) -> str:
        """The local stack's HTTP side, where the CLI's control API calls go."""
        api = urlsplit(self._info["ApiUrl"])
        return f"{api.scheme}://{api.netloc}"

    def target(self) -> Target:
        """The stack as the CLI sees it: a Target of its own per request (boto3 sessions are
        not shared between threads)."""
        return target_from_info(self.url, self._info)

    def page(self, template: str, status: int = 200, **context: Any) -> Response:
        html = self._templates.get_template(template).render(stack=self._info, **context)
        return Response(html, status=status, content_type="text/html; charset=utf-8")

    # ------------------------------------------------------------------ outbox
    def outbox(self, request: Request) -> Response:
        keep = OutboxFilter.from_args(request.args)
        sent = self._providers.sent()
        messages = [message_view(m) for m in newest_first(sent, 0, keep)]
        return self.page("outbox.html", filter=keep, messages=messages, size=len(sent))

    def outbox_new(self, request: Request) -> Response:
        """The messages sent since the page's last look, as HTML to put on top of its list."""
        keep = OutboxFilter.from_args(request.args)
        after = request.args.get("after", 0, type=int)
        sent = self._providers.sent()
        messages = [message_view(m) for m in newest_first(sent, max(after, 0), keep)]
        html = self._templates.get_template("messages.html").render(messages=messages)
        response = Response(html, content_type="text/html; charset=utf-8")
        response.headers[OUTBOX_SIZE_HEADER] = str(len(sent))
        response.headers["Cache-Control"] = "no-store"
        return response

    def static(self, request: Request, name: str) -> Response:
        try:
            return send_from_directory(STATIC, name, request.environ)
        except NotFound:
            return self.page("not_found.html", 404, what=f"static file {name}")
