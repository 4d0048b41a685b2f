"""PUT, GET and DELETE /callbacks: the JWT's tenant registers, reads or removes its callback.

The URL is checked as the dispatcher will check it (https, public addresses once
resolved); the secret goes to Secrets Manager and is never answered or logged.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from notify.domain.callback_urls import UnsafeUrl, checked_addresses, parse_callback_url
from notify.domain.callbacks import InvalidRegistration, Unreachable, registration
from notify.domain.errors import DeliveryError
from notify.domain.tenants import owner_of
from notify.handlers.settings import CallbackSettings
from notify.integration.callback_http import resolve
from notify.integration.callback_store import CallbackStore

settings = CallbackSettings.from_env()
logger = Logger()
tracer = Tracer()
store = CallbackStore(
    boto3.client("dynamodb"),
    settings.tenants_table,
    boto3.client("secretsmanager"),
    settings.secret_prefix,
)


def put(owner: str, body: Any) -> dict[str, Any]:
    try:
        wanted = registration(body, settings.loopback_allowed)
        url = parse_callback_url(wanted.url, settings.loopback_allowed)
        checked_addresses(url, resolve, settings.loopback_allowed)
    except (InvalidRegistration, UnsafeUrl, Unreachable) as exc:
        return _json(400, {"message": "Invalid callback", "reason": str(exc)})
    at = datetime.now(UTC).isoformat(timespec="seconds")
    store.put(owner, wanted.url, wanted.secret, at)
    logger.info("callback registered", extra={"tenant": owner, "host": url.host})
    return _json(200, {"Url": wanted.url, "UpdatedAt": at})


def get(owner: str) -> dict[str, Any]:
    found = store.get(owner)
    return _json(200, found) if found else _not_found()


def delete(owner: str) -> dict[str, Any]:
    if not store.delete(owner):
        return _not_found()
    logger.info("callback deleted", extra={"tenant": owner})
    return {"statusCode": 204, "headers": {}, "body": ""}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = APIGatewayProxyEvent(event)
    owner = owner_of(request.request_context.authorizer)
    try:
        if request.http_method == "PUT":
            try:
                body = json.loads(request.body or "")
            except ValueError:
                return _json(400, {"message": "Invalid callback", "reason": "the body is not JSON"})
            return put(owner, body)
        return get(owner) if request.http_method == "GET" else delete(owner)
    except DeliveryError as exc:  # the table or Secrets Manager throttled or unavailable
        logger.warning("callback store unavailable", extra={"reason": exc.reason})
        return _json(503, {"message": "The callback could not be stored or read; retry"})


def _not_found() -> dict[str, Any]:
    return _json(404, {"message": "Not Found", "reason": "no callback is registered"})


def _json(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body, separators=(",", ":")),
    }
