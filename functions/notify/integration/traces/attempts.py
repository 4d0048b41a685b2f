"""A recipient's item as its send-once record: each attempt, the send, or its cancel."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from notify.domain import cancel
from notify.domain.errors import SEND_IN_PROGRESS, TransientError
from notify.domain.jobs import JOB
from notify.domain.outcomes import CANCELLED, FAILED, SENT
from notify.integration.aws_errors import aws_errors
from notify.integration.traces.keys import recipient_item_key
from notify.integration.traces.table import expires_at, now, update_unless_refused


class Cancel(StrEnum):
    """What cancelling one recipient's channel found (the words of domain/cancel.py)."""

    CANCELLED = CANCELLED  # it will never be sent
    IN_FLIGHT = cancel.IN_FLIGHT  # an attempt is at the provider now: it may still be sent
    ENDED = cancel.ENDED  # already sent, rejected or cancelled


class AttemptStore:
    def __init__(self, table: Any, retention_days: int) -> None:
        self._table = table  # a boto3 DynamoDB Table resource, or a DynamoTable
        self._retention_seconds = retention_days * 86400

    def begin_send(
        self,
        trace_id: str,
        owner: str,
        channel: str,
        address: str,
        in_progress_until: str,
        job: str | None = None,
    ) -> dict[str, Any] | None:
        """Claim one send attempt on the recipient's item, counting it; None: go ahead.

        The recipient's idempotency record is its trace item: one conditional write both
        counts the attempt and marks it in progress until `in_progress_until` (the end
        of the send function's time); a job's row names its `job` there. Returns the item
        when the recipient was already SENT (the caller answers with that send) or
        CANCELLED (never to be sent); raises TransientError(SendInProgress) while another
        attempt may still be at the provider.
        """
        moment = now()
        names, values = ({"#job": JOB}, {":job": job}) if job else ({}, {})
        refused = update_unless_refused(
            self._table,
            Key=recipient_item_key(trace_id, owner, channel, address),
            UpdateExpression="ADD Attempts :one SET LastAttemptAt = :now, "
            "FirstAttemptAt = if_not_exists(FirstAttemptAt, :now), "
            "InProgressUntil = :until, "
            "#owner = :owner, Address = :address, ChannelType = :channel, "
            "ExpiresAt = :expires" + (", #job = :job" if job else ""),
            ConditionExpression="(attribute_not_exists(#status) OR "
            "NOT #status IN (:sent, :cancelled)) AND "
            "(attribute_not_exists(InProgressUntil) OR InProgressUntil < :now)",
            ExpressionAttributeNames={"#owner": "Owner", "#status": "Status"} | names,
            ExpressionAttributeValues=values
            | {
                ":one": 1,
                ":now": moment,
                ":until": in_progress_until,
                ":sent": SENT,
                ":cancelled": CANCELLED,
                ":owner": owner,
                ":address": address,
                ":channel": channel,
                ":expires": expires_at(self._retention_seconds),
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
        recorded: Mapping[str, Any] | None = None,
    ) -> None:
        """Mark the recipient SENT with the provider's id: the attempt is over, for good.

        Provider callbacks find the recipient by that id as soon as it is written.
        `recorded`: what else the item keeps about the send (the template and version used).
        """
        extra = dict(recorded or {})
        names = {f"#r{n}": name for n, name in enumerate(extra)}
        values = {f":r{n}": value for n, value in enumerate(extra.values())}
        sets = "".join(f", #r{n} = :r{n}" for n in range(len(extra)))
        with aws_errors():
            self._table.update_item(
                Key=recipient_item_key(trace_id, owner, channel, address),
                UpdateExpression="SET #status = :sent, ProviderMessageId = :id, SentAt = :at"
                + sets
                + " REMOVE InProgressUntil, #error, Reason",
                ExpressionAttributeNames={"#status": "Status", "#error": "Error"} | names,
                ExpressionAttributeValues={":sent": SENT, ":id": provider_message_id, ":at": at}
                | values,
            )

    def end_attempt(self, trace_id: str, owner: str, channel: str, address: str) -> None:
        """The attempt failed and is over: the recipient may be tried again at once."""
        with aws_errors():
            self._table.update_item(
                Key=recipient_item_key(trace_id, owner, channel, address),
                UpdateExpression="REMOVE InProgressUntil",
            )

    def cancel_recipient(self, trace_id: str, owner: str, channel: str, address: str) -> Cancel:
        """Mark one channel of a recipient CANCELLED unless its send has begun or ended.

        Its send function then finds it CANCELLED (`begin_send`) and never calls the
        provider. A recipient that exhausted its retries (FAILED) can still be cancelled:
        a redrive then skips it.
        """
        refused = update_unless_refused(
            self._table,
            Key=recipient_item_key(trace_id, owner, channel, address),
            UpdateExpression="SET #status = :cancelled, UpdatedAt = :now, #owner = :owner, "
            "Address = :address, ChannelType = :channel, "
            "ExpiresAt = if_not_exists(ExpiresAt, :expires)",
            ConditionExpression="(attribute_not_exists(#status) OR #status = :failed) AND "
            "(attribute_not_exists(InProgressUntil) OR InProgressUntil < :now)",
            ExpressionAttributeNames={"#status": "Status", "#owner": "Owner"},
            ExpressionAttributeValues={
                ":cancelled": CANCELLED,
                ":failed": FAILED,
                ":now": now(),
                ":owner": owner,
                ":address": address,
                ":channel": channel,
                ":expires": expires_at(self._retention_seconds),
            },
        )
        if refused is None:
            return Cancel.CANCELLED
        return Cancel.IN_FLIGHT if refused.get("Status") in (None, FAILED) else Cancel.ENDED
