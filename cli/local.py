"""`messaging outbox` and `messaging faults`: the local stack's control API (no AWS).

`faults add --quota N` makes a channel's provider a real quota: at most N accepted sends in
any rolling second (for the account, or per sender as the channel's send budget counts),
the rest answered with that provider's throttling error; `faults clear` removes it too.
"""

from __future__ import annotations

import argparse
from typing import Any

import requests

from cli.errors import CommandError
from cli.output import one_line, short_time, table, to_json
from cli.target import Context, no_local_stack
from emulator.providers import FAULT_ERRORS

FAULTS = "fault injection"
# What `faults add` accepts is what the local stack can inject: its own table. A channel's
# error that another channel lacks is refused by the stack, with that channel's list.
FAULT_CHANNELS = list(FAULT_ERRORS)
FAULT_NAMES = list(dict.fromkeys(error for errors in FAULT_ERRORS.values() for error in errors))
FAULTS_BY_CHANNEL = ", ".join(
    f"{channel} ({', '.join(errors)})" for channel, errors in FAULT_ERRORS.items()
)


def call(base: str, method: str, path: str, **kwargs: Any) -> requests.Response:
    try:
        return requests.request(method, f"{base}{path}", timeout=10, **kwargs)
    except requests.RequestException:
        raise no_local_stack(base) from None


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise CommandError(f"the local stack answered HTTP {response.status_code}") from None


def _expect(response: requests.Response, *statuses: int) -> requests.Response:
    if response.status_code not in statuses:
        body = _json(response) if response.content else {}
        reason = (body.get("reason") or body.get("message")) if isinstance(body, dict) else None
        raise CommandError(reason or f"the local stack answered HTTP {response.status_code}")
    return response


def outbox(args: argparse.Namespace, ctx: Context) -> int:
    base = ctx.local_only("the outbox")
    params = {"trace": args.trace} if args.trace else None
    messages = _json(_expect(call(base, "GET", "/_local/outbox", params=params), 200))
    if args.json:
        print(to_json(messages))
    elif not messages:
        print(f"no messages for trace {args.trace}" if args.trace else "the outbox is empty")
    else:
        print("\n".join(render_outbox(messages)))
    return 0


def render_outbox(messages: list[dict[str, Any]]) -> list[str]:
    rows = [
        [
            short_time(m.get("at")),
            m.get("channel") or "?",
            m.get("to") or "?",
            m.get("trace_id") or "-",
            one_line(m.get("subject") or m.get("text") or m.get("body"), 80),
        ]
        for m in messages
    ]
    return table(["TIME", "CHANNEL", "TO", "TRACE", "SUBJECT / BODY"], rows)


def fault_line(fault: dict[str, Any]) -> str:
    line = f"{fault['channel']} {fault.get('address') or '*'} {fault['error']}"
    line += f" rate={fault.get('rate', 1.0):g}"
    if fault.get("times") is not None:
        line += f" times={fault['times']}"
    if fault.get("seconds"):
        line += f" seconds={fault['seconds']:g}"
    return line + f" fired={fault.get('fired', 0)}"


def quota_line(quota: dict[str, Any]) -> str:
    scope = "per sender" if quota.get("per_sender") else "for the account"
    line = f"{quota['channel']} quota={quota['per_second']}/s {scope}"
    return line + f" refused={quota.get('refused', 0)}"


def faults_add(args: argparse.Namespace, ctx: Context) -> int:
    print(add_fault(ctx.local_only(FAULTS), args))
    return 0


def add_fault(base: str, args: argparse.Namespace) -> str:
    """Add the fault (or the quota, `args.quota`) that `faults add`'s options describe; what
    was added, in a line."""
    if args.quota is not None:
        return _quota_add(args, base)
    spec = {
        "channel": args.channel,
        "address": args.address,
        "error": args.error,
        "rate": args.rate,
        "times": args.times,
        "seconds": args.seconds,
    }
    fault = _json(_expect(call(base, "POST", "/_local/faults", json=spec), 201))
    return f"added fault: {fault_line(fault)}"


def _quota_add(args: argparse.Namespace, base: str) -> str:
    """A provider's send quota: the sends over it are throttled as that provider throttles."""
    ignored = [
        option
        for option, given in (
            ("--address", args.address is not None),
            ("--rate", args.rate != 1.0),
            ("--times", args.times is not None),
            ("--seconds", bool(args.seconds)),
        )
        if given
    ]
    if ignored:
        raise CommandError(f"--quota counts every send of its channel; drop {', '.join(ignored)}")
    spec = {"channel": args.channel, "per_second": args.quota}
    quota = _json(_expect(call(base, "POST", "/_local/quotas", json=spec), 201))
    return f"added quota: {quota_line(quota)}"


def faults_list(args: argparse.Namespace, ctx: Context) -> int:
    lines = fault_lines(ctx.local_only(FAULTS))
    print("\n".join(lines) if lines else "no faults")
    return 0


def fault_lines(base: str) -> list[str]:
    """Every fault, then every quota, a line each."""
    faults = _json(_expect(call(base, "GET", "/_local/faults"), 200))
    quotas = _json(_expect(call(base, "GET", "/_local/quotas"), 200))
    return [fault_line(fault) for fault in faults] + [quota_line(quota) for quota in quotas]


def faults_clear(args: argparse.Namespace, ctx: Context) -> int:
    clear_faults(ctx.local_only(FAULTS))
    print("cleared all faults")
    return 0


def clear_faults(base: str) -> None:
    _expect(call(base, "DELETE", "/_local/faults"), 200, 204)
