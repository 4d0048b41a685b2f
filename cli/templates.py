"""`messaging templates put|get|list|delete`: the templates table, one item per name."""

from __future__ import annotations

import argparse
from typing import Any

from cli.api import read_text
from cli.errors import CommandError
from cli.output import to_json
from cli.target import Context, Target

# DynamoDB's item size limit; a put over it would fail with a ValidationException.
MAX_ITEM_BYTES = 400 * 1024


def _table(ctx: Context) -> Any:
    return templates_table(ctx.target())


def templates_table(target: Target) -> Any:
    return target.resource("dynamodb").Table(target.output("TemplatesTableName"))


def template_item(args: argparse.Namespace) -> dict[str, str]:
    """The item `templates put` stores, from --body/--file, --subject, --html, --text."""
    item = {"TemplateName": args.name}
    if args.body is not None:
        item["MessageBody"] = args.body
    elif args.file is not None:
        item["MessageBody"] = read_text(args.file)
    if args.subject is not None:
        item["Subject"] = args.subject
    if args.html is not None:
        item["HtmlBody"] = read_text(args.html)
    if args.text is not None:
        item["TextBody"] = read_text(args.text)
    if len(item) == 1 or set(item) == {"TemplateName", "Subject"}:
        raise CommandError("a template needs a body: --body, --file, --html or --text")
    size = item_size(item)
    if size > MAX_ITEM_BYTES:
        raise CommandError(
            f"template {args.name} is {size} bytes; a DynamoDB item holds at most "
            f"{MAX_ITEM_BYTES} bytes (400 KB): shorten the body or split the template"
        )
    return item


def item_size(item: dict[str, str]) -> int:
    """DynamoDB's size of an item of strings: every name and value in UTF-8 bytes."""
    return sum(len(name.encode()) + len(value.encode()) for name, value in item.items())


def put(args: argparse.Namespace, ctx: Context) -> int:
    item = template_item(args)
    _table(ctx).put_item(Item=item)
    print(f"stored template {args.name} ({', '.join(k for k in item if k != 'TemplateName')})")
    return 0


def get(args: argparse.Namespace, ctx: Context) -> int:
    item = _table(ctx).get_item(Key={"TemplateName": args.name}, ConsistentRead=True).get("Item")
    if item is None:
        raise CommandError(f"no template {args.name}")
    print(to_json(item))
    return 0


def list_names(args: argparse.Namespace, ctx: Context) -> int:
    for name in template_names(_table(ctx)):
        print(name)
    return 0


def template_names(table: Any) -> list[str]:
    """Every template's name, sorted."""
    names: list[str] = []
    page: dict[str, Any] = {}
    while True:  # a scan returns at most 1 MB per call
        response = table.scan(ProjectionExpression="TemplateName", **page)
        names += [item["TemplateName"] for item in response.get("Items", [])]
        if "LastEvaluatedKey" not in response:
            break
        page = {"ExclusiveStartKey": response["LastEvaluatedKey"]}
    return sorted(names)


def delete(args: argparse.Namespace, ctx: Context) -> int:
    response = _table(ctx).delete_item(Key={"TemplateName": args.name}, ReturnValues="ALL_OLD")
    if "Attributes" not in response:
        raise CommandError(f"no template {args.name}")
    print(f"deleted template {args.name}")
    return 0
