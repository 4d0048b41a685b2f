"""What the traces table's stores share: the conditional update, timestamps and expiry."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from notify.integration.aws_errors import classify_client_error
from notify.integration.dynamodb_table import plain_item


def now() -> str:
    # One format for every timestamp compared as a string (microseconds always shown).
    return datetime.now(UTC).isoformat(timespec="microseconds")


def expires_at(retention_seconds: int) -> int:
    """The TTL attribute of an item written now and kept `retention_seconds`."""
    return int(time.time()) + retention_seconds


def update_unless_refused(table: Any, **update: Any) -> dict[str, Any] | None:
    """One conditional UpdateItem: None when written; the item as it was when refused.

    DynamoDB answers a refused condition with the old item ({} when there was none),
    which is how a caller tells whose the item is. `table`: a boto3 Table resource or
    a DynamoTable.
    """
    try:
        table.update_item(ReturnValuesOnConditionCheckFailure="ALL_OLD", **update)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise classify_client_error(exc) from exc
        return plain_item(exc.response.get("Item", {}))
    return None
