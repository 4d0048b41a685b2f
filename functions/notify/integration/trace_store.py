"""The traces table: one header item per (TraceId, owner), one item per recipient."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from notify.domain.errors import classify_client_error
from notify.domain.inbound import DeliveryUpdate, RecipientNotRecorded
from notify.domain.outcomes import FAILED, failure_reason

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

    def record(
        self, trace_id: str, owner: str, outcomes: list[dict[str, Any]], execution: str
    ) -> str:
        """Write every outcome and the trace's status; return that status."""
        now = datetime.now(UTC).isoformat()
        expires = int(time.time()) + self._retention_seconds
        status = FAILED if any(o["Status"] == FAILED for o in outcomes) else "COMPLETED"
        try:
            with self._table.batch_writer() as batch:
                for outcome in outcomes:
                    batch.put_item(
                        Item=self._recipient_item(trace_id, owner, outcome, execution, now, expires)
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
    def _recipient_item(
        trace_id: str, owner: str, outcome: dict[str, Any], execution: str, now: str, expires: int
    ) -> dict[str, Any]:
        recipient = outcome["Recipient"]
        item = {
            "TraceId": trace_id,
            "Sk": recipient_key(owner, recipient["ChannelType"], recipient["Address"]),
            "Owner": owner,
            "Address": recipient["Address"],
            "ChannelType": recipient["ChannelType"],
            "Status": outcome["Status"],
            "ExecutionArn": execution,
            "UpdatedAt": now,
            "ExpiresAt": expires,
        }
        if outcome["Status"] == "SENT":
            item["ProviderMessageId"] = outcome["ProviderMessageId"]
            item["SentAt"] = outcome["SentAt"]
        else:
            item["Error"] = outcome.get("Error", "")
            item["Reason"] = failure_reason(outcome)
        return item
