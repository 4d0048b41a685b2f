"""Templates in DynamoDB: the operator's shared table and the tenants' own, versioned table.

Shared: today's `TemplatesTable`, key `TemplateName`, one unversioned item per name,
written only by the operator's CLI. A tenant's own: `TenantTemplatesTable`, key (`Owner`,
`Sk`), where `Sk` is `T#<name>` for the template's head (a copy of its latest version,
`Archived` once deleted) and `V#<name>#<version, 6 digits>` for each immutable version.
A send's read is the tenant's head (one GetItem), then the shared item if the tenant has
none; a pinned older version adds its version's GetItem. A version item carries its locale
variants in its `Locales` map, so the read stays one item. Names hold no `#`
(domain/templates.NAME), so a key's segments cannot run into each other.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from notify.domain.errors import TEMPLATE_NOT_FOUND, PermanentError
from notify.domain.templates import Template, next_version
from notify.integration.aws_errors import aws_errors
from notify.integration.dynamodb_table import DynamoTable
from notify.integration.ttl_cache import TtlCache

_serialize = TypeSerializer().serialize
# A PUT that loses a race for the next version number reads the head again, this often.
PUT_ATTEMPTS = 3


def head_key(owner: str, name: str) -> dict[str, str]:
    return {"Owner": owner, "Sk": f"T#{name}"}


def version_key(owner: str, name: str, version: int) -> dict[str, str]:
    return {"Owner": owner, "Sk": f"V#{name}#{version:06d}"}


class TemplateConflict(Exception):
    """Another write of the same template kept winning the next version number."""


class DynamoTemplateStore:
    """The send path's read: the owner's own template, else the shared one; cached for
    `ttl_seconds` (a template written since is used after that). Without `tenant_table`,
    only the shared templates are read."""

    def __init__(
        self,
        client: Any,
        table_name: str,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        tenant_table: str | None = None,
    ) -> None:
        self._client = client
        self._table = table_name
        self._own = DynamoTable(client, tenant_table) if tenant_table else None
        self._cache: TtlCache[Template] = TtlCache(ttl_seconds, clock)

    def get(self, name: str, owner: str | None = None, version: int | None = None) -> Template:
        return self._cache.get((owner, name, version), lambda: self._load(name, owner, version))

    def _load(self, name: str, owner: str | None, version: int | None) -> Template:
        if owner and self._own is not None:  # "": no tenant (a preview of the shared ones)
            own = self._load_own(owner, name, version)
            if own is not None:
                return own
        if version is not None:  # shared templates have no versions
            raise PermanentError(TEMPLATE_NOT_FOUND, f"no version {version} of template {name!r}")
        return self._load_shared(name)

    def _load_own(self, owner: str, name: str, version: int | None) -> Template | None:
        """The owner's template (its `version`, else the latest); None if it has none."""
        assert self._own is not None
        head = _read(self._own, head_key(owner, name))
        if head is None or head.get("Archived"):
            return None
        if version is None or version == int(head["Version"]):
            return Template.from_item(head)
        item = _read(self._own, version_key(owner, name, version)) if version >= 1 else None
        if item is None:
            raise PermanentError(TEMPLATE_NOT_FOUND, f"no version {version} of template {name!r}")
        return Template.from_item(item)

    def _load_shared(self, name: str) -> Template:
        with aws_errors():
            response = self._client.get_item(
                TableName=self._table, Key={"TemplateName": {"S": name}}, ConsistentRead=True
            )
        if "Item" not in response:
            raise PermanentError(TEMPLATE_NOT_FOUND, f"no template named {name!r}")
        item = {key: value["S"] for key, value in response["Item"].items() if "S" in value}
        return Template.from_item(item)


class TenantTemplates:
    """The templates API's store: a tenant's templates and versions, and the shared ones."""

    def __init__(self, client: Any, tenant_table: str, shared_table: str) -> None:
        self._client = client
        self._own = DynamoTable(client, tenant_table)
        self._shared = DynamoTable(client, shared_table)

    def put(
        self, owner: str, name: str, parts: dict[str, str], at: str, locale: str | None = None
    ) -> int:
        """Store `parts` as the template's next version (1 for a new one, or the one after
        the last even if it was archived: a version number is never reused); its number.
        A template archived is back once written again (its head has no `Archived`).
        With `locale`, `parts` are that variant, and the rest is carried (`next_version`)."""
        for _ in range(PUT_ATTEMPTS):
            head = _read(self._own, head_key(owner, name))
            previous = int(head["Version"]) if head else 0
            version = previous + 1
            live = head if head and not head.get("Archived") else None
            carried = next_version(live, parts, locale)
            item = {"Owner": owner, "TemplateName": name, "Version": version, **carried}
            item["CreatedAt"] = at
            if self._write_version(owner, name, item, previous):
                return version
        raise TemplateConflict(f"template {name!r} is being written by others; try again")

    def _write_version(self, owner: str, name: str, item: dict[str, Any], previous: int) -> bool:
        """The version item and the head, in one transaction; False if another write won."""
        version = version_key(owner, name, item["Version"])
        head = item | head_key(owner, name) | {"UpdatedAt": item["CreatedAt"]}
        head_condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(Sk)"}
        if previous:
            head_condition = {
                "ConditionExpression": "Version = :previous",
                "ExpressionAttributeValues": {":previous": _serialize(previous)},
            }
        try:
            with aws_errors():
                self._client.transact_write_items(
                    TransactItems=[
                        {"Put": self._put(item | version, "attribute_not_exists(Sk)")},
                        {"Put": self._put(head) | head_condition},
                    ]
                )
        except self._client.exceptions.TransactionCanceledException:
            return False
        return True

    def _put(self, item: dict[str, Any], condition: str | None = None) -> dict[str, Any]:
        put: dict[str, Any] = {
            "TableName": self._own.name,
            "Item": {k: _serialize(v) for k, v in item.items()},
        }
        if condition:
            put["ConditionExpression"] = condition
        return put

    def latest(self, owner: str, name: str) -> dict[str, Any] | None:
        """The owner's template (its latest version), unless it has none or it is archived."""
        head = _read(self._own, head_key(owner, name))
        return None if head is None or head.get("Archived") else head

    def version(self, owner: str, name: str, version: int) -> dict[str, Any] | None:
        """A version of the owner's template (None too once the template is archived)."""
        if version < 1 or self.latest(owner, name) is None:
            return None
        return _read(self._own, version_key(owner, name, version))

    def versions(self, owner: str, name: str) -> list[int]:
        prefix = version_key(owner, name, 0)["Sk"][:-6]
        items = self._query(owner, prefix, "Version")
        return sorted(int(item["Version"]) for item in items)

    def owned(self, owner: str) -> list[dict[str, Any]]:
        """The heads of the owner's templates that are not archived, by name."""
        heads = self._query(owner, "T#")
        return sorted((h for h in heads if not h.get("Archived")), key=lambda h: h["TemplateName"])

    def archive(self, owner: str, name: str, at: str) -> bool:
        """Archive the owner's template (its versions stay, unread); False if it has none."""
        try:
            with aws_errors():
                self._own.update_item(
                    Key=head_key(owner, name),
                    UpdateExpression="SET Archived = :yes, UpdatedAt = :at",
                    ConditionExpression="attribute_exists(Sk) AND attribute_not_exists(Archived)",
                    ExpressionAttributeValues={":yes": True, ":at": at},
                )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def shared(self, name: str) -> dict[str, Any] | None:
        return _read(self._shared, {"TemplateName": name})

    def shared_names(self) -> list[str]:
        """Every shared template's name, sorted (the operator's table is small: one scan)."""
        with aws_errors():
            return sorted(
                i["TemplateName"]
                for i in self._shared.scan_all(ProjectionExpression="TemplateName")
            )

    def _query(self, owner: str, prefix: str, projection: str | None = None) -> list[dict]:
        projected = {"ProjectionExpression": projection} if projection else {}
        with aws_errors():
            return list(
                self._own.query_all(
                    KeyConditionExpression="#owner = :owner AND begins_with(Sk, :prefix)",
                    ExpressionAttributeNames={"#owner": "Owner"},
                    ExpressionAttributeValues={":owner": owner, ":prefix": prefix},
                    ConsistentRead=True,
                    **projected,
                )
            )


def _read(table: DynamoTable, key: dict[str, str]) -> dict[str, Any] | None:
    with aws_errors():
        return table.get_item(Key=key, ConsistentRead=True).get("Item")
