"""`messaging trace TRACE_ID`: the trace's items, then each execution's states."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from cli.aws import describe_client_error
from cli.errors import CommandError
from cli.history import execution_outcome, for_trace, render_states, state_runs
from cli.output import one_line, short_time, table, to_json
from cli.target import Context, Target
from notify.integration.traces.keys import is_header, owner_of
from notify.integration.traces.reads import TraceReader


@dataclass
class OwnerTrace:
    """One caller's (owner's) header item and its recipients."""

    header: dict[str, Any]
    recipients: list[dict[str, Any]] = field(default_factory=list)

    @property
    def owner(self) -> str:
        return self.header.get("Owner") or self.header["Sk"]

    @property
    def executions(self) -> list[str]:
        arns = self.header.get("Executions") or [self.header.get("ExecutionArn")]
        return [arn for arn in arns if arn]


def trace_reader(target: Target) -> TraceReader:
    return TraceReader(target.resource("dynamodb").Table(target.output("TracesTableName")))


def group_by_owner(items: list[dict[str, Any]]) -> list[OwnerTrace]:
    """Header items with the recipient items of the same owner."""
    owners = {item["Sk"]: OwnerTrace(item) for item in items if is_header(item["Sk"])}
    for item in items:
        if not is_header(item["Sk"]):
            owner = item.get("Owner") or owner_of(item["Sk"])
            owners.setdefault(owner, OwnerTrace({"Sk": owner})).recipients.append(item)
    return list(owners.values())


def load_trace(target: Target, trace_id: str) -> list[OwnerTrace]:
    owners = group_by_owner(trace_reader(target).every_owner(trace_id))
    if not owners:
        raise CommandError(f"no trace {trace_id}")
    return owners


def execution_history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
        events += page["events"]
    return events


def execution_facts(sfn: Any, arn: str, trace_id: str) -> dict[str, Any]:
    try:
        events = execution_history(sfn, arn)
    except ClientError as exc:  # e.g. expired: Step Functions keeps history for 90 days
        return {"ExecutionArn": arn, "Status": "UNKNOWN", "Unavailable": describe_client_error(exc)}
    status, error, cause = execution_outcome(events)
    return {
        "ExecutionArn": arn,
        "Status": status,
        "Error": error,
        "Cause": cause,
        "States": [run.to_dict() for run in for_trace(state_runs(events), trace_id)],
    }


def trace_document(target: Target, trace_id: str) -> dict[str, Any]:
    sfn = target.client("stepfunctions")
    return {
        "TraceId": trace_id,
        "Owners": [
            {
                "Owner": owner.owner,
                "Status": owner.header.get("Status"),
                "StartedAt": owner.header.get("StartedAt"),
                "UpdatedAt": owner.header.get("UpdatedAt"),
                "Recipients": [_recipient(item) for item in owner.recipients],
                "Executions": [execution_facts(sfn, arn, trace_id) for arn in owner.executions],
            }
            for owner in load_trace(target, trace_id)
        ],
    }


RECIPIENT_KEYS = (
    "ChannelType",
    "Address",
    "Status",
    "Attempts",
    "ProviderMessageId",
    "SentAt",
    "Error",
    "Reason",
    "DeliveryStatus",
    "DeliveryErrorCode",
    "DeliveryUpdatedAt",
    "FirstAttemptAt",
    "LastAttemptAt",
    "UpdatedAt",
    "ExecutionArn",
)


def _recipient(item: dict[str, Any]) -> dict[str, Any]:
    return {key: item[key] for key in RECIPIENT_KEYS if key in item}


def run(args: argparse.Namespace, ctx: Context) -> int:
    document = trace_document(ctx.target(), args.trace_id)
    if args.json:
        print(to_json(document))
    else:
        print("\n".join(render_trace(document)))
    return 0


def render_trace(document: dict[str, Any]) -> list[str]:
    lines = [f"trace {document['TraceId']}"]
    for owner in document["Owners"]:
        lines += [
            "",
            f"owner {owner['Owner']}: {owner['Status'] or '-'} "
            f"(started {short_time(owner['StartedAt'])}, updated {short_time(owner['UpdatedAt'])})",
        ]
        lines += render_recipients(owner["Recipients"])
        for execution in owner["Executions"]:
            lines += ["", *render_execution(execution)]
    return lines


def render_recipients(recipients: list[dict[str, Any]]) -> list[str]:
    if not recipients:
        return ["  no recipient outcomes yet"]
    rows = [
        [
            r.get("ChannelType", "?"),
            r.get("Address", "?"),
            # Attempts are counted before the outcome is recorded: still being sent.
            r.get("Status", "PENDING"),
            str(r["Attempts"]) if "Attempts" in r else "-",
            _delivery(r),
            _detail(r),
        ]
        for r in recipients
    ]
    headers = ["CHANNEL", "ADDRESS", "STATUS", "ATTEMPTS", "DELIVERY", "PROVIDER ID / REASON"]
    return table(headers, rows, "  ")


def _delivery(recipient: dict[str, Any]) -> str:
    """The provider's latest delivery status (from its callbacks and events), with its code."""
    status, code = recipient.get("DeliveryStatus"), recipient.get("DeliveryErrorCode")
    if not status:
        return "-"
    return f"{status} ({code})" if code else status


def _detail(recipient: dict[str, Any]) -> str:
    if recipient.get("Status") in ("SENT", None):
        return recipient.get("ProviderMessageId", "")
    error, reason = recipient.get("Error"), one_line(recipient.get("Reason"), 100)
    return f"{error}: {reason}" if error and reason else error or reason


def render_execution(execution: dict[str, Any]) -> list[str]:
    outcome = execution["Status"] + (f" ({execution['Error']})" if execution.get("Error") else "")
    lines = [f"  execution {execution['ExecutionArn']}", f"  {outcome}"]
    if "Unavailable" in execution:
        return [*lines, f"  history unavailable: {execution['Unavailable']}"]
    return lines + render_states(execution["States"], "    ")
