"""`messaging senders allow|revoke|clear|list`: each tenant's allowed senders.

One item per tenant in the tenants table (Tenant = `customer:<id>` or `user:<sub>`,
Sk = SENDERS) holding string sets; the send functions read it before sending (the
rule is functions/notify/domain/senders.py). An item, even an empty one, is a list in
force; `clear` deletes it and the tenant falls back to the stack's UnlistedTenantSenders.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from cli.errors import CommandError
from cli.output import table, to_json
from cli.target import Context
from notify.domain import senders
from notify.domain.senders import SENDER_LISTS
from notify.domain.tenants import InvalidTenant, parse_owner
from notify.integration.tenant_store import SENDERS_SK

# Each option of allow/revoke (argparse's name), the list it fills, and how it is shown.
OPTIONS = tuple((s.option.replace("-", "_"), s.name, s.label) for s in SENDER_LISTS.values())


def _table(ctx: Context) -> Any:
    target = ctx.target()
    return target.resource("dynamodb").Table(target.output("TenantsTableName"))


def tenant(text: str) -> str:
    """The --tenant value, checked with the tenant rule (`customer:acme`, `user:bob`)."""
    try:
        return parse_owner(text)
    except InvalidTenant as exc:
        raise CommandError(str(exc)) from None


def requested(args: argparse.Namespace) -> dict[str, set[str]]:
    """The senders named by the options, in the form the send functions compare."""
    values: dict[str, set[str]] = {}
    try:
        for option, field, _ in OPTIONS:
            for value in getattr(args, option) or ():
                values.setdefault(field, set()).add(SENDER_LISTS[field].canonical(value))
    except senders.InvalidSender as exc:
        raise CommandError(str(exc)) from None
    if not values:
        options = ", ".join(f"--{s.option}" for s in SENDER_LISTS.values())
        raise CommandError(f"name at least one sender: {options}")
    return values


def allow(args: argparse.Namespace, ctx: Context) -> int:
    owner, values = tenant(args.tenant), requested(args)
    names = {f"#{field}": field for field in values}
    item = _table(ctx).update_item(
        Key={"Tenant": owner, "Sk": SENDERS_SK},
        UpdateExpression="ADD "
        + ", ".join(f"#{field} :{field}" for field in values)
        + " SET UpdatedAt = :now",
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={f":{field}": value for field, value in values.items()}
        | {":now": _now()},
        ReturnValues="ALL_NEW",
    )["Attributes"]
    print(describe(item))
    return 0


def revoke(args: argparse.Namespace, ctx: Context) -> int:
    owner, values = tenant(args.tenant), requested(args)
    try:
        item = _table(ctx).update_item(
            Key={"Tenant": owner, "Sk": SENDERS_SK},
            # Removing the last value leaves the item: the list stays in force, empty.
            UpdateExpression="DELETE "
            + ", ".join(f"#{field} :{field}" for field in values)
            + " SET UpdatedAt = :now",
            ConditionExpression="attribute_exists(Tenant)",
            ExpressionAttributeNames={f"#{field}": field for field in values},
            ExpressionAttributeValues={f":{field}": value for field, value in values.items()}
            | {":now": _now()},
            ReturnValues="ALL_NEW",
        )["Attributes"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            raise CommandError(f"{owner} has no sender list") from None
        raise
    print(describe(item))
    return 0


def clear(args: argparse.Namespace, ctx: Context) -> int:
    owner = tenant(args.tenant)
    response = _table(ctx).delete_item(
        Key={"Tenant": owner, "Sk": SENDERS_SK}, ReturnValues="ALL_OLD"
    )
    if "Attributes" not in response:
        raise CommandError(f"{owner} has no sender list")
    print(f"{owner}: sender list removed; it may now use {_unlisted(ctx)}")
    return 0


def list_senders(args: argparse.Namespace, ctx: Context) -> int:
    items = _items(ctx, tenant(args.tenant) if args.tenant else None)
    if args.json:
        print(to_json([as_document(item) for item in items]))
        return 0
    if args.tenant and not items:
        print(f"{tenant(args.tenant)} has no sender list: it may use {_unlisted(ctx)}")
        return 0
    rows = [
        [item["Tenant"]]
        + [", ".join(sorted(item.get(field, ()))) or "-" for _, field, _ in OPTIONS]
        for item in items
    ]
    headers = ["TENANT"] + [option.replace("_", " ").upper() for option, _, _ in OPTIONS]
    for line in table(headers, rows):
        print(line)
    if not args.tenant:
        print(f"tenants not listed may use {_unlisted(ctx)}")
    return 0


def as_document(item: dict[str, Any]) -> dict[str, Any]:
    """An item as JSON: its tenant and every sender field, as sorted lists."""
    return {"Tenant": item["Tenant"]} | {
        field: sorted(item.get(field, ())) for _, field, _ in OPTIONS
    }


def describe(item: dict[str, Any]) -> str:
    """One line: what the tenant may now send from."""
    parts = [
        f"{label} {', '.join(sorted(item.get(field, ()))) or '-'}" for _, field, label in OPTIONS
    ]
    return f"{item['Tenant']} may send from: " + "; ".join(parts)


def _items(ctx: Context, owner: str | None) -> list[dict[str, Any]]:
    table_ = _table(ctx)
    if owner is not None:
        item = table_.get_item(Key={"Tenant": owner, "Sk": SENDERS_SK}, ConsistentRead=True).get(
            "Item"
        )
        return [item] if item else []
    items: list[dict[str, Any]] = []
    page: dict[str, Any] = {}
    while True:  # a scan returns at most 1 MB per call
        response = table_.scan(FilterExpression=Attr("Sk").eq(SENDERS_SK), **page)
        items += response.get("Items", [])
        if "LastEvaluatedKey" not in response:
            break
        page = {"ExclusiveStartKey": response["LastEvaluatedKey"]}
    return sorted(items, key=lambda item: item["Tenant"])


_UNLISTED_MAY_USE = {
    senders.DEFAULTS: "only the stack's DefaultSenders",
    senders.ANY: "any sender",
    senders.NONE: "no sender",
}


def _unlisted(ctx: Context) -> str:
    mode = ctx.target().outputs.get("UnlistedTenantSenders")
    if mode in _UNLISTED_MAY_USE:
        return f"{_UNLISTED_MAY_USE[mode]} (UnlistedTenantSenders={mode})"
    return "what the stack's UnlistedTenantSenders allows"


def _now() -> str:
    return datetime.now(UTC).isoformat()
