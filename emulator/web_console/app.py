"""The console's routes: server-rendered HTML (Jinja2, every value escaped), one small script."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from botocore.exceptions import BotoCoreError, ClientError
from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.utils import send_from_directory
from werkzeug.wrappers import Request, Response

from cli import dlq as dlq_commands
from cli.dlq import EMPTY, read_all, summarise
from cli.errors import CommandError
from cli.history import summarise_errors
from cli.jobs import COUNTS, JobsApi
from cli.local import FAULT_CHANNELS, add_fault, clear_faults, fault_lines
from cli.output import short_time
from cli.target import Context, Target, target_from_info
from cli.templates import template_names, templates_table
from emulator.providers import FAULT_ERRORS, Providers
from emulator.web_console.forms import after_post, fault_args, notices, redirect, refuse_foreign
from emulator.web_console.outbox import OutboxFilter, message_view, newest_first
from emulator.web_console.preview import (
    default_channel,
    parse_substitutions,
    placeholders,
    render_preview,
)
from emulator.web_console.traces import trace_page
from notify.domain.channels import CHANNELS

CONSOLE_PATH = "/_console/"
HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
# The header that tells the outbox's script how many messages the outbox held.
OUTBOX_SIZE_HEADER = "X-Outbox-Size"
REDRIVE_TIMEOUT_SECONDS = 120  # as `messaging dlq redrive`
JOBS_SHOWN = 20  # the newest jobs, each read for its counts and errors

URLS = Map(
    [
        Rule("/_console/", endpoint="outbox"),
        Rule("/_console/outbox/new", endpoint="outbox_new"),
        Rule("/_console/traces/", endpoint="trace_lookup"),
        Rule("/_console/traces/<path:trace_id>", endpoint="trace"),
        Rule("/_console/dlq", endpoint="dlq", methods=["GET"]),
        Rule("/_console/dlq/redrive", endpoint="dlq_redrive", methods=["POST"]),
        Rule("/_console/jobs", endpoint="jobs", methods=["GET"]),
        Rule("/_console/faults", endpoint="faults", methods=["GET"]),
        Rule("/_console/faults/add", endpoint="faults_add", methods=["POST"]),
        Rule("/_console/faults/clear", endpoint="faults_clear", methods=["POST"]),
        Rule("/_console/templates", endpoint="templates", methods=["GET"]),
        Rule("/_console/static/<name>", endpoint="static"),
    ]
)


def segment(value: str) -> str:
    """A value as one path segment of a link (a TraceId may hold "/" or "?")."""
    return quote(value, safe="")


def preview_of(target: Target, item: dict[str, Any], args: Any) -> dict[str, Any]:
    """The template `item` rendered for the form's channel and substitutions; at first, for
    its likely channel with each placeholder's own name as its sample value."""
    channel = args.get("channel", "")
    channel = channel if channel in CHANNELS else default_channel(item)
    sample = args.get("substitutions")
    if sample is None:
        sample = "\n".join(f"{name}=[{name}]" for name in placeholders(item))
    preview = render_preview(target, item["TemplateName"], channel, parse_substitutions(sample))
    return {"channel": channel, "sample": sample, "preview": preview}


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["short_time"] = short_time
    environment.filters["segment"] = segment
    environment.filters["errors"] = summarise_errors
    environment.globals["channels"] = list(CHANNELS)
    environment.globals["job_counts"] = COUNTS
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
            "trace_lookup": self.trace_lookup,
            "trace": self.trace,
            "dlq": self.dlq,
            "dlq_redrive": self.dlq_redrive,
            "jobs": self.jobs,
            "faults": self.faults,
            "faults_add": self.faults_add,
            "faults_clear": self.faults_clear,
            "templates": self.templates,
        }

    def __call__(self, request: Request) -> Response:
        refusal = refuse_foreign(request, urlsplit(self._info["ApiUrl"]).port)
        if refusal:
            return Response(refusal, status=403, content_type="text/plain; charset=utf-8")
        adapter = URLS.bind_to_environ(request.environ)
        try:
            endpoint, arguments = adapter.match()
            return self._views[endpoint](request, **arguments)
        except HTTPException as exc:
            return exc.get_response(request.environ)  # a 404, or the redirect to add a "/"
        except (CommandError, ClientError, BotoCoreError, requests.RequestException) as exc:
            # What the CLI would print as its error, on the page.
            return self.page("problem.html", 502, problem=str(exc))

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

    # ------------------------------------------------------------------ trace
    def trace_lookup(self, request: Request) -> Response:
        trace_id = request.args.get("trace", "").strip()
        if not trace_id:
            return redirect("/_console/")
        return redirect(f"/_console/traces/{segment(trace_id)}")

    def trace(self, request: Request, trace_id: str) -> Response:
        try:
            owners = trace_page(self.target(), trace_id)
        except CommandError:
            return self.page("not_found.html", 404, what=f"trace {trace_id}")
        return self.page("trace.html", trace_id=trace_id, owners=owners)

    # ------------------------------------------------------------------ DLQ
    def dlq(self, request: Request) -> Response:
        target = self.target()
        letters = read_all(target.client("sqs"), target.output("DeadLetterQueueUrl"))
        summaries = [summarise(letter) for letter in letters]
        return self.page("dlq.html", letters=summaries, **notices(request))

    def dlq_redrive(self, request: Request) -> Response:
        """One dead letter (`message`), or all of them, back to the main queue, once."""
        target = self.target()
        message_id = request.form.get("message", "")
        if message_id:
            moved = dlq_commands.move_one(target, message_id)
            notice = f"moved dead letter {message_id} to the main queue" if moved else ""
            error = "" if moved else f"no dead letter {message_id}: already moved?"
        else:
            count, how = dlq_commands.move_back(target, REDRIVE_TIMEOUT_SECONDS)
            notice = f"moved {count} message(s) to the main queue ({how})" if how else EMPTY
            error = ""
        return after_post("/_console/dlq", notice, error)

    # ------------------------------------------------------------------ jobs
    def jobs(self, request: Request) -> Response:
        caller = argparse.Namespace(
            sub=request.args.get("sub", "").strip() or None,
            customer_id=request.args.get("customer_id", "").strip() or None,
        )
        api = JobsApi.of(Context(None, self.url, self.target()), caller)
        listed = api.call("GET").get("Jobs", [])[:JOBS_SHOWN]
        jobs = [api.job(job["JobId"]) for job in listed]
        return self.page("jobs.html", jobs=jobs, tenant=api.caller.tenant, caller=caller)

    # ------------------------------------------------------------------ faults
    def faults(self, request: Request) -> Response:
        return self.page(
            "faults.html",
            lines=fault_lines(self.url),
            fault_channels=FAULT_CHANNELS,
            fault_errors=FAULT_ERRORS,
            **notices(request),
        )

    def faults_add(self, request: Request) -> Response:
        try:
            line = add_fault(self.url, fault_args(request.form))
        except (CommandError, ValueError) as exc:
            return after_post("/_console/faults", "", str(exc))
        return after_post("/_console/faults", line)

    def faults_clear(self, request: Request) -> Response:
        clear_faults(self.url)
        return after_post("/_console/faults", "cleared all faults")

    # ------------------------------------------------------------------ templates
    def templates(self, request: Request) -> Response:
        target = self.target()
        table = templates_table(target)
        name = request.args.get("name", "").strip()
        item = None
        if name:
            item = table.get_item(Key={"TemplateName": name}, ConsistentRead=True).get("Item")
        context: dict[str, Any] = {"names": template_names(table), "name": name, "item": item}
        if item is not None:
            context |= preview_of(target, item, request.args)
        return self.page("templates.html", **context)

    def static(self, request: Request, name: str) -> Response:
        try:
            return send_from_directory(STATIC, name, request.environ)
        except NotFound:
            return self.page("not_found.html", 404, what=f"static file {name}")
