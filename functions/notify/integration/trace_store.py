"""The traces table: one header item per (TraceId, owner), one item per recipient."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from notify.domain.errors import classify_client_error
from notify.domain.outcomes import FAILED, failure_reason
from notify.domain.provider_events import DeliveryUpdate, RecipientNotRecorded

# The traces table's GSI from a provider's message id to the recipient item (keys only).
PROVIDER_MESSAGE_INDEX = "ByProviderMessageId"


def recipient_key(owner: str, channel: str, address: str) -> str:
    return f"{owner}#{channel}#{address}"


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
        try:
            keys = self._table.query(
                IndexName=PROVIDER_MESSAGE_INDEX,
                KeyConditionExpression="ProviderMessageId = :id",
                ExpressionAttributeValues={":id": update.provider_message_id},
            )["Items"]
        except ClientError as exc:
            raise classify_client_error(exc) from exc
        if not keys:
            raise RecipientNotRecorded(f"no recipient sent as {update.provider_message_id} yet")
        values = {":status": update.status, ":rank": update.rank, ":at": update.at}
        fields = "DeliveryStatus = :status, DeliveryRank = :rank, DeliveryUpdatedAt = :at"
        if update.error_code:
            fields += ", DeliveryErrorCode = :error"
            values[":error"] = update.error_code
        changed = 0
        for key in keys:
            try:
                self._table.update_item(
                    Key={"TraceId": key["TraceId"], "Sk": key["Sk"]},
                    UpdateExpression=f"SET {fields}",
                    ConditionExpression="attribute_exists(Sk) AND "
                    "(attribute_not_exists(DeliveryRank) OR DeliveryRank < :rank)",
                    ExpressionAttributeValues=values,
                )
                changed += 1
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise classify_client_error(exc) from exc
        return changed

    def count_attempt(self, trace_id: str, owner: str, channel: str, address: str) -> int:
        """Count one provider attempt on the recipient's item (made before the call); return it.

        The item may not exist yet (outcomes are recorded after the Map), so its identity
        is set too: the key determines it, so setting it again changes nothing.
        """
        now = datetime.now(UTC).isoformat()
        try:
            attributes = self._table.update_item(
                Key={"TraceId": trace_id, "Sk": recipient_key(owner, channel, address)},
                UpdateExpression="ADD Attempts :one SET LastAttemptAt = :now, "
                "FirstAttemptAt = if_not_exists(FirstAttemptAt, :now), "
                "#owner = :owner, Address = :address, ChannelType = :channel, "
                "ExpiresAt = :expires",
                ExpressionAttributeNames={"#owner": "Owner"},
                ExpressionAttributeValues={
                    ":one": 1,
                    ":now": now,
                    ":owner": owner,
                    ":address": address,
                    ":channel": channel,
                    ":expires": int(time.time()) + self._retention_seconds,
                },
                ReturnValues="UPDATED_NEW",
            )["Attributes"]
        except ClientError as exc:
            raise classify_client_error(exc) from exc
        return int(attributes["Attempts"])

    def record_sent(
        self,
        trace_id: str,
        owner: str,
        channel: str,
        address: str,
        provider_message_id: str,
        at: str,
    ) -> None:
        """Mark the recipient SENT with the provider's id, as soon as the provider took it."""
        try:
            self._table.update_item(
                Key={"TraceId": trace_id, "Sk": recipient_key(owner, channel, address)},
                UpdateExpression="SET #status = :sent, ProviderMessageId = :id, SentAt = :at",
                ExpressionAttributeNames={"#status": "Status"},
                ExpressionAttributeValues={
                    ":sent": "SENT",
                    ":id": provider_message_id,
                    ":at": at,
                },
            )
        except ClientError as exc:
            raise classify_client_error(exc) from exc

    def read(self, trace_id: str, owner: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """The owner's header item (None: no such trace for this owner) and recipient items."""
        header, recipients = None, []
        query: dict[str, Any] = {
            # One Query: the header (Sk = owner) and its recipients (Sk = owner#...).
            # begins_with also matches owners that merely start alike; they are dropped here.
            "KeyConditionExpression": "TraceId = :trace AND begins_with(Sk, :owner)",
            "ExpressionAttributeValues": {":trace": trace_id, ":owner": owner},
        }
        try:
            while True:
                page = self._table.query(**query)
                for item in page["Items"]:
                    if item["Sk"] == owner:
                        header = item
                    elif item["Sk"].startswith(owner + "#"):
                        recipients.append(item)
                if "LastEvaluatedKey" not in page:
                    break
                query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except ClientError as exc:
            raise classify_client_error(exc) from exc
        return header, recipients

    def record(
        self, trace_id: str, owner: str, outcomes: list[dict[str, Any]], execution: str
    ) -> str:
        """Write every outcome and the trace's status; return that status.

        Recipient items are updated, not replaced: the send functions' attempt counts and
        the providers' delivery statuses live on the same items.
        """
        now = datetime.now(UTC).isoformat()
        expires = int(time.time()) + self._retention_seconds
        status = FAILED if any(o["Status"] == FAILED for o in outcomes) else "COMPLETED"
        try:
            for outcome in outcomes:
                recipient = outcome["Recipient"]
                self._table.update_item(
                    Key={
                        "TraceId": trace_id,
                        "Sk": recipient_key(owner, recipient["ChannelType"], recipient["Address"]),
                    },
                    **self._outcome_update(owner, outcome, execution, now, expires),
                )
            self._table.update_item(
                Key={"TraceId": trace_id, "Sk": owner},
                UpdateExpression="SET #status = :status, UpdatedAt = :now, ExpiresAt = :expires",
                ExpressionAttributeNames={"#status": "Status"},
                ExpressionAttributeValues={":status": status, ":now": now, ":expires": expires},
            )
        except ClientError as exc:
            raise classify_client_error(exc) from exc
        return status

    @staticmethod
    def _outcome_update(
        owner: str, outcome: dict[str, Any], execution: str, now: str, expires: int
    ) -> dict[str, Any]:
        recipient = outcome["Recipient"]
        values = {
            ":owner": owner,
            ":address": recipient["Address"],
            ":channel": recipient["ChannelType"],
            ":status": outcome["Status"],
            ":execution": execution,
            ":now": now,
            ":expires": expires,
        }
        fields = [
            "#owner = :owner",
            "Address = :address",
            "ChannelType = :channel",
            "#status = :status",
            "ExecutionArn = :execution",
            "UpdatedAt = :now",
            "ExpiresAt = :expires",
        ]
        if outcome["Status"] == "SENT":
            fields += ["ProviderMessageId = :provider_id", "SentAt = :sent_at"]
            values |= {":provider_id": outcome["ProviderMessageId"], ":sent_at": outcome["SentAt"]}
            stale = " REMOVE #error, Reason"  # an earlier run's failure no longer holds
        else:
            fields += ["#error = :error", "Reason = :reason"]
            values |= {":error": outcome.get("Error", ""), ":reason": failure_reason(outcome)}
            stale = ""
        return {
            "UpdateExpression": "SET " + ", ".join(fields) + stale,
            "ExpressionAttributeNames": {"#owner": "Owner", "#status": "Status", "#error": "Error"},
            "ExpressionAttributeValues": values,
        }
