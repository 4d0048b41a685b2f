"""The traces table: one header item per (TraceId, owner), one item per recipient."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from notify.domain import cancel
from notify.domain.content import storable
from notify.domain.errors import SEND_IN_PROGRESS, TransientError
from notify.domain.fallback import AWAITING, Continuation
from notify.domain.outcomes import (
    CANCELLED,
    COMPLETED,
    FAILED,
    RUNNING,
    SCHEDULED,
    SENT,
    failure_reason,
)
from notify.domain.provider_events import DeliveryUpdate, RecipientNotRecorded
from notify.domain.schedule import due_by
from notify.integration.aws_errors import aws_errors, classify_client_error
from notify.integration.dynamodb_table import plain_item

# The traces table's GSI from a provider's message id to the recipient item (keys only).
PROVIDER_MESSAGE_INDEX = "ByProviderMessageId"
# The sparse GSI of header items whose execution runs: `Running` is set by a claim and
# removed when the trace ends, so only running traces are in it.
RUNNING_INDEX = "RunningByClaimedAt"


# Between the parts of a recipient item's Sk: owner#CHANNEL#address.
KEY_SEPARATOR = "#"


def _now() -> str:
    # One format for every timestamp compared as a string (microseconds always shown).
    return datetime.now(UTC).isoformat(timespec="microseconds")


def recipient_key(owner: str, channel: str, address: str) -> str:
    return KEY_SEPARATOR.join((owner, channel, address))


class Cancel(StrEnum):
    """What cancelling one recipient's channel found (the words of domain/cancel.py)."""

    CANCELLED = CANCELLED  # it will never be sent
    IN_FLIGHT = cancel.IN_FLIGHT  # an attempt is at the provider now: it may still be sent
    ENDED = cancel.ENDED  # already sent, rejected or cancelled


class Claim(StrEnum):
    """What claiming a TraceId for an execution found."""

    CLAIMED = "CLAIMED"  # this execution runs it (new, redriven, stale, or already ours)
    HELD = "HELD"  # another execution is running it
    DONE = "DONE"  # another execution completed it


class TraceStore:
    def __init__(self, table: Any, retention_days: int) -> None:
        self._table = table  # a boto3 DynamoDB Table resource
        self._retention_seconds = retention_days * 86400

    def record_delivery(self, update: DeliveryUpdate) -> int:
        """Set the provider's status on every recipient sent with this provider message id.

        The rank rule keeps the latest state: an update of a lower or equal rank than the
        one recorded is dropped. Returns how many recipients changed; raises
        RecipientNotRecorded when none carries the id yet (the caller retries later).
        """
        with aws_errors():
            keys = self._table.query(
                IndexName=PROVIDER_MESSAGE_INDEX,
                KeyConditionExpression="ProviderMessageId = :id",
                ExpressionAttributeValues={":id": update.provider_message_id},
            )["Items"]
        if not keys:
            raise RecipientNotRecorded(f"no recipient sent as {update.provider_message_id} yet")
        values = {":status": update.status, ":rank": update.rank, ":at": update.at}
        fields = "DeliveryStatus = :status, DeliveryRank = :rank, DeliveryUpdatedAt = :at"
        if update.error_code:
            fields += ", DeliveryErrorCode = :error"
            values[":error"] = update.error_code
        changed = 0
        for key in keys:
            refused = self._update_unless_refused(
                Key={"TraceId": key["TraceId"], "Sk": key["Sk"]},
                UpdateExpression=f"SET {fields}",
                ConditionExpression="attribute_exists(Sk) AND "
                "(attribute_not_exists(DeliveryRank) OR DeliveryRank < :rank)",
                ExpressionAttributeValues=values,
            )
            changed += refused is None
        return changed

    def begin_send(
        self, trace_id: str, owner: str, channel: str, address: str, in_progress_until: str
    ) -> dict[str, Any] | None:
        """Claim one send attempt on the recipient's item, counting it; None: go ahead.

        The recipient's idempotency record is its trace item: one conditional write both
        counts the attempt and marks it in progress until `in_progress_until` (the end
        of the send function's time). Returns the item when the recipient was already
        SENT (the caller answers with that send) or CANCELLED (never to be sent); raises
        TransientError(SendInProgress) while another attempt may still be at the provider.
        """
        now = _now()
        refused = self._update_unless_refused(
            Key={"TraceId": trace_id, "Sk": recipient_key(owner, channel, address)},
            UpdateExpression="ADD Attempts :one SET LastAttemptAt = :now, "
            "FirstAttemptAt = if_not_exists(FirstAttemptAt, :now), "
            "InProgressUntil = :until, "
            "#owner = :owner, Address = :address, ChannelType = :channel, "
            "ExpiresAt = :expires",
            ConditionExpression="(attribute_not_exists(#status) OR "
            "NOT #status IN (:sent, :cancelled)) AND "
            "(attribute_not_exists(InProgressUntil) OR InProgressUntil < :now)",
            ExpressionAttributeNames={"#owner": "Owner", "#status": "Status"},
            ExpressionAttributeValues={
                ":one": 1,
                ":now": now,
                ":until": in_progress_until,
                ":sent": SENT,
                ":cancelled": CANCELLED,
                ":owner": owner,
                ":address": address,
                ":channel": channel,
                ":expires": int(time.time()) + self._retention_seconds,
            },
        )
        if refused is not None:
            if refused.get("Status") in (SENT, CANCELLED):
                return refused
            raise TransientError(
                SEND_IN_PROGRESS, f"{address}: another attempt may still be at the provider"
            ) from None
        return None

    def complete_send(
        self,
        trace_id: str,
        owner: str,
        channel: str,
        address: str,
        provider_message_id: str,
        at: str,
    ) -> None:
        """Mark the recipient SENT with the provider's id: the attempt is over, for good.

        Provider callbacks find the recipient by that id as soon as it is written.
        """
        with aws_errors():
            self._table.update_item(
                Key={"TraceId": trace_id, "Sk": recipient_key(owner, channel, address)},
                UpdateExpression="SET #status = :sent, ProviderMessageId = :id, SentAt = :at "
                "REMOVE InProgressUntil, #error, Reason",
                ExpressionAttributeNames={"#status": "Status", "#error": "Error"},
                ExpressionAttributeValues={":sent": SENT, ":id": provider_message_id, ":at": at},
            )

    def end_attempt(self, trace_id: str, owner: str, channel: str, address: str) -> None:
        """The attempt failed and is over: the recipient may be tried again at once."""
        with aws_errors():
            self._table.update_item(
                Key={"TraceId": trace_id, "Sk": recipient_key(owner, channel, address)},
                UpdateExpression="REMOVE InProgressUntil",
            )

    def read(self, trace_id: str, owner: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """The owner's header item (None: no such trace for this owner) and recipient items."""
        if KEY_SEPARATOR in owner:
            # Tenant ids exclude "#" (domain/tenants.py): the first "#" ends the owner.
            raise ValueError(f"an owner holds no {KEY_SEPARATOR!r}: {owner!r}")
        header, recipients = None, []
        query: dict[str, Any] = {
            # One Query for the header (Sk = owner) and its recipients (Sk = owner#...):
            # the range from owner to owner + the character after "#", never a bare prefix
            # (owner "customer:acme" must not read "customer:acme.eu"). The tenant charset
            # has nothing below "#", so the range holds only these; the loop checks anyway.
            "KeyConditionExpression": "TraceId = :trace AND Sk BETWEEN :owner AND :after",
            "ExpressionAttributeValues": {
                ":trace": trace_id,
                ":owner": owner,
                ":after": owner + chr(ord(KEY_SEPARATOR) + 1),
            },
        }
        with aws_errors():
            while True:
                page = self._table.query(**query)
                for item in page["Items"]:
                    if item["Sk"] == owner:
                        header = item
                    elif item["Sk"].startswith(owner + KEY_SEPARATOR):
                        recipients.append(item)
                if "LastEvaluatedKey" not in page:
                    break
                query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return header, recipients

    def claim(
        self,
        trace_id: str,
        owner: str,
        execution: str,
        stale_before: str,
        recipients: list[Any] | None = None,
    ) -> Claim:
        """Claim the owner's TraceId for `execution`: CLAIMED, or HELD / DONE elsewhere.

        A TraceId is free when new, when its last run FAILED (a redrive), when it was
        SCHEDULED and its SendAt has come, or when its claim is older than the state
        machine's timeout (`stale_before`): that execution has ended, and if its end was
        never reconciled nothing else will run it. `recipients` (`CHANNEL#address`) are
        kept on the header, so a cancel finds those not begun yet. A claim
        whose write landed but whose answer was lost is retried; the condition then
        fails on our own claim, which the old item shows, so the claim is idempotent
        for its execution.
        """
        moment = datetime.now(UTC)
        now = moment.isoformat()
        listed = ", Recipients = :recipients" if recipients else ""
        refused = self._update_unless_refused(
            Key={"TraceId": trace_id, "Sk": owner},
            UpdateExpression="SET #status = :running, Running = :running, ClaimedAt = :now, "
            "#owner = :owner, ExecutionArn = :execution, "
            "Executions = list_append(if_not_exists(Executions, :none), :executions), "
            "StartedAt = if_not_exists(StartedAt, :now), UpdatedAt = :now, "
            "ExpiresAt = :expires" + listed,
            ConditionExpression="attribute_not_exists(#status) OR #status = :failed "
            "OR (#status = :running AND ClaimedAt < :stale) "
            "OR (#status = :scheduled AND SendAt <= :due)",
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
                ":expires": int(time.time()) + self._retention_seconds,
            }
            | ({":recipients": recipients} if recipients else {}),
        )
        if refused is not None:
            if refused.get("Status") != RUNNING:
                return Claim.DONE
            return Claim.CLAIMED if refused.get("ExecutionArn") == execution else Claim.HELD
        return Claim.CLAIMED

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
        refused = self._update_unless_refused(
            Key={"TraceId": trace_id, "Sk": owner},
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
                Key={"TraceId": trace_id, "Sk": owner},
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
        refused = self._update_unless_refused(
            Key={"TraceId": trace_id, "Sk": owner},
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

    def cancel_recipient(self, trace_id: str, owner: str, channel: str, address: str) -> Cancel:
        """Mark one channel of a recipient CANCELLED unless its send has begun or ended.

        Its send function then finds it CANCELLED (`begin_send`) and never calls the
        provider. A recipient that exhausted its retries (FAILED) can still be cancelled:
        a redrive then skips it.
        """
        now = _now()
        refused = self._update_unless_refused(
            Key={"TraceId": trace_id, "Sk": recipient_key(owner, channel, address)},
            UpdateExpression="SET #status = :cancelled, UpdatedAt = :now, #owner = :owner, "
            "Address = :address, ChannelType = :channel, "
            "ExpiresAt = if_not_exists(ExpiresAt, :expires)",
            ConditionExpression="(attribute_not_exists(#status) OR #status = :failed) AND "
            "(attribute_not_exists(InProgressUntil) OR InProgressUntil < :now)",
            ExpressionAttributeNames={"#status": "Status", "#owner": "Owner"},
            ExpressionAttributeValues={
                ":cancelled": CANCELLED,
                ":failed": FAILED,
                ":now": now,
                ":owner": owner,
                ":address": address,
                ":channel": channel,
                ":expires": int(time.time()) + self._retention_seconds,
            },
        )
        if refused is None:
            return Cancel.CANCELLED
        return Cancel.IN_FLIGHT if refused.get("Status") in (None, FAILED) else Cancel.ENDED

    def record(
        self,
        trace_id: str,
        owner: str,
        outcomes: list[dict[str, Any]],
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
        now = datetime.now(UTC).isoformat()
        expires = int(time.time()) + self._retention_seconds
        for outcome in (o for o in outcomes if o["Status"] not in (SENT, CANCELLED, AWAITING)):
            self._write_outcome(trace_id, owner, outcome, execution, now, expires)
        if any(o["Status"] == FAILED and not o.get("FellBack") for o in outcomes):
            if continuation is not None:
                self._keep_continuation(trace_id, owner, execution, continuation)
            return RUNNING, None
        if any(o["Status"] == CANCELLED for o in outcomes):
            self.finish(trace_id, owner, CANCELLED, execution)
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
        self._update_unless_refused(
            Key={"TraceId": trace_id, "Sk": owner},
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
        refused = self._end_run(
            trace_id, owner, COMPLETED, execution, "attribute_not_exists(Continuation)"
        )
        if refused and refused.get("Continuation") and refused.get("ExecutionArn") == execution:
            return Continuation(refused["Continuation"], refused["ContinueAt"])
        return None

    def _continue_later(
        self, trace_id: str, owner: str, execution: str, continuation: Continuation
    ) -> bool:
        """End this run SCHEDULED: the continuation is the request its schedule sends."""
        refused = self._update_unless_refused(
            Key={"TraceId": trace_id, "Sk": owner},
            UpdateExpression="SET #status = :scheduled, SendAt = :due, ScheduledRequest = :body, "
            "UpdatedAt = :now REMOVE Running, Continuation, ContinueAt",
            ConditionExpression="ExecutionArn = :execution AND #status IN (:running, :failed)",
            ExpressionAttributeNames={"#status": "Status"},
            ExpressionAttributeValues={
                ":scheduled": SCHEDULED,
                ":due": continuation.due,
                ":body": continuation.body,
                ":now": _now(),
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
        outcome: dict[str, Any],
        execution: str,
        now: str,
        expires: int,
    ) -> None:
        """One outcome on its item, if it moves the recipient forward.

        A status only moves forward: FAILED or REJECTED lands on an item with no status yet
        or FAILED (a later try's verdict), never on SENT (a send that finished after the
        outcome was decided), REJECTED or CANCELLED.
        """
        recipient = outcome["Recipient"]
        update = self._outcome_update(owner, outcome, execution, now, expires)
        update["ExpressionAttributeValues"][":failed"] = FAILED
        self._update_unless_refused(  # refused: the recipient has moved on already
            Key={
                "TraceId": trace_id,
                "Sk": recipient_key(owner, recipient["ChannelType"], recipient["Address"]),
            },
            ConditionExpression="attribute_not_exists(#status) OR #status = :failed",
            **update,
        )

    def finish(self, trace_id: str, owner: str, status: str, execution: str) -> bool:
        """End the trace's run by `execution` with `status`; False when it is not that run.

        Conditional on the claim, so a late event about an old execution never ends a
        newer run of the same TraceId, and a trace is reconciled (FAILED) at most once.
        A reconciled execution redriven from the console may still complete its trace.
        """
        return self._end_run(trace_id, owner, status, execution) is None

    def _end_run(
        self, trace_id: str, owner: str, status: str, execution: str, guard: str = ""
    ) -> dict[str, Any] | None:
        """`finish`, under one more condition (`guard`): None when ended, else the item."""
        ended_from = [RUNNING] if status == FAILED else [RUNNING, FAILED]
        return self._update_unless_refused(
            Key={"TraceId": trace_id, "Sk": owner},
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

    def _update_unless_refused(self, **update: Any) -> dict[str, Any] | None:
        """One conditional UpdateItem: None when written; the item as it was when refused.

        DynamoDB answers a refused condition with the old item ({} when there was none),
        which is how a caller tells whose the item is.
        """
        try:
            self._table.update_item(ReturnValuesOnConditionCheckFailure="ALL_OLD", **update)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise classify_client_error(exc) from exc
            return plain_item(exc.response.get("Item", {}))
        return None

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

    @staticmethod
    def _outcome_update(
        owner: str, outcome: dict[str, Any], execution: str, now: str, expires: int
    ) -> dict[str, Any]:
        """A REJECTED or FAILED outcome, with its error and reason, on the recipient's item."""
        recipient = outcome["Recipient"]
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
            ":status": outcome["Status"],
            ":error": storable(outcome.get("Error") or ""),
            ":reason": storable(failure_reason(outcome)),
            ":execution": execution,
            ":now": now,
            ":expires": expires,
        }
        return {
            "UpdateExpression": "SET " + ", ".join(f"{k} = {v}" for k, v in fields.items()),
            "ExpressionAttributeNames": {"#owner": "Owner", "#status": "Status", "#error": "Error"},
            "ExpressionAttributeValues": values,
        }
