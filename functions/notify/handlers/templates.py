"""The templates API for a JWT's tenant: PUT/GET/DELETE /templates/{name}, GET /templates,
GET /templates/{name}/versions/{n}, POST /templates/{name}/preview.

A tenant sees and writes only its own templates (another tenant's is 404), and reads the
operator's shared ones beside them (`Shared: true`); its own of a name wins. Every PUT is
a new immutable version; DELETE archives (later sends naming it are TemplateNotFound).
A PUT naming a `Locale` writes that variant into the new version (domain/templates).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from notify.domain.errors import TEMPLATE_NOT_FOUND, PermanentError
from notify.domain.preview import MissingVariables, PreviewRequest, preview
from notify.domain.schedule import stamp
from notify.domain.status import owner_of
from notify.domain.templates import (
    LOCALE_FIELD,
    TEMPLATE_FIELDS,
    VARIANTS_FIELD,
    InvalidTemplate,
    check_name,
    template_write,
)
from notify.handlers.settings import TemplatesSettings
from notify.integration.template_store import (
    DynamoTemplateStore,
    TemplateConflict,
    TenantTemplates,
)

settings = TemplatesSettings.from_env()
logger = Logger()
tracer = Tracer()
dynamodb = boto3.client("dynamodb")
store = TenantTemplates(dynamodb, settings.tenant_templates_table, settings.templates_table)
# The send path's own read, uncached: a preview renders what was just written.
renders = DynamoTemplateStore(
    dynamodb, settings.templates_table, 0, tenant_table=settings.tenant_templates_table
)
app = APIGatewayRestResolver()


@app.put("/templates/<name>")
def put(name: str) -> Response:
    try:
        parts, locale = template_write(app.current_event.json_body)
        check_name(name)
        version = store.put(_owner(), name, parts, stamp(datetime.now(UTC)), locale)
    except InvalidTemplate as exc:
        return _answer(400, {"message": "Bad Request", "reason": str(exc)})
    except TemplateConflict as exc:
        return _answer(409, {"message": "Conflict", "reason": str(exc)})
    logger.info("template stored", extra={"template": name, "version": version, "locale": locale})
    variant = {LOCALE_FIELD: locale} if locale else {}
    return _answer(201 if version == 1 else 200, {"Name": name, "Version": version, **variant})


@app.get("/templates")
def listed() -> Response:
    own = store.owned(_owner())
    names = {head["TemplateName"] for head in own}
    shared = [{"Name": n, "Shared": True} for n in store.shared_names() if n not in names]
    views = [_summary(head) for head in own] + shared
    return _answer(200, {"Templates": sorted(views, key=lambda view: view["Name"])})


@app.get("/templates/<name>")
def latest(name: str) -> Response:
    owner = _owner()
    head = store.latest(owner, name)
    if head is not None:
        return _answer(200, _view(head) | {"Versions": store.versions(owner, name)})
    shared = store.shared(name)
    if shared is None:
        return _not_found(name)
    return _answer(200, _view(shared) | {"Shared": True, "Versions": []})


@app.get("/templates/<name>/versions/<version>")
def version(name: str, version: str) -> Response:
    item = store.version(_owner(), name, int(version)) if version.isdigit() else None
    if item is None:
        return _not_found(f"{name} version {version}")
    return _answer(200, _view(item))


@app.delete("/templates/<name>")
def archive(name: str) -> Response:
    if store.archive(_owner(), name, stamp(datetime.now(UTC))):
        return _answer(200, {"Name": name, "Archived": True})
    if store.shared(name) is not None:
        reason = f"template {name!r} is shared: only the operator changes it"
        return _answer(403, {"message": "Forbidden", "reason": reason})
    return _not_found(name)


@app.post("/templates/<name>/preview")
def preview_of(name: str) -> Response:
    body = app.current_event.json_body or {}
    request = PreviewRequest(
        name,
        body.get("ChannelType"),
        body.get("Substitutions"),
        body.get("Version"),
        body.get(LOCALE_FIELD),
    )
    try:
        return _answer(200, preview(renders, _owner(), request))
    except MissingVariables as exc:
        answer = {"message": "Bad Request", "reason": str(exc), "Missing": exc.missing}
        return _answer(400, answer)
    except PermanentError as exc:  # as a send would be refused
        if exc.reason == TEMPLATE_NOT_FOUND:
            pinned = f" version {request.version}" if request.version is not None else ""
            return _not_found(name + pinned)
        return _answer(400, {"message": "Bad Request", "reason": str(exc)})
    except KeyError as exc:  # an unknown ChannelType (the API's model refuses it first)
        return _answer(400, {"message": "Bad Request", "reason": str(exc.args[0])})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


def _owner() -> str:
    return owner_of(app.current_event.request_context.authorizer)


def _view(item: dict[str, Any]) -> dict[str, Any]:
    """A template (or one version) by its API names."""
    view: dict[str, Any] = {"Name": item["TemplateName"]}
    if "Version" in item:
        view["Version"] = int(item["Version"])
    view |= {field: item[field] for field in TEMPLATE_FIELDS if field in item}
    if item.get(VARIANTS_FIELD):
        view[VARIANTS_FIELD] = sorted(item[VARIANTS_FIELD])
    for stamped in ("CreatedAt", "UpdatedAt"):
        if stamped in item:
            view[stamped] = item[stamped]
    return view


def _summary(head: dict[str, Any]) -> dict[str, Any]:
    return {
        "Name": head["TemplateName"],
        "Version": int(head["Version"]),
        "UpdatedAt": head.get("UpdatedAt"),
        "Shared": False,
    }


def _not_found(what: str) -> Response:
    reason = f"no template {what!r} of this caller or shared"
    return _answer(404, {"message": "Not Found", "reason": reason})


def _answer(status: int, body: dict[str, Any]) -> Response:
    return Response(status, "application/json", json.dumps(body, separators=(",", ":")))
