"""A DynamoDB table over a low-level client, speaking Python values as boto3's Table does.

The stores use a handful of Table calls. boto3's resource layer makes the same
translation but builds a client and loads a resource model of its own, some 45 ms of
every cold start; this shares the function's one DynamoDB client instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_serialize = TypeSerializer().serialize
_deserialize = TypeDeserializer().deserialize

# Request fields holding values, keys or an item, and response fields holding items.
_VALUES = ("ExpressionAttributeValues",)
_KEYS = ("Key", "ExclusiveStartKey", "Item")
_ITEMS = ("Item", "Attributes", "LastEvaluatedKey")


class DynamoTable:
    def __init__(self, client: Any, name: str) -> None:
        self._client = client
        self.name = name

    def update_item(self, **params: Any) -> dict[str, Any]:
        return self._call(self._client.update_item, params)

    def put_item(self, **params: Any) -> dict[str, Any]:
        return self._call(self._client.put_item, params)

    def get_item(self, **params: Any) -> dict[str, Any]:
        return self._call(self._client.get_item, params)

    def query(self, **params: Any) -> dict[str, Any]:
        return self._items(self._client.query, params)

    def scan(self, **params: Any) -> dict[str, Any]:
        return self._items(self._client.scan, params)

    def query_all(self, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item the query matches, page after page."""
        return self._every_page(self._client.query, params)

    def scan_all(self, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item the scan reads, page after page."""
        return self._every_page(self._client.scan, params)

    def _every_page(
        self, operation: Callable[..., dict[str, Any]], params: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        page = dict(params)
        while True:
            response = self._items(operation, page)
            yield from response["Items"]
            if "LastEvaluatedKey" not in response:
                return
            page["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _items(
        self, operation: Callable[..., dict[str, Any]], params: dict[str, Any]
    ) -> dict[str, Any]:
        response = self._call(operation, params)
        response["Items"] = [plain_item(item) for item in response.get("Items", [])]
        return response

    def _call(
        self, operation: Callable[..., dict[str, Any]], params: dict[str, Any]
    ) -> dict[str, Any]:
        request = {"TableName": self.name, **params}
        for field in (*_VALUES, *_KEYS):
            if field in request:
                request[field] = {name: _serialize(v) for name, v in request[field].items()}
        response = operation(**request)
        for field in _ITEMS:
            if field in response:
                response[field] = plain_item(response[field])
        return response


def plain_item(item: dict[str, Any]) -> dict[str, Any]:
    """An item in DynamoDB's wire format, as Python values."""
    return {name: _deserialize(value) for name, value in item.items()}
