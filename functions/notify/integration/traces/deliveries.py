"""Providers' delivery statuses, on the recipient items sent with their message ids."""

from __future__ import annotations

from typing import Any

from notify.domain.provider_events import DELIVERY_RANKS, DeliveryUpdate, RecipientNotRecorded
from notify.integration.aws_errors import aws_errors
from notify.integration.traces.keys import PARTITION_KEY, PROVIDER_MESSAGE_INDEX, SORT_KEY
from notify.integration.traces.table import update_unless_refused


def delivery_fields(status: str, at: str, error_code: str | None = None) -> dict[str, Any]:
    """A recipient item's delivery status fields, as a provider's status event sets them."""
    fields: dict[str, Any] = {
        "DeliveryStatus": status,
        "DeliveryRank": DELIVERY_RANKS[status],
        "DeliveryUpdatedAt": at,
    }
    if error_code:
        fields["DeliveryErrorCode"] = error_code
    return fields


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
        fields = delivery_fields(update.status, update.at, update.error_code)
        values = {f":{name}": value for name, value in fields.items()}
        sets = ", ".join(f"{name} = :{name}" for name in fields)
        changed = 0
        for key in keys:
            refused = update_unless_refused(
                self._table,
                Key={PARTITION_KEY: key[PARTITION_KEY], SORT_KEY: key[SORT_KEY]},
                UpdateExpression=f"SET {sets}",
                ConditionExpression="attribute_exists(Sk) AND "
                "(attribute_not_exists(DeliveryRank) OR DeliveryRank < :DeliveryRank)",
                ExpressionAttributeValues=values,
            )
            changed += refused is None
        return changed
