"""`messaging`: operate a messaging stack, local or deployed.

By default commands talk to the local stack (`make run`) through its control API at
MESSAGING_LOCAL_URL (default http://127.0.0.1:3000); `--stack NAME` targets a deployed
CloudFormation stack with the usual AWS configuration.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import NoReturn

import requests
from botocore.exceptions import BotoCoreError, ClientError

from cli import (
    api,
    callbacks,
    dlq,
    inbound,
    jobs,
    local,
    rates,
    redrive,
    senders,
    stats,
    templates,
    trace,
    triggers,
)
from cli.aws import describe_client_error
from cli.errors import CommandError
from cli.output import one_line
from cli.target import Context, local_url
from notify.domain.channels import CHANNELS
from notify.domain.senders import SENDER_LISTS

__all__ = ["CommandError", "main", "parser"]

Command = Callable[[argparse.Namespace, Context], int]


class Parser(argparse.ArgumentParser):
    """argparse with usage errors on one line, like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"messaging: {message} (see `{self.prog} --help`)\n")


def _command(
    commands: argparse._SubParsersAction, name: str, run: Command, help_: str
) -> argparse.ArgumentParser:
    command = commands.add_parser(name, help=help_, description=help_)
    command.set_defaults(run=run)
    return command


def _group(
    commands: argparse._SubParsersAction, name: str, help_: str
) -> argparse._SubParsersAction:
    group = commands.add_parser(name, help=help_, description=help_)
    return group.add_subparsers(dest=f"{name}_command", required=True, metavar="COMMAND")


def _add_token(commands: argparse._SubParsersAction) -> None:
    token = _command(commands, "token", api.token, "mint a JWT for the stack's API")
    token.add_argument("user_id", help="the token's sub claim")
    token.add_argument("email", nargs="?", help="optional email claim")
    token.add_argument("customer_id", nargs="?", help="optional customer_id claim (the tenant)")
    # Also accepted after the subcommand, as before; SUPPRESS keeps the global value.
    token.add_argument("--stack", default=argparse.SUPPRESS, help="a deployed stack's name")
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default 3600)")
    token.add_argument(
        "--test",
        action="store_true",
        help='a test key (claim "key_type": "test"): its requests reach no provider',
    )


def _add_send(commands: argparse._SubParsersAction) -> None:
    send = _command(commands, "send", api.send, "POST a JSON request to the stack's API")
    send.add_argument("file", metavar="FILE|-", help="the request's JSON, or - for stdin")
    _add_identity(send)
    send.add_argument("--json", action="store_true", help="one JSON document")


def _add_cancel(commands: argparse._SubParsersAction) -> None:
    cancel = _command(
        commands, "cancel", api.cancel, "cancel a trace's recipients not sent yet (DELETE)"
    )
    cancel.add_argument("trace_id", metavar="TRACE_ID")
    _add_identity(cancel)


def _add_identity(command: argparse.ArgumentParser) -> None:
    """--sub and --customer-id: the claims of the token a command calls the API with."""
    command.add_argument("--sub", help="the token's sub claim")
    command.add_argument("--customer-id", help="the token's customer_id claim (the tenant)")
    command.epilog = api.IDENTITY_HELP


def _add_templates(commands: argparse._SubParsersAction) -> None:
    group = _group(commands, "templates", "manage message templates")
    tenant_help = "a tenant's own templates (customer:<customer_id> or user:<sub>); else shared"
    put = _command(
        group, "put", templates.put, "store a template (shared: replaced; a tenant's: a version)"
    )
    put.add_argument("name")
    body = put.add_mutually_exclusive_group()
    body.add_argument("--body", help="MessageBody text (SMS, and email without HTML/text)")
    body.add_argument("--file", metavar="F", help="MessageBody from a file (- for stdin)")
    put.add_argument("--subject", help="email Subject")
    put.add_argument("--html", metavar="F", help="HtmlBody from a file")
    put.add_argument("--text", metavar="F", help="TextBody from a file")
    locale_help = "a locale variant of the tenant's template (fr, fr-CA); default: the default"
    put.add_argument("--locale", type=templates.locale_tag, help=locale_help)
    get = _command(group, "get", templates.get, "print a template as JSON")
    get.add_argument("name")
    get.add_argument("--version", type=int, help="a version of the tenant's template")
    listing = _command(group, "list", templates.list_names, "list template names")
    versions = _command(group, "versions", templates.versions, "a tenant's template's versions")
    versions.add_argument("name")
    versions.add_argument("--tenant", required=True, help=tenant_help)
    preview = _command(
        group, "preview", templates.preview_template, "render a template as a send would"
    )
    preview.add_argument("name")
    preview.add_argument("--version", type=int, help="a version of the tenant's template")
    preview.add_argument("--channel", choices=sorted(CHANNELS), help="default: by its parts")
    preview.add_argument("--sub", action="append", metavar="K=V", help="a substitution")
    preview.add_argument(
        "--locale", type=templates.locale_tag, help="a recipient's: the variant a send chooses"
    )
    delete = _command(
        group, "delete", templates.delete, "delete a template (a tenant's is archived)"
    )
    delete.add_argument("name")
    for command in (put, get, listing, preview, delete):
        command.add_argument("--tenant", help=tenant_help)


def _add_senders(commands: argparse._SubParsersAction) -> None:
    group = _group(
        commands, "senders", "manage each tenant's allowed senders, and each sender's send rate"
    )
    tenant_help = "customer:<customer_id> or user:<sub> (the JWT's claims)"
    for name, run, help_ in (
        ("allow", senders.allow, "add senders to a tenant's list (creating the list)"),
        ("revoke", senders.revoke, "remove senders from a tenant's list (the list stays)"),
    ):
        command = _command(group, name, run, help_)
        command.add_argument("--tenant", required=True, help=tenant_help)
        for sender_list in SENDER_LISTS.values():
            command.add_argument(
                f"--{sender_list.option}", action="append", metavar="S", help=sender_list.help
            )
    clear = _command(
        group, "clear", senders.clear, "delete a tenant's list (UnlistedTenantSenders applies)"
    )
    clear.add_argument("--tenant", required=True, help=tenant_help)
    listing = _command(group, "list", senders.list_senders, "show the sender lists")
    listing.add_argument("--tenant", help=f"only this tenant: {tenant_help}")
    listing.add_argument("--json", action="store_true", help="a JSON list")
    rate = _command(
        group, "rate", rates.set_rate, "set one sender's send budget (messages per second)"
    )
    rate.add_argument(
        "budget", nargs="?", metavar="SENDER", help=f"the budget, e.g. {rates.EXAMPLES}"
    )
    rate.add_argument("rate", nargs="?", metavar="N", help="messages per second, e.g. 20 or 0.5")
    rate.add_argument(
        "--default", action="store_true", help="remove the operator's rate: the channel's default"
    )
    rate.add_argument(
        "--channel", choices=list(CHANNELS), help="instead of SENDER: the channel, with --sender"
    )
    rate.add_argument(
        "--sender", metavar="S", help="with --channel: its sender (FromNumber, pool, ...)"
    )


def _add_triggers(commands: argparse._SubParsersAction) -> None:
    group = _group(commands, "triggers", "manage each API key's named triggers (POST /trigger)")
    tenant_help = "key:<api key id> (default: the stack's own key, output ApiKeyId)"
    put = _command(group, "put", triggers.put, "store a trigger (replacing one of that name)")
    put.add_argument("name")
    put.add_argument("--file", required=True, metavar="F", help="its definition, JSON (- stdin)")
    get = _command(group, "get", triggers.get, "print a trigger's definition as JSON")
    get.add_argument("name")
    delete = _command(group, "delete", triggers.delete, "delete a trigger")
    delete.add_argument("name")
    for command in (put, get, delete):
        command.add_argument("--tenant", help=tenant_help)
    listing = _command(group, "list", triggers.list_triggers, "list triggers (every key's)")
    listing.add_argument("--tenant", help="only this tenant's: key:<api key id>")
    listing.add_argument("--json", action="store_true", help="a JSON list")


def _add_callbacks(commands: argparse._SubParsersAction) -> None:
    group = _group(commands, "callbacks", "the token's tenant's signed status callback")
    put = _command(group, "set", callbacks.set_callback, "register (or replace) the callback")
    put.add_argument(
        "url", metavar="URL", help="https:// to a public address (locally also loopback)"
    )
    put.add_argument("--secret", help="the signing secret, >= 32 characters (default: a new one)")
    get = _command(group, "get", callbacks.get_callback, "show the callback's URL")
    get.add_argument("--json", action="store_true", help="one JSON document")
    delete = _command(group, "delete", callbacks.delete_callback, "remove the callback")
    for command in (put, get, delete):
        _add_identity(command)


def _add_jobs(commands: argparse._SubParsersAction) -> None:
    group = _group(commands, "jobs", "bulk jobs: one template sent to every row of a CSV file")
    send = _command(group, "send", jobs.send, "start a job, then show its progress to its end")
    send.add_argument(
        "file",
        metavar="FILE.csv",
        help=f"the rows to send (over {jobs.INLINE_LIMIT // 2**20} MB: uploaded)",
    )
    send.add_argument("--channel", required=True, choices=list(CHANNELS))
    send.add_argument("--template", required=True, metavar="NAME", help="the template to send")
    send.add_argument("--from", dest="sender", metavar="SENDER", help=jobs.SENDER_HELP)
    send.add_argument("--name", help="the job's name (default: the file's name)")
    send.add_argument("--send-at", metavar="T", help="when to start, ISO 8601 (default: now)")
    send.add_argument("--priority", choices=jobs.PRIORITIES, help="default: bulk")
    send.add_argument("--no-wait", action="store_true", help="print the JobId and return")
    send.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        help="stop waiting after S seconds (default: when the job ends)",
    )
    send.add_argument("--json", action="store_true", help="one JSON document")
    listing = _command(group, "list", jobs.list_jobs, "the tenant's jobs, newest first")
    listing.add_argument("--json", action="store_true", help="a JSON list")
    _add_identity(send)
    _add_identity(listing)
    for name, run, help_ in (
        ("status", jobs.status, "a job's status and counts"),
        ("errors", jobs.errors, "a job's row errors: row, address, reason"),
        ("cancel", jobs.cancel, "stop a job: its rows not sent yet are not sent"),
        ("retry", jobs.retry, "send a job's FAILED rows once more"),
    ):
        command = _command(group, name, run, help_)
        command.add_argument("job_id", metavar="JOB_ID")
        if name in ("status", "errors"):
            command.add_argument("--json", action="store_true", help="one JSON document")
        _add_identity(command)


def _add_stats(commands: argparse._SubParsersAction) -> None:
    command = _command(
        commands, "stats", stats.run, "the dashboard's figures, from the local stack"
    )
    command.add_argument("--json", action="store_true", help="one JSON document")


def _add_rates(commands: argparse._SubParsersAction) -> None:
    command = _command(
        commands,
        "rates",
        rates.run,
        "each send budget: its rate, the sends booked ahead of it, its bulk line",
    )
    command.add_argument("--json", action="store_true", help="a JSON list")


def _add_trace(commands: argparse._SubParsersAction) -> None:
    command = _command(commands, "trace", trace.run, "show a TraceId's outcomes and executions")
    command.add_argument("trace_id", metavar="TRACE_ID")
    command.add_argument("--json", action="store_true", help="one JSON document")


def _add_redrive(commands: argparse._SubParsersAction) -> None:
    command = _command(
        commands, "redrive", redrive.run, "run a trace's latest FAILED execution again"
    )
    command.add_argument("trace_id", metavar="TRACE_ID")
    command.add_argument("--timeout", type=float, default=120, help="seconds to wait (120)")
    command.add_argument("--no-wait", action="store_true", help="do not wait for the end")


def _add_dlq(commands: argparse._SubParsersAction) -> None:
    group = _group(commands, "dlq", "the dead-letter queue")
    listing = _command(group, "list", dlq.list_messages, "peek at the dead letters")
    listing.add_argument("--json", action="store_true", help="a JSON list")
    move = _command(group, "redrive", dlq.redrive, "move every dead letter to the main queue")
    move.add_argument("--timeout", type=float, default=120, help="seconds to wait (120)")
    move.add_argument(
        "--message", metavar="ID", help="only this dead letter (its MessageId in `dlq list`)"
    )


def _add_inbound(commands: argparse._SubParsersAction) -> None:
    command = _command(
        commands,
        "inbound",
        inbound.run,
        "deliver a message to the webhook as Twilio would, then say what the stack did",
    )
    command.add_argument("sender", metavar="FROM", help="whatsapp:+E164 or +E164")
    command.add_argument("body", metavar="BODY", help="the text, e.g. STOP, START, HELP")
    command.add_argument(
        "--to", help=f"the number written to (default Twilio's sandbox, {inbound.SANDBOX_NUMBER})"
    )
    command.add_argument(
        "--timeout",
        type=float,
        default=inbound.DEFAULT_TIMEOUT,
        help=f"seconds to wait for what the stack did with it ({inbound.DEFAULT_TIMEOUT:g})",
    )
    command.add_argument(
        "--no-wait", action="store_true", help="say what the stack does, without reading it back"
    )


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _rate(value: str) -> float:
    rate = float(value)
    if not 0 < rate <= 1:
        raise argparse.ArgumentTypeError("a rate is a fraction in (0, 1]")
    return rate


def _add_local(commands: argparse._SubParsersAction) -> None:
    outbox = _command(commands, "outbox", local.outbox, "messages the local stack sent")
    outbox.add_argument("--json", action="store_true", help="a JSON list")
    outbox.add_argument("--trace", metavar="ID", help="only this TraceId's messages")
    group = _group(commands, "faults", "inject provider failures into the local stack")
    add = _command(group, "add", local.faults_add, "make sends fail, or give a provider a quota")
    add.add_argument("--channel", required=True, choices=local.FAULT_CHANNELS)
    add.add_argument("--address", help="only sends to this address (default: all)")
    kind = add.add_mutually_exclusive_group(required=True)
    kind.add_argument(
        "--quota",
        type=_positive_int,
        metavar="N",
        help="the provider accepts at most N sends in any rolling second (EMAIL: the account; "
        "the others: per sender) and throttles the rest with its own error",
    )
    kind.add_argument(
        "--error",
        choices=local.FAULT_NAMES,
        help=f"by channel: {local.FAULTS_BY_CHANNEL}. slow: the send waits --seconds, then "
        "succeeds; outside-window (WHATSAPP): Twilio's 63016, free-form text outside the "
        "24-hour session window; lost-response (DYNAMODB): an UpdateItem whose key holds "
        "--address lands, then answers 500; 5xx (SCHEDULER): CreateSchedule refused",
    )
    add.add_argument("--rate", type=_rate, default=1.0, help="fraction of sends (default 1)")
    add.add_argument("--times", type=_positive_int, help="fire this many times, then stop")
    add.add_argument("--seconds", type=float, default=0, help="how long a slow send takes")
    _command(group, "list", local.faults_list, "list the faults")
    _command(group, "clear", local.faults_clear, "remove every fault")


def parser() -> argparse.ArgumentParser:
    root = Parser(prog="messaging", description=__doc__)
    root.formatter_class = argparse.RawDescriptionHelpFormatter
    root.add_argument("--stack", metavar="NAME", help="a deployed stack (default: the local one)")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (
        _add_token,
        _add_send,
        _add_cancel,
        _add_templates,
        _add_senders,
        _add_triggers,
        _add_callbacks,
        _add_jobs,
        _add_stats,
        _add_rates,
        _add_trace,
        _add_redrive,
        _add_dlq,
        _add_inbound,
    ):
        add(commands)
    _add_local(commands)
    return root


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return args.run(args, Context(args.stack, local_url()))
    except CommandError as exc:
        return _fail(str(exc))
    except ClientError as exc:
        return _fail(describe_client_error(exc))
    except BotoCoreError as exc:
        return _fail(f"AWS: {exc}")
    except requests.RequestException as exc:
        return _fail(f"HTTP: {type(exc).__name__}: {exc}")
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except BrokenPipeError:
        # The reader (`| head`) has had enough; say nothing more to a closed pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # a bug or an answer we did not expect: still one line
        if os.environ.get("MESSAGING_DEBUG"):
            raise
        return _fail(f"unexpected {type(exc).__name__}: {exc} (MESSAGING_DEBUG=1 shows more)")


def _fail(message: str, code: int = 1) -> int:
    print(f"messaging: {one_line(message, 500)}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
