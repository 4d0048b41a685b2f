"""A trace's header item: which execution runs it, its schedule, and how its run ends."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from notify.domain.outcomes import CANCELLED, COMPLETED, FAILED, RUNNING, SCHEDULED
from notify.domain.schedule import due_by
from notify.domain.test_keys import TEST_MARK
from notify.integration.aws_errors import aws_errors
from notify.integration.traces.keys import RUNNING_INDEX, header_key, unreadable_key
from notify.integration.traces.table import expires_at, update_unless_refused


class Claim(StrEnum):
    """What claiming a TraceId for an execution found."""

    CLAIMED = "CLAIMED"  # this execution runs it (new, redriven, stale, or already ours)
    HELD = "HELD"  # another execution is running it
    DONE = "DONE"  # another execution completed it


class ClaimStore:
    def __init__(self, table: Any, retention_days: int) -> None:
        self._table = table  # a boto3 DynamoDB Table resource, or a DynamoTable
        self._retention_seconds = retention_days * 86400

    def claim(
        self,
        trace_id: str,
        owner: str,
        execution: str,
        stale_before: str,
        recipients: list[Any] | None = None,
        run: str | None = None,
        test: bool = False,
    ) -> Claim:
        """Claim the owner's TraceId for `execution`: CLAIMED, or HELD / DONE elsewhere.

        A TraceId is free when new, when its last run FAILED (a redrive), when it was
        SCHEDULED and its SendAt has come, or when its claim is older than the state
        machine's timeout (`stale_before`): that execution has ended, and if its end was
        never reconciled nothing else will run it. `recipients` (`CHANNEL#address`) are
        kept on the header, so a cancel finds those not begun yet. A claim
        whose write landed but whose answer was lost is retried; the condition then
        fails on our own claim, which the old item shows, so the claim is idempotent
        for its execution. A job's `run` (its execution's name) is kept on the claim: every
        job run but one has ended, so a claim another run of the job made is stale too (a
        retry takes over the rows of a batch that failed); a claim outside a job drops it.
        `test`: a test key's request, marked `Test` on the header (domain/test_keys.py).
        """
        moment = datetime.now(UTC)
        now = moment.isoformat()
        listed = ", Recipients = :recipients" if recipients else ""
        listed += ", JobRun = :run" if run else ""
        listed += f", {TEST_MARK} = :test" if test else ""
        dropped = "" if run else " REMOVE JobRun"
        other_run = " OR (#status = :running AND attribute_exists(JobRun) AND JobRun <> :run)"
        other_run = other_run if run else ""
        refused = update_unless_refused(
            self._table,
            Key=header_key(trace_id, owner),
            UpdateExpression="SET #status = :running, Running = :running, ClaimedAt = :now, "
            "#owner = :owner, ExecutionArn = :execution, "
            "Executions = list_append(if_not_exists(Executions, :none), :executions), "
            "StartedAt = if_not_exists(StartedAt, :now), UpdatedAt = :now, "
            "ExpiresAt = :expires" + listed + dropped,
            ConditionExpression="attribute_not_exists(#status) OR #status = :failed "
            "OR (#status = :running AND ClaimedAt < :stale) "
            "OR (#status = :scheduled AND SendAt <= :due)" + other_run,
            ExpressionAttributeNames={"#status": "Status", "#owner": "Owner"},
            ExpressionAttributeValues={
                ":running": RUNNING,
                ":failed": FAILED,
                ":scheduled": SCHEDULED,
                ":due": due_by(moment),
                ":now": now,
                ":owner": owner,
                ":execution": execution,
                ":executions": [execution],
                ":none": [],
                ":stale": stale_before,
                ":expires": expires_at(self._retention_seconds),
            }
            | ({":recipients": recipients} if recipients else {})
            | ({":run": run} if run else {})
            | ({":test": True} if test else {}),
        )
        if refused is not None:
            if refused.get("Status") != RUNNING:
                return Claim.DONE
            return Claim.CLAIMED if refused.get("ExecutionArn") == execution else Claim.HELD
        return Claim.CLAIMED

    def finish(self, trace_id: str, owner: str, status: str, execution: str) -> bool:
        """End the trace's run by `execution` with `status`; False when it is not that run.

        Conditional on the claim, so a late event about an old execution never ends a
        newer run of the same TraceId, and a trace is reconciled (FAILED) at most once.
        A reconciled execution redriven from the console may still complete its trace.
        """
        return end_run(self._table, trace_id, owner, status, execution) is None

    def claim_dead_letter(self, message_id: str, execution: str) -> bool:
        """Claim the marker that the queued record `message_id` is dead-lettered as it arrived.

        True for the execution that is to send the letter (again, when it is retried);
        False when another execution has it, or the letter was sent.
        """
        return self.claim(*unreadable_key(message_id), execution, "") is Claim.CLAIMED

    def end_dead_letter(self, message_id: str, execution: str) -> None:
        """The letter of the queued record `message_id` is sent: its marker is COMPLETED."""
        self.finish(*unreadable_key(message_id), COMPLETED, execution)

    def running_before(self, stale_before: str) -> list[dict[str, Any]]:
        """Header items (TraceId, Sk, ExecutionArn) still RUNNING, claimed before `stale_before`."""
        query: dict[str, Any] = {
            "IndexName": RUNNING_INDEX,
            "KeyConditionExpression": "Running = :running AND ClaimedAt < :stale",
            "ExpressionAttributeValues": {":running": RUNNING, ":stale": stale_before},
        }
        found: list[dict[str, Any]] = []
        with aws_errors():
            while True:
                page = self._table.query(**query)
                found += page["Items"]
                if "LastEvaluatedKey" not in page:
                    return found
                query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # ------------------------------------------------------------------ scheduled sends
    def schedule(
        self, trace_id: str, owner: str, send_at: str, body: str, recipients: list[Any]
    ) -> Claim:
        """Keep a request on its header, SCHEDULED for `send_at`: CLAIMED, or DONE/HELD.

        Idempotent for the same SendAt (a retried Plan, a repeated queue message); a
        TraceId already running, sent or scheduled for another time is not rescheduled.
        The item outlives its SendAt by the retention period.
        """
        now = datetime.now(UTC).isoformat()
        expires = int(datetime.fromisoformat(send_at).timestamp()) + self._retention_seconds
        refused = update_unless_refused(
            self._table,
            Key=header_key(trace_id, owner),
            UpdateExpression="SET #status = :scheduled, SendAt = :at, ScheduledRequest = "
            ":body, Recipients = :recipients, #owner = :owner, "
            "StartedAt = if_not_exists(StartedAt, :now), UpdatedAt = :now, "
            "ExpiresAt = :expires",
            ConditionExpression="attribute_not_exists(#status) OR #status = :failed "
            "OR (#status = :scheduled AND SendAt = :at)",
            ExpressionAttributeNames={"#status": "Status", "#owner": "Owner"},
            ExpressionAttributeValues={
                ":scheduled": SCHEDULED,
                ":failed": FAILED,
                ":at": send_at,
                ":body": body,
                ":recipients": recipients,
                ":owner": owner,
                ":now": now,
                ":expires": expires,
            },
        )
        if refused is not None:
            return Claim.HELD if refused.get("Status") == RUNNING else Claim.DONE
        return Claim.CLAIMED

    def scheduled_request(self, trace_id: str, owner: str) -> str | None:
        """The queued body a schedule's pointer names; None when there is none."""
        with aws_errors():
            item = self._table.get_item(
                Key=header_key(trace_id, owner),
                ProjectionExpression="ScheduledRequest",
                ConsistentRead=True,
            ).get("Item", {})
        return item.get("ScheduledRequest")

    def cancel_scheduled(self, trace_id: str, owner: str) -> bool:
        """SCHEDULED -> CANCELLED; False when it is no longer scheduled (it has started)."""
        return self._end_as(trace_id, owner, SCHEDULED, CANCELLED)

    def end_cancelled(self, trace_id: str, owner: str, status: str) -> bool:
        """A trace that ended `status` (FAILED: dead-lettered) and was cancelled since."""
        return self._end_as(trace_id, owner, status, CANCELLED)

    def _end_as(self, trace_id: str, owner: str, old: str, new: str) -> bool:
        refused = update_unless_refused(
            self._table,
            Key=header_key(trace_id, owner),
            UpdateExpression="SET #status = :new, UpdatedAt = :now REMOVE Running",
            ConditionExpression="#status = :old",
            ExpressionAttributeNames={"#status": "Status"},
            ExpressionAttributeValues={
                ":new": new,
                ":old": old,
                ":now": datetime.now(UTC).isoformat(),
            },
        )
        return refused is None


def end_run(
    table: Any, trace_id: str, owner: str, status: str, execution: str, guard: str = ""
) -> dict[str, Any] | None:
    """`ClaimStore.finish` under one more condition (`guard`): None when ended, else the item."""
    ended_from = [RUNNING] if status == FAILED else [RUNNING, FAILED]
    return update_unless_refused(
        table,
        Key=header_key(trace_id, owner),
        UpdateExpression="SET #status = :status, UpdatedAt = :now REMOVE Running",
        ConditionExpression="ExecutionArn = :execution AND #status IN (:from0, :from1)"
        + (f" AND {guard}" if guard else ""),
        ExpressionAttributeNames={"#status": "Status"},
        ExpressionAttributeValues={
            ":status": status,
            ":now": datetime.now(UTC).isoformat(),
            ":execution": execution,
            ":from0": ended_from[0],
            ":from1": ended_from[-1],
        },
    )
