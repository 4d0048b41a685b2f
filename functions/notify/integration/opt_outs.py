"""The opt-outs table: an item (Address, Channel) present means "do not send"."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from notify.domain.errors import THROTTLED, TransientError
from notify.integration.aws_errors import aws_errors, classify_client_error

BATCH_GET_LIMIT = 100  # keys per BatchGetItem
UNPROCESSED_RETRIES = 3  # a throttled batch returns the keys it did not read


class OptOutStore:
    """Written by the inbound function (STOP / START, complaints), read by Plan for each request.

    Writes carry the time the keyword was received and never overwrite a later one, so a
    STOP and a START processed out of order still leave the later wish in place when the
    earlier one arrives second while an item exists. (A START processed before an earlier
    STOP cannot tell, as the table keeps no trace of opt-ins: the STOP wins.)
    """

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client  # a boto3 DynamoDB client
        self._table = table_name

    def opted_out(self, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which (Address, Channel) keys are opted out: one BatchGetItem per 100 keys."""
        wanted = list(dict.fromkeys(keys))
        found: set[tuple[str, str]] = set()
        for start in range(0, len(wanted), BATCH_GET_LIMIT):
            pending = {
                self._table: {
                    "Keys": [_key(a, c) for a, c in wanted[start : start + BATCH_GET_LIMIT]],
                    "ConsistentRead": True,
                }
            }
            for _ in range(UNPROCESSED_RETRIES):
                with aws_errors():
                    response = self._client.batch_get_item(RequestItems=pending)
                items = response.get("Responses", {}).get(self._table, [])
                found |= {(i["Address"]["S"], i["Channel"]["S"]) for i in items}
                pending = response.get("UnprocessedKeys") or {}
                if not pending:
                    break
            if pending:
                raise TransientError(THROTTLED, "opt-outs: keys left unprocessed, try again")
        return found

    def opt_out(self, address: str, channel: str, at: str, keyword: str) -> bool:
        """Record the opt-out; False when a later change is already recorded."""
        return self._conditional(
            self._client.put_item,
            Item={**_key(address, channel), "OptedOutAt": {"S": at}, "Keyword": {"S": keyword}},
            ConditionExpression="attribute_not_exists(Address) OR OptedOutAt <= :at",
            ExpressionAttributeValues={":at": {"S": at}},
        )

    def opt_in(self, address: str, channel: str, at: str) -> bool:
        """Remove the opt-out; False when it was recorded after `at` (that later STOP stands)."""
        return self._conditional(
            self._client.delete_item,
            Key=_key(address, channel),
            ConditionExpression="attribute_not_exists(Address) OR OptedOutAt <= :at",
            ExpressionAttributeValues={":at": {"S": at}},
        )

    def _conditional(self, call: Any, **request: Any) -> bool:
        try:
            call(TableName=self._table, **request)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise classify_client_error(exc) from exc
        return True


def _key(address: str, channel: str) -> dict[str, dict[str, str]]:
    return {"Address": {"S": address}, "Channel": {"S": channel}}
