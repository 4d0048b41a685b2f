"""`messaging triggers put|get|list|delete`: each API key's named triggers.

One item per trigger in the tenants table (Tenant = `key:<api key id>`, Sk =
`TRIGGER#<name>`), its definition as JSON (functions/notify/domain/triggers.py);
`POST /trigger/{name}` with that key runs it, `POST /trigger` runs
`registration-invitation`. `--tenant` defaults to the stack's own key (`ApiKeyId`).
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, Key

from cli.api import read_json
from cli.errors import CommandError
from cli.output import table, to_json
from cli.senders import tenant
from cli.target import Context
from notify.domain.channels import CHANNELS
from notify.domain.tenants import key_owner
from notify.domain.triggers import InvalidTrigger, Trigger
from notify.integration.tenant_store import (
    DEFINITION,
    TRIGGER_SK_PREFIX,
    trigger_item,
    trigger_sort_key,
)


def _table(ctx: Context) -> Any:
    target = ctx.target()
    return target.resource("dynamodb").Table(target.output("TenantsTableName"))


def owner(args: argparse.Namespace, ctx: Context) -> str:
    """--tenant, else the tenant of the stack's default API key."""
    if args.tenant:
        return tenant(args.tenant)
    return key_owner(ctx.target().output("ApiKeyId"))


def put(args: argparse.Namespace, ctx: Context) -> int:
    try:
        trigger = Trigger.from_definition(args.name, read_json(args.file))
    except InvalidTrigger as exc:
        raise CommandError(f"trigger {args.name}: {exc}") from None
    who = owner(args, ctx)
    _table(ctx).put_item(Item=trigger_item(who, trigger, datetime.now(UTC).isoformat()))
    print(f"stored trigger {args.name} for {who}: {describe(trigger)}")
    return 0


def get(args: argparse.Namespace, ctx: Context) -> int:
    print(to_json(_definition(_get_item(args, ctx))))
    return 0


def delete(args: argparse.Namespace, ctx: Context) -> int:
    who = owner(args, ctx)
    response = _table(ctx).delete_item(
        Key={"Tenant": who, "Sk": _sort_key(args.name)}, ReturnValues="ALL_OLD"
    )
    if "Attributes" not in response:
        raise CommandError(f"{who} has no trigger {args.name}")
    print(f"deleted trigger {args.name} of {who}")
    return 0


def list_triggers(args: argparse.Namespace, ctx: Context) -> int:
    items = _items(ctx, tenant(args.tenant) if args.tenant else None)
    if args.json:
        print(
            to_json(
                [
                    {"Tenant": i["Tenant"], "Name": i["Name"], "Definition": _definition(i)}
                    for i in items
                ]
            )
        )
        return 0
    rows = [
        [
            item["Tenant"],
            item["Name"],
            describe(Trigger.from_definition(item["Name"], _definition(item))),
        ]
        for item in items
    ]
    for line in table(["TENANT", "NAME", "SENDS"], rows):
        print(line)
    return 0


def describe(trigger: Trigger) -> str:
    """One line: who gets what, e.g. `WHATSAPP to parent_tel (template registration-invitation)`."""
    parts = []
    for recipient in trigger.recipients:
        block = trigger.messages[CHANNELS[recipient.channel].block]
        body = (
            f"template {block['TemplateName']}"
            if "TemplateName" in block
            else ("inline body" if "MessageBody" in block or "HtmlBody" in block else "default")
        )
        when = ", if present" if recipient.optional else ""
        parts.append(f"{recipient.channel} to {recipient.address_field} ({body}{when})")
    return "; ".join(parts)


def _get_item(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    who = owner(args, ctx)
    item = (
        _table(ctx)
        .get_item(Key={"Tenant": who, "Sk": _sort_key(args.name)}, ConsistentRead=True)
        .get("Item")
    )
    if item is None:
        raise CommandError(f"{who} has no trigger {args.name}")
    return item


def _sort_key(name: str) -> str:
    try:
        return trigger_sort_key(name)
    except InvalidTrigger as exc:
        raise CommandError(str(exc)) from None


def _definition(item: dict[str, Any]) -> dict[str, Any]:
    return json.loads(item[DEFINITION])


def _items(ctx: Context, who: str | None) -> list[dict[str, Any]]:
    table_ = _table(ctx)
    items: list[dict[str, Any]] = []
    page: dict[str, Any] = {}
    while True:  # a page holds at most 1 MB
        if who is not None:
            condition = Key("Tenant").eq(who) & Key("Sk").begins_with(TRIGGER_SK_PREFIX)
            response = table_.query(KeyConditionExpression=condition, **page)
        else:
            response = table_.scan(
                FilterExpression=Attr("Sk").begins_with(TRIGGER_SK_PREFIX), **page
            )
        items += response.get("Items", [])
        if "LastEvaluatedKey" not in response:
            break
        page = {"ExclusiveStartKey": response["LastEvaluatedKey"]}
    return sorted(items, key=lambda item: (item["Tenant"], item["Name"]))
