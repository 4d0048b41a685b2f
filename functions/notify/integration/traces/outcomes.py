"""Record's writes: each recipient's outcome, and how the run ends or continues later."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from notify.domain.content import storable
from notify.domain.fallback import AWAITING, Continuation
from notify.domain.jobs import JOB
from notify.domain.outcomes import (
    CANCELLED,
    COMPLETED,
    FAILED,
    RUNNING,
    SCHEDULED,
    SENT,
    failure_reason,
)
from notify.domain.pacing import PACED
from notify.domain.steps import Outcome
from notify.integration.traces.claims import end_run
from notify.integration.traces.keys import header_key, recipient_item_key
from notify.integration.traces.table import expires_at, now, update_unless_refused


class OutcomeStore:
    def __init__(self, table: Any, retention_days: int) -> None:
        self._table = table  # a boto3 DynamoDB Table resource, or a DynamoTable
        self._retention_seconds = retention_days * 86400

    def record(
        self,
        trace_id: str,
        owner: str,
        outcomes: Sequence[Outcome],
        execution: str,
        continuation: Continuation | None = None,
    ) -> tuple[str, Continuation | None]:
        """Write the outcomes not SENT; end the trace when none exhausted its retries.

        A SENT or CANCELLED outcome is already on its item: the send function wrote it
        (`complete_send`), or the cancel did; an AWAITING one was SENT too. Returns the
        trace's status and the continuation to schedule, if any: RUNNING while a recipient
        is FAILED, because the execution retries those once more (a `continuation` is kept
        on the header meanwhile, for whoever ends the trace); SCHEDULED when recipients
        wait for their receipts; CANCELLED when a cancel stopped some recipient; else
        COMPLETED. Recipient items are updated, not replaced: the send functions' attempt
        counts and the providers' delivery statuses live on the same items.
        """
        moment = datetime.now(UTC).isoformat()
        expires = expires_at(self._retention_seconds)
        # AWAITING was SENT; PACED waits, unsent, for its continuation.
        for outcome in (o for o in outcomes if o.status not in (SENT, CANCELLED, AWAITING, PACED)):
            self._write_outcome(trace_id, owner, outcome, execution, moment, expires)
        if any(o.status == FAILED and not o.fell_back for o in outcomes):
            if continuation is not None:
                self._keep_continuation(trace_id, owner, execution, continuation)
            return RUNNING, None
        if any(o.status == CANCELLED for o in outcomes):
            end_run(self._table, trace_id, owner, CANCELLED, execution)
            return CANCELLED, None
        if continuation is None:
            continuation = self._complete_unless_continued(trace_id, owner, execution)
            if continuation is None:
                return COMPLETED, None
        if self._continue_later(trace_id, owner, execution, continuation):
            return SCHEDULED, continuation
        return COMPLETED, None  # this run had already ended (a retried Record)

    def _keep_continuation(
        self, trace_id: str, owner: str, execution: str, continuation: Continuation
    ) -> None:
        """Keep a continuation on a trace that is still running its retries."""
        update_unless_refused(
            self._table,
            Key=header_key(trace_id, owner),
            UpdateExpression="SET Continuation = :body, ContinueAt = :due",
            ConditionExpression="ExecutionArn = :execution AND #status = :running",
            ExpressionAttributeNames={"#status": "Status"},
            ExpressionAttributeValues={
                ":body": continuation.body,
                ":due": continuation.due,
                ":execution": execution,
                ":running": RUNNING,
            },
        )

    def _complete_unless_continued(
        self, trace_id: str, owner: str, execution: str
    ) -> Continuation | None:
        """COMPLETED, unless the run keeps a continuation: then that continuation."""
        refused = end_run(
            self._table, trace_id, owner, COMPLETED, execution, "attribute_not_exists(Continuation)"
        )
        if refused and refused.get("Continuation") and refused.get("ExecutionArn") == execution:
            return Continuation(refused["Continuation"], refused["ContinueAt"])
        return None

    def _continue_later(
        self, trace_id: str, owner: str, execution: str, continuation: Continuation
    ) -> bool:
        """End this run SCHEDULED: the continuation is the request its schedule sends."""
        refused = update_unless_refused(
            self._table,
            Key=header_key(trace_id, owner),
            UpdateExpression="SET #status = :scheduled, SendAt = :due, ScheduledRequest = :body, "
            "UpdatedAt = :now REMOVE Running, Continuation, ContinueAt",
            ConditionExpression="ExecutionArn = :execution AND #status IN (:running, :failed)",
            ExpressionAttributeNames={"#status": "Status"},
            ExpressionAttributeValues={
                ":scheduled": SCHEDULED,
                ":due": continuation.due,
                ":body": continuation.body,
                ":now": now(),
                ":execution": execution,
                ":running": RUNNING,
                ":failed": FAILED,
            },
        )
        return refused is None

    def _write_outcome(
        self,
        trace_id: str,
        owner: str,
        outcome: Outcome,
        execution: str,
        moment: str,
        expires: int,
    ) -> None:
        """One outcome on its item, if it moves the recipient forward.

        A status only moves forward: FAILED or REJECTED lands on an item with no status yet
        or FAILED (a later try's verdict), never on SENT (a send that finished after the
        outcome was decided), REJECTED or CANCELLED.
        """
        recipient = outcome.recipient
        update = _outcome_update(owner, outcome, execution, moment, expires)
        update["ExpressionAttributeValues"][":failed"] = FAILED
        update_unless_refused(  # refused: the recipient has moved on already
            self._table,
            Key=recipient_item_key(trace_id, owner, recipient["ChannelType"], recipient["Address"]),
            ConditionExpression="attribute_not_exists(#status) OR #status = :failed",
            **update,
        )


def _outcome_update(
    owner: str, outcome: Outcome, execution: str, moment: str, expires: int
) -> dict[str, Any]:
    """A REJECTED or FAILED outcome, with its error and reason, on the recipient's item."""
    recipient = outcome.recipient
    fields = {
        "#owner": ":owner",
        "Address": ":address",
        "ChannelType": ":channel",
        "#status": ":status",
        "#error": ":error",
        "Reason": ":reason",
        "ExecutionArn": ":execution",
        "UpdatedAt": ":now",
        "ExpiresAt": ":expires",
    }
    values = {
        ":owner": owner,
        ":address": recipient["Address"],
        ":channel": recipient["ChannelType"],
        ":status": outcome.status,
        ":error": storable(outcome.error or ""),
        ":reason": storable(failure_reason(outcome)),
        ":execution": execution,
        ":now": moment,
        ":expires": expires,
    }
    names = {"#owner": "Owner", "#status": "Status", "#error": "Error"}
    if recipient.get(JOB):  # a job's row: its job counts it (the ByJob index)
        fields["#job"], values[":job"], names["#job"] = ":job", recipient[JOB], JOB
    return {
        "UpdateExpression": "SET " + ", ".join(f"{k} = {v}" for k, v in fields.items()),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
