"""Providers' delivery statuses, on the recipient items sent with their message ids."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from notify.domain.provider_events import DeliveryUpdate, RecipientNotRecorded
from notify.integration.aws_errors import aws_errors
from notify.integration.traces.keys import PARTITION_KEY, PROVIDER_MESSAGE_INDEX, SORT_KEY
from notify.integration.traces.table import update_unless_refused


class DeliveryStatusStore:
    def __init__(self, table: Any) -> None:
        self._table = table  # a boto3 DynamoDB Table resource, or a DynamoTable

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
        return sum(self.record_delivery_to(key, update) for key in keys)

    def record_delivery_to(self, key: Mapping[str, Any], update: DeliveryUpdate) -> bool:
        """Set the status on the recipient item `key` unless the rank rule drops it; whether
        it changed. The one write of a delivery status, whoever reports it."""
        values = {":status": update.status, ":rank": update.rank, ":at": update.at}
        fields = "DeliveryStatus = :status, DeliveryRank = :rank, DeliveryUpdatedAt = :at"
        if update.error_code:
            fields += ", DeliveryErrorCode = :error"
            values[":error"] = update.error_code
        refused = update_unless_refused(
            self._table,
            Key={PARTITION_KEY: key[PARTITION_KEY], SORT_KEY: key[SORT_KEY]},
            UpdateExpression=f"SET {fields}",
            ConditionExpression="attribute_exists(Sk) AND "
            "(attribute_not_exists(DeliveryRank) OR DeliveryRank < :rank)",
            ExpressionAttributeValues=values,
        )
        return refused is None
