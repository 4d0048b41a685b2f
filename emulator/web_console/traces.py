"""A trace as the console shows it: per recipient its status timeline, per owner its executions.

The items are what `messaging trace` reads (cli/trace.py); each recipient is the status
API's view of it (notify/domain/status.py: fallbacks named, recipients not tried yet listed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cli.history import summarise_errors
from cli.target import Target
from cli.trace import execution_facts, load_trace
from notify.domain.recipients import channel_key
from notify.domain.status import trace_view

GOOD = "good"
BAD = "bad"
ENDED_BADLY = ("FAILED", "REJECTED", "CANCELLED")


@dataclass(frozen=True)
class Step:
    """One point of a recipient's timeline."""

    label: str
    at: str | None = None
    detail: str = ""
    tone: str = ""  # GOOD, BAD or neutral


def trace_page(target: Target, trace_id: str) -> list[dict[str, Any]]:
    """Each owner (caller) of the TraceId: its view, recipients' timelines and executions.

    CommandError when there is no such trace.
    """
    sfn = target.client("stepfunctions")
    owners = []
    for owner in load_trace(target, trace_id):
        view = trace_view(trace_id, owner.header, owner.recipients) or {}
        executions = [execution_facts(sfn, arn, trace_id) for arn in owner.executions]
        recipients = [
            {**recipient, "Timeline": timeline(recipient, view.get("StartedAt"), executions)}
            for recipient in view.get("Recipients", [])
        ]
        owners.append(
            {"Owner": owner.owner, **view, "Recipients": recipients, "Executions": executions}
        )
    return owners


def send_errors(executions: list[dict[str, Any]], recipient: dict[str, Any]) -> str:
    """The errors the recipient's send attempts met, each once with its count ('' if none):
    those of the Map iterations given this recipient (`CHANNEL#address`)."""
    key = channel_key(recipient) if recipient.get("ChannelType") else None
    errors = [
        error
        for execution in executions
        for state in execution.get("States", [])
        if state.get("Recipient") == key and state["Type"] == "Task"
        for error in state["Errors"]
    ]
    return summarise_errors(errors)


def timeline(
    recipient: dict[str, Any], queued_at: str | None, executions: list[dict[str, Any]]
) -> list[Step]:
    """queued, (fallback), attempts and their errors, the outcome, the delivery status."""
    errors = send_errors(executions, recipient)
    steps = [Step("queued", queued_at)]
    if recipient.get("FallbackFor"):
        steps.append(Step("fallback", None, f"tried instead of {recipient['FallbackFor']}"))
    attempts = recipient.get("Attempts") or 0
    if attempts:
        steps.append(Step("attempt 1", recipient.get("FirstAttemptAt")))
    if attempts > 1:
        steps.append(Step(f"attempt {attempts}", recipient.get("LastAttemptAt")))
    if errors:
        steps.append(Step("errors", None, errors, BAD))
    steps.append(_outcome(recipient))
    if recipient.get("DeliveryStatus"):
        code = recipient.get("DeliveryErrorCode")
        steps.append(
            Step(
                str(recipient["DeliveryStatus"]).upper(),
                recipient.get("DeliveryUpdatedAt"),
                f"provider code {code}" if code else "reported by the provider",
                BAD if code else GOOD,
            )
        )
    return steps


def _outcome(recipient: dict[str, Any]) -> Step:
    status = recipient.get("Status") or "PENDING"
    if status == "SENT":
        return Step("SENT", recipient.get("SentAt"), recipient.get("ProviderMessageId") or "", GOOD)
    if status in ENDED_BADLY:
        reason = ": ".join(
            part for part in (recipient.get("Error"), recipient.get("Reason")) if part
        )
        return Step(status, recipient.get("UpdatedAt"), reason, BAD)
    return Step(status, recipient.get("UpdatedAt"))
