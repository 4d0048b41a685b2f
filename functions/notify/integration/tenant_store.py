"""The tenants table (per-tenant configuration), read by the send functions, cached briefly."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from notify.domain.senders import SENDER_LISTS, AllowedSenders
from notify.domain.triggers import Trigger, check_name
from notify.integration.aws_errors import aws_errors
from notify.integration.ttl_cache import TtlCache

# A tenant's allowed senders: one item, a string set per list (its name, e.g. "Emails").
SENDERS_SK = "SENDERS"
# A tenant's named trigger: one item each, Sk = TRIGGER#<name>.
TRIGGER_SK_PREFIX = "TRIGGER#"
# The item's attribute holding the definition, as JSON text: exactly what the operator wrote.
DEFINITION = "Definition"


def trigger_sort_key(name: str) -> str:
    """The tenants table's Sk of the trigger `name` (InvalidTrigger for a name off the rule)."""
    return TRIGGER_SK_PREFIX + check_name(name)


def trigger_item(owner: str, trigger: Trigger, updated_at: str) -> dict[str, str]:
    """The tenants table's item of `trigger`, for the tenant `owner`."""
    return {
        "Tenant": owner,
        "Sk": trigger_sort_key(trigger.name),
        "Name": trigger.name,
        DEFINITION: json.dumps(trigger.definition(), ensure_ascii=False),
        "UpdatedAt": updated_at,
    }


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
        self._triggers: TtlCache[dict[str, Any] | None] = TtlCache(ttl_seconds, clock)

    def senders(self, owner: str) -> AllowedSenders | None:
        """The tenant's allowed senders, or None when it has no list."""
        return self._cache.get(owner, lambda: self._load_senders(owner))

    def trigger(self, owner: str, name: str) -> dict[str, Any] | None:
        """The definition of the tenant's trigger `name` (its item's JSON), or None."""
        return self._triggers.get((owner, name), lambda: self._load_trigger(owner, name))

    def _load_senders(self, owner: str) -> AllowedSenders | None:
        item = self._get(owner, SENDERS_SK)
        if item is None:
            return None
        return AllowedSenders.from_lists(
            {name: item[name]["SS"] for name in SENDER_LISTS if "SS" in item.get(name, {})}
        )

    def _load_trigger(self, owner: str, name: str) -> dict[str, Any] | None:
        item = self._get(owner, trigger_sort_key(name))
        return None if item is None else json.loads(item[DEFINITION]["S"])

    def _get(self, owner: str, sk: str) -> dict[str, Any] | None:
        with aws_errors():
            response = self._client.get_item(
                TableName=self._table, Key={"Tenant": {"S": owner}, "Sk": {"S": sk}}
            )
        return response.get("Item")
