"""DELETE /messages/{TraceId}: cancel what the JWT tenant's trace has not sent yet."""

import json
from typing import Any
from urllib.parse import unquote

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from notify.domain.cancel import answer, cancellable, channel_chains, statuses, verdict
from notify.domain.outcomes import CANCELLED, FAILED, SCHEDULED
from notify.domain.schedule import schedule_name
from notify.domain.status import not_found, owner_of
from notify.handlers.settings import CancelSettings
from notify.integration.dynamodb_table import DynamoTable
from notify.integration.schedules import SendSchedules
from notify.integration.traces.attempts import AttemptStore
from notify.integration.traces.claims import ClaimStore
from notify.integration.traces.reads import TraceReader

settings = CancelSettings.from_env()
logger = Logger()
tracer = Tracer()
traces_table = DynamoTable(boto3.client("dynamodb"), settings.traces_table)
reads = TraceReader(traces_table)
claims = ClaimStore(traces_table, settings.retention_days)
attempts = AttemptStore(traces_table, settings.retention_days)
# Deletes only: a cancel never creates a schedule, so it passes no role.
schedules = SendSchedules(boto3.client("scheduler"), settings.schedule_group, "", "")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = APIGatewayProxyEvent(event)
    owner = owner_of(request.request_context.authorizer)
    # API Gateway passes path parameters still percent-encoded (a TraceId may hold "/").
    trace_id = unquote(request.path_parameters["TraceId"])
    logger.set_correlation_id(trace_id)
    header, items = reads.read(trace_id, owner)
    if header is None:
        return _response(404, not_found(trace_id))
    status, unscheduled = header.get("Status"), False
    if status == SCHEDULED and claims.cancel_scheduled(trace_id, owner):
        unscheduled = True
        # Cancelled first: a schedule that fires meanwhile finds nothing to claim. A
        # fallback's continuation has a schedule named by its time as well.
        for name in {
            schedule_name(owner, trace_id),
            schedule_name(owner, trace_id, header.get("SendAt", "")),
        }:
            schedules.delete(name)
        status = CANCELLED
    elif status == SCHEDULED:  # its schedule fired meanwhile: cancel it as a running one
        header, items = reads.read(trace_id, owner)
        status = (header or {}).get("Status")
    verdicts = cancel_recipients(trace_id, owner, header, items)
    code, body = answer(trace_id, status or "", verdicts, unscheduled)
    if code == 200 and status == FAILED and claims.end_cancelled(trace_id, owner, FAILED):
        body["Status"] = CANCELLED  # its dead letters, if redriven, now send nothing
    logger.info("cancel", extra={"status": code, "cancelled": len(body["Cancelled"])})
    return _response(code, body)


def cancel_recipients(
    trace_id: str, owner: str, header: dict[str, Any] | None, items: list[dict[str, Any]]
) -> list[tuple[tuple[str, str], str]]:
    """Each recipient (its first channel) with what cancelling its channels did."""
    known = statuses(items)
    verdicts = []
    for chain in channel_chains(header or {}, items):
        done = [attempts.cancel_recipient(trace_id, owner, *c) for c in cancellable(chain, known)]
        verdicts.append((chain[0], verdict(chain, known, done)))
    return verdicts


def _response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body, separators=(",", ":")),
    }
