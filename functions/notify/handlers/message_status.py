"""GET /messages/{TraceId}: the caller's trace, its overall status and each recipient's."""

from urllib.parse import unquote

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from notify.domain.status import not_found, owner_of, trace_view
from notify.handlers.settings import StatusSettings
from notify.integration.trace_store import TraceStore

settings = StatusSettings.from_env()
logger = Logger()
tracer = Tracer()
# Reads only: the retention period is for writers.
store = TraceStore(boto3.resource("dynamodb").Table(settings.traces_table), retention_days=0)
app = APIGatewayRestResolver()


@app.get("/messages/<trace_id>")
@tracer.capture_method
def message_status(trace_id: str) -> Response:
    # API Gateway passes path parameters still percent-encoded (a TraceId may hold "/").
    trace_id = unquote(trace_id)
    owner = owner_of(app.current_event.request_context.authorizer)
    view = trace_view(trace_id, *store.read(trace_id, owner))
    if view is None:
        return Response(404, content_types.APPLICATION_JSON, not_found(trace_id))
    return Response(200, content_types.APPLICATION_JSON, view)


@logger.inject_lambda_context(correlation_id_path="pathParameters.TraceId")
@tracer.capture_lambda_handler
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
