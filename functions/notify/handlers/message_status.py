"""A caller's trace, its overall status and each recipient's.

GET /messages/{TraceId} for a JWT's tenant; GET /requests/{request_id} for an API key's
(what POST /trigger answered as request_id: the TraceId it queued).
"""

from urllib.parse import unquote

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from notify.domain.status import not_found, owner_of, trace_view
from notify.domain.tenants import key_owner
from notify.handlers.settings import StatusSettings
from notify.integration.dynamodb_table import DynamoTable
from notify.integration.trace_store import TraceStore

settings = StatusSettings.from_env()
logger = Logger()
tracer = Tracer()
# Reads only: the retention period is for writers.
store = TraceStore(DynamoTable(boto3.client("dynamodb"), settings.traces_table), retention_days=0)
app = APIGatewayRestResolver()


@app.get("/messages/<trace_id>")
@tracer.capture_method
def message_status(trace_id: str) -> Response:
    return _status(trace_id, owner_of(app.current_event.request_context.authorizer))


@app.get("/requests/<request_id>")
@tracer.capture_method
def request_status(request_id: str) -> Response:
    # The route requires the API key, so API Gateway names the key that called.
    return _status(request_id, key_owner(app.current_event.request_context.identity.api_key_id))


def _status(trace_id: str, owner: str) -> Response:
    # API Gateway passes path parameters still percent-encoded (a TraceId may hold "/").
    trace_id = unquote(trace_id)
    view = trace_view(trace_id, *store.read(trace_id, owner))
    if view is None:
        return Response(404, content_types.APPLICATION_JSON, not_found(trace_id))
    return Response(200, content_types.APPLICATION_JSON, view)


@logger.inject_lambda_context(
    correlation_id_path="pathParameters.TraceId || pathParameters.request_id"
)
@tracer.capture_lambda_handler
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
