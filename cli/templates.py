"""`messaging templates put|get|list|versions|preview|delete`.

Without `--tenant`: the shared templates (the operator's table, one unversioned item per
name, as before). With `--tenant customer:acme`: that tenant's own templates, written
directly through the store the templates API uses (every put a new version, delete
archives); `--locale fr` puts that variant (shared templates have none).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from cli.api import read_text
from cli.errors import CommandError
from cli.output import to_json
from cli.senders import tenant as checked_tenant
from cli.target import Context, Target
from notify.domain.errors import PermanentError
from notify.domain.preview import MissingVariables, PreviewRequest, preview
from notify.domain.templates import InvalidTemplate, check_locale, check_name, template_parts
from notify.integration.template_store import DynamoTemplateStore, TenantTemplates

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


def tenant_store(target: Target) -> TenantTemplates:
    return TenantTemplates(
        target.client("dynamodb"),
        target.output("TenantTemplatesTableName"),
        target.output("TemplatesTableName"),
    )


def _owner(args: argparse.Namespace) -> str | None:
    return checked_tenant(args.tenant) if getattr(args, "tenant", None) else None


def locale_tag(text: str) -> str:
    """--locale's type: a language tag as the API takes it."""
    try:
        return check_locale(text)
    except InvalidTemplate as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def put(args: argparse.Namespace, ctx: Context) -> int:
    item = template_item(args)
    owner = _owner(args)
    if args.locale and not owner:
        raise CommandError("--locale needs --tenant: shared templates have no locale variants")
    if owner:
        parts = {k: v for k, v in item.items() if k != "TemplateName"}
        try:
            check_name(args.name)
            version = tenant_store(ctx.target()).put(
                owner,
                args.name,
                template_parts(parts),
                datetime.now(UTC).isoformat(),
                args.locale,
            )
        except InvalidTemplate as exc:
            raise CommandError(str(exc)) from None
        variant = f" ({args.locale})" if args.locale else ""
        print(f"stored template {args.name}{variant} version {version} of {owner}")
        return 0
    _table(ctx).put_item(Item=item)
    print(f"stored template {args.name} ({', '.join(k for k in item if k != 'TemplateName')})")
    return 0


def get(args: argparse.Namespace, ctx: Context) -> int:
    owner = _owner(args)
    if owner:
        print(to_json(_tenant_template(tenant_store(ctx.target()), owner, args)))
        return 0
    item = _table(ctx).get_item(Key={"TemplateName": args.name}, ConsistentRead=True).get("Item")
    if item is None:
        raise CommandError(f"no template {args.name}")
    print(to_json(item))
    return 0


def _tenant_template(store: TenantTemplates, owner: str, args: argparse.Namespace) -> dict:
    """The tenant's template (its --version, else the latest with its Versions)."""
    if args.version is not None:
        item = store.version(owner, args.name, args.version)
        if item is None:
            raise CommandError(f"no version {args.version} of template {args.name} of {owner}")
        return _shown(item)
    head = store.latest(owner, args.name)
    if head is None:
        raise CommandError(f"no template {args.name} of {owner}")
    return _shown(head) | {"Versions": store.versions(owner, args.name)}


def _shown(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("Owner", "Sk")}


def list_names(args: argparse.Namespace, ctx: Context) -> int:
    owner = _owner(args)
    if owner:
        store = tenant_store(ctx.target())
        own = store.owned(owner)
        for head in own:
            print(f"{head['TemplateName']}  v{int(head['Version'])}")
        names = {head["TemplateName"] for head in own}
        for name in store.shared_names():
            if name not in names:
                print(f"{name}  (shared)")
        return 0
    for name in template_names(_table(ctx)):
        print(name)
    return 0


def versions(args: argparse.Namespace, ctx: Context) -> int:
    owner = checked_tenant(args.tenant)
    store = tenant_store(ctx.target())
    if store.latest(owner, args.name) is None:
        raise CommandError(f"no template {args.name} of {owner}")
    for version in store.versions(owner, args.name):
        print(version)
    return 0


def preview_template(args: argparse.Namespace, ctx: Context) -> int:
    """Render the template as a send by --tenant (else any tenant, shared only) would."""
    target = ctx.target()
    reads = DynamoTemplateStore(
        target.client("dynamodb"),
        target.output("TemplatesTableName"),
        0,
        tenant_table=target.output("TenantTemplatesTableName"),
    )
    unpaired = [pair for pair in args.sub or [] if "=" not in pair]
    if unpaired:
        raise CommandError(f"--sub takes NAME=VALUE, not {unpaired[0]!r}")
    values = dict(pair.split("=", 1) for pair in args.sub or [])
    request = PreviewRequest(args.name, args.channel, values, args.version, args.locale)
    try:
        shown = preview(reads, _owner(args), request)
    except (MissingVariables, PermanentError) as exc:
        raise CommandError(str(exc)) from None
    print(to_json(shown))
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
    owner = _owner(args)
    if owner:
        if not tenant_store(ctx.target()).archive(owner, args.name, datetime.now(UTC).isoformat()):
            raise CommandError(f"no template {args.name} of {owner}")
        print(f"archived template {args.name} of {owner}")
        return 0
    response = _table(ctx).delete_item(Key={"TemplateName": args.name}, ReturnValues="ALL_OLD")
    if "Attributes" not in response:
        raise CommandError(f"no template {args.name}")
    print(f"deleted template {args.name}")
    return 0
