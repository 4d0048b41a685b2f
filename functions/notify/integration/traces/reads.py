"""Reading traces: one owner's for the status API and the functions, every item for the CLI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from notify.integration.aws_errors import aws_errors
from notify.integration.traces.keys import is_owners, owner_range


class TraceReader:
    def __init__(self, table: Any) -> None:
        self._table = table  # a boto3 DynamoDB Table resource, or a DynamoTable

    def read(self, trace_id: str, owner: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """The owner's header item (None: no such trace for this owner) and recipient items."""
        low, high = owner_range(owner)
        header, recipients = None, []
        # One Query for the header (Sk = owner) and its recipients (Sk = owner#...).
        query = {
            "KeyConditionExpression": "TraceId = :trace AND Sk BETWEEN :owner AND :after",
            "ExpressionAttributeValues": {":trace": trace_id, ":owner": low, ":after": high},
        }
        with aws_errors():
            for item in _items(self._table.query, query):
                if item["Sk"] == owner:
                    header = item
                elif is_owners(item["Sk"], owner):  # the range holds no other: checked anyway
                    recipients.append(item)
        return header, recipients

    # The operator's reads (the CLI): an SDK error is reported as the SDK tells it.
    def every_owner(self, trace_id: str) -> list[dict[str, Any]]:
        """Every item of the TraceId, whoever sent it."""
        query = {
            "KeyConditionExpression": "TraceId = :trace",
            "ExpressionAttributeValues": {":trace": trace_id},
        }
        return list(_items(self._table.query, query))

    def every_trace(self) -> list[dict[str, Any]]:
        """Every item of the table (a Scan): for the local stack's figures only."""
        return list(_items(self._table.scan, {}))


def _items(operation: Callable[..., dict[str, Any]], params: dict[str, Any]) -> Iterator[Any]:
    """The items of every page of a Query or Scan."""
    page: dict[str, Any] = {}
    while True:
        response = operation(**params, **page)
        yield from response.get("Items", [])
        if "LastEvaluatedKey" not in response:
            return
        page = {"ExclusiveStartKey": response["LastEvaluatedKey"]}
