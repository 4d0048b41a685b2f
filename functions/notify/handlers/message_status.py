"""A caller's trace, its overall status and each recipient's.

GET /messages/{TraceId} for a JWT's tenant; GET /requests/{request_id} for an API key's
(what POST /trigger answered as request_id: the TraceId it queued).
"""

import json
from typing import Any
from urllib.parse import unquote

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from notify.domain.status import not_found, owner_of, trace_view
from notify.domain.tenants import key_owner
from notify.handlers.settings import StatusSettings
from notify.integration.dynamodb_table import DynamoTable
from notify.integration.traces.reads import TraceReader

settings = StatusSettings.from_env()
logger = Logger()
tracer = Tracer()
store = TraceReader(DynamoTable(boto3.client("dynamodb"), settings.traces_table))
KEY_ROUTE = "/requests/{request_id}"


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = APIGatewayProxyEvent(event)
    if request.resource == KEY_ROUTE:
        # The route requires the API key, so API Gateway names the key that called.
        owner = key_owner(request.request_context.identity.api_key_id)
        trace_id = request.path_parameters["request_id"]
    else:  # GET /messages/{TraceId}, for the JWT's tenant
        owner = owner_of(request.request_context.authorizer)
        trace_id = request.path_parameters["TraceId"]
    # API Gateway passes path parameters still percent-encoded (a TraceId may hold "/").
    trace_id = unquote(trace_id)
    logger.set_correlation_id(trace_id)
    view = trace_view(trace_id, *store.read(trace_id, owner))
    if view is None:
        return _response(404, not_found(trace_id))
    return _response(200, view)


def _response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body, separators=(",", ":")),
    }
