"""`messaging stats`: the dashboard's figures, computed from the local stack's own data.

A deployed stack has them on its CloudWatch dashboard (output DashboardName); locally
there is no CloudWatch, so they come from the traces table (requests, recipients by
channel and status, delivery statuses, send latency), the queues' attributes (depths),
the state machine's executions, and the local API's counters (answers by status code,
callback records done or returned for retry).
"""

from __future__ import annotations

import argparse
import statistics
from collections import Counter
from datetime import datetime
from typing import Any

from cli.errors import CommandError
from cli.local import _json, call
from cli.output import table, to_json
from cli.target import Context, Target
from cli.trace import trace_reader
from notify.integration.traces.keys import is_header

QUEUES = (
    "MessageQueueUrl",
    "DeadLetterQueueUrl",
    "InboundQueueUrl",
    "InboundDeadLetterQueueUrl",
    "CallbacksQueueUrl",
    "CallbacksDeadLetterQueueUrl",
    "StatusEventsDeadLetterQueueUrl",
)
CALLBACK_FUNCTION = "CallbackDispatchFunction"


def run(args: argparse.Namespace, ctx: Context) -> int:
    if ctx.stack:
        raise CommandError(
            "a deployed stack's figures are on its CloudWatch dashboard (output DashboardName)"
        )
    target = ctx.target()
    figures = collect(target, _json(call(ctx.local_url, "GET", "/_local/stats")))
    print(to_json(figures) if args.json else "\n".join(render(figures)))
    return 0


def collect(target: Target, local: dict[str, Any]) -> dict[str, Any]:
    items = trace_reader(target).every_trace()
    headers = [i for i in items if is_header(i["Sk"])]
    recipients = [i for i in items if not is_header(i["Sk"]) and i.get("ChannelType")]
    callbacks = next(
        (v for k, v in local.get("EventSources", {}).items() if k.endswith(CALLBACK_FUNCTION)), {}
    )
    return {
        "ApiResponses": {str(k): v for k, v in sorted(local.get("ApiResponses", {}).items())},
        "Traces": dict(Counter(str(h.get("Status")) for h in headers)),
        "Recipients": _by_channel(recipients, "Status"),
        "DeliveryStatuses": _by_channel(
            [r for r in recipients if r.get("DeliveryStatus")], "DeliveryStatus"
        ),
        "QueueDepths": _depths(target),
        "Executions": _executions(target),
        "Callbacks": {
            "Done": callbacks.get("Done", 0),
            "ReturnedForRetry": callbacks.get("Returned", 0),
        },
        "SendLatencyMs": _latency(recipients),
    }


def render(figures: dict[str, Any]) -> list[str]:
    lines = ["API answers by status code: " + _pairs(figures["ApiResponses"])]
    lines.append("traces by status: " + _pairs(figures["Traces"]))
    for title, key in (("recipients", "Recipients"), ("delivery statuses", "DeliveryStatuses")):
        lines += ["", f"{title} by channel:"]
        lines += table(["CHANNEL", "COUNTS"], [[c, _pairs(n)] for c, n in figures[key].items()])
    lines += ["", "queue depths (visible + in flight):"]
    lines += table(["QUEUE", "MESSAGES"], [[q, str(n)] for q, n in figures["QueueDepths"].items()])
    lines += ["", "executions by status: " + _pairs(figures["Executions"])]
    lines.append("callback records: " + _pairs(figures["Callbacks"]))
    latency = figures["SendLatencyMs"]
    lines.append(
        f"send latency p50 / p99: {latency['p50']} / {latency['p99']} ms ({latency['n']} sends)"
    )
    return lines


def _pairs(counts: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"


def _by_channel(items: list[dict[str, Any]], field: str) -> dict[str, dict[str, int]]:
    counts: dict[str, Counter[str]] = {}
    for item in items:
        counts.setdefault(item["ChannelType"], Counter())[str(item.get(field) or "PENDING")] += 1
    return {channel: dict(count) for channel, count in sorted(counts.items())}


def _depths(target: Target) -> dict[str, int]:
    sqs = target.client("sqs")
    depths = {}
    for output in QUEUES:
        url = target.outputs.get(output)
        if not url:
            continue
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        depths[url.rsplit("/", 1)[1]] = sum(int(v) for v in attributes.values())
    return depths


def _executions(target: Target) -> dict[str, int]:
    pages = target.client("stepfunctions").get_paginator("list_executions")
    arn = target.output("StateMachineArn")
    return dict(
        Counter(
            e["status"] for page in pages.paginate(stateMachineArn=arn) for e in page["executions"]
        )
    )


def _latency(recipients: list[dict[str, Any]]) -> dict[str, Any]:
    """Milliseconds from a recipient's last attempt to SENT: the provider call that succeeded."""
    times = sorted(
        (
            datetime.fromisoformat(r["SentAt"]) - datetime.fromisoformat(r["LastAttemptAt"])
        ).total_seconds()
        * 1000
        for r in recipients
        if r.get("Status") == "SENT" and r.get("SentAt") and r.get("LastAttemptAt")
    )
    if not times:
        return {"p50": None, "p99": None, "n": 0}
    p99 = statistics.quantiles(times, n=100)[98] if len(times) > 1 else times[0]
    return {"p50": round(statistics.median(times)), "p99": round(p99), "n": len(times)}
