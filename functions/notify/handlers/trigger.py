"""POST /trigger and POST /trigger/{name}: a flat record, through the API key's trigger, queued.

API Gateway has checked the API key, its usage plan and the record's model; this maps
the record with the tenant's stored trigger, queues `{"Caller", "Request"}` on the
message queue as `POST /` does, and answers 202 with the trigger's response.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from notify.domain.errors import DeliveryError
from notify.domain.lanes import is_small_request
from notify.domain.tenants import api_key_caller, key_owner
from notify.domain.triggers import (
    REGISTRATION_INVITATION,
    InvalidTrigger,
    RecordRefused,
    Trigger,
    queued_message,
)
from notify.handlers.settings import TriggerSettings
from notify.integration.tenant_store import TenantStore

settings = TriggerSettings.from_env()
logger = Logger()
tracer = Tracer()
sqs = boto3.client("sqs")
triggers = TenantStore(
    boto3.client("dynamodb"), settings.tenants_table, settings.tenant_cache_seconds
)


def trigger_name(request: APIGatewayProxyEvent) -> str:
    """POST /trigger is the trigger registration-invitation; POST /trigger/{name} names one."""
    name = (request.path_parameters or {}).get("name")
    # API Gateway passes path parameters still percent-encoded.
    return REGISTRATION_INVITATION if name is None else unquote(name)


def run(request: APIGatewayProxyEvent, name: str) -> dict[str, Any]:
    context = request.request_context
    # Only routes that require the key reach here: API Gateway has checked it.
    key_id = context.identity.api_key_id
    try:
        definition = triggers.trigger(key_owner(key_id), name)
        trigger = None if definition is None else Trigger.from_definition(name, definition)
    except InvalidTrigger:  # a name no trigger can have, or an item edited by hand
        logger.warning("trigger unusable", exc_info=True, extra={"trigger": name})
        trigger = None
    except DeliveryError as exc:  # the tenants table is throttled or unavailable
        logger.warning("trigger unreadable", extra={"trigger": name, "reason": exc.reason})
        return _answer(503, "The trigger could not be read; retry")
    if trigger is None:
        return _answer(404, "Not Found", f"no trigger {name!r} for this API key")
    try:
        record = request.json_body
        queued = trigger.request(record, context.request_id)
        message = queued_message(api_key_caller(key_id), queued)
    except ValueError as exc:  # RecordRefused, or a body that is not JSON
        reason = str(exc) if isinstance(exc, RecordRefused) else "the body is not JSON"
        return _answer(400, "Invalid request body", reason)
    try:
        sqs.send_message(QueueUrl=queue_for(queued), MessageBody=message)
    except ClientError:
        logger.exception("queue refused the request", extra={"trigger": name})
        return _answer(503, "The queue is unavailable; retry")
    # Names and numbers in the record are personal data: only the ids are logged.
    logger.info("trigger queued", extra={"trigger": name, "trace_id": queued["TraceId"]})
    return _json(202, trigger.accepted(record, queued["TraceId"]))


def queue_for(request: dict[str, Any]) -> str:
    """The batched queue for a small request, the one-per-execution queue for a large one."""
    small = is_small_request(request)
    return settings.message_queue_url if small else settings.large_message_queue_url


def _answer(status: int, message: str, reason: str | None = None) -> dict[str, Any]:
    return _json(status, {"message": message} | ({"reason": reason} if reason else {}))


def _json(status: int, body: Any) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body, separators=(",", ":")),
    }


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = APIGatewayProxyEvent(event)
    return run(request, trigger_name(request))
