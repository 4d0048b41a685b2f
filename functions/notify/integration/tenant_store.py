"""The tenants table (per-tenant configuration), read by the send functions, cached briefly."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from notify.domain.errors import classify_client_error
from notify.domain.senders import SENDER_FIELDS, SENDERS_SK, AllowedSenders
from notify.integration.ttl_cache import TtlCache


class TenantStore:
    """Reads a tenant's items (key Tenant = owner, Sk); a change shows after `ttl_seconds`.

    Both answers are cached, "no list" too: every send of an unlisted tenant would
    otherwise cost a read.
    """

    def __init__(
        self,
        client: Any,
        table_name: str,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._table = table_name
        self._cache: TtlCache[AllowedSenders | None] = TtlCache(ttl_seconds, clock)

    def senders(self, owner: str) -> AllowedSenders | None:
        """The tenant's allowed senders, or None when it has no list."""
        return self._cache.get(owner, lambda: self._load_senders(owner))

    def _load_senders(self, owner: str) -> AllowedSenders | None:
        try:
            response = self._client.get_item(
                TableName=self._table,
                Key={"Tenant": {"S": owner}, "Sk": {"S": SENDERS_SK}},
            )
        except ClientError as exc:
            raise classify_client_error(exc) from exc
        if "Item" not in response:
            return None
        item = response["Item"]
        return AllowedSenders.from_item(
            {field: item[field]["SS"] for field in SENDER_FIELDS if "SS" in item.get(field, {})}
        )
