"""Templates from DynamoDB, cached in memory for a short time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from notify.domain.errors import TEMPLATE_NOT_FOUND, PermanentError
from notify.domain.templates import Template
from notify.integration.aws_errors import aws_errors
from notify.integration.ttl_cache import TtlCache


class DynamoTemplateStore:
    """Reads the templates table; a template changed with put-item is used after `ttl_seconds`."""

    def __init__(
        self,
        client: Any,
        table_name: str,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._table = table_name
        self._cache: TtlCache[Template] = TtlCache(ttl_seconds, clock)

    def get(self, name: str) -> Template:
        return self._cache.get(name, lambda: self._load(name))

    def _load(self, name: str) -> Template:
        with aws_errors():
            response = self._client.get_item(
                TableName=self._table, Key={"TemplateName": {"S": name}}, ConsistentRead=True
            )
        if "Item" not in response:
            raise PermanentError(TEMPLATE_NOT_FOUND, f"no template named {name!r}")
        item = {key: value["S"] for key, value in response["Item"].items() if "S" in value}
        return Template.from_item(item)
