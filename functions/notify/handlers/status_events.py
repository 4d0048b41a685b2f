"""The traces table's stream -> MessageStatus events on the status bus.

Each write of a recipient item that changes its status or its delivery status becomes
one event (domain/status_events.py). Records are processed in batches with partial
failures: a record whose events EventBridge refuses is reported alone, and the event
source retries from it (bisecting a failing batch) until its on-failure destination.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from notify.domain.status_events import plain, status_events
from notify.handlers.settings import StatusEventsSettings
from notify.integration.status_events import StatusEventPublisher

settings = StatusEventsSettings.from_env()
logger = Logger()
tracer = Tracer()
publisher = StatusEventPublisher(boto3.client("events"), settings.event_bus)


def handle_record(record: DynamoDBRecord) -> int:
    stream = record.dynamodb
    created = stream.approximate_creation_date_time if stream else None
    at = datetime.fromtimestamp(created or 0, UTC).isoformat() if created else ""
    old = plain(stream.old_image) if stream and stream.old_image else None
    new = plain(stream.new_image) if stream and stream.new_image else None
    events = status_events(old, new, at)
    if events:
        publisher.publish(events)
        _count(events)
    return len(events)


def _count(events: list[dict[str, Any]]) -> None:
    for event in events:
        # One metric set per (channel, status); honours POWERTOOLS_METRICS_DISABLED.
        metrics = EphemeralMetrics(namespace=settings.metrics_namespace)
        metrics.add_dimension(name="Channel", value=event["Channel"])
        metrics.add_dimension(name="Status", value=event["Status"])
        metrics.add_metric(name="StatusEvents", unit=MetricUnit.Count, value=1)
        metrics.flush_metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    processor = BatchProcessor(
        event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False
    )
    return process_partial_response(
        event=event, record_handler=handle_record, processor=processor, context=context
    )
