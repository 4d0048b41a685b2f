"""CallbacksQueue -> each status event POSTed, signed, to its tenant's callback.

A record that should be retried is reported as a batch item failure and hidden for an
exponentially growing time (by its receive count), so a dead receiver's events wait
without holding up anyone else's; after the queue's maxReceiveCount (about 24 hours of
attempts) SQS moves it to CallbacksDeadLetterQueue.
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import urllib3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from notify.domain.callbacks import Dispatcher, Verdict, retry_delay
from notify.handlers.settings import CallbackSettings, DispatchSettings
from notify.integration.callback_http import GuardedPoster
from notify.integration.callback_store import CallbackStore

callbacks = CallbackSettings.from_env()
settings = DispatchSettings.from_env()
logger = Logger()
tracer = Tracer()
sqs = boto3.client("sqs")
store = CallbackStore(
    boto3.client("dynamodb"),
    callbacks.tenants_table,
    boto3.client("secretsmanager"),
    callbacks.secret_prefix,
    ttl_seconds=settings.tenant_cache_seconds,
)
# Connecting gets a third of the time, answering the rest.
TIMEOUT = urllib3.Timeout(
    connect=settings.timeout_seconds / 3, read=settings.timeout_seconds * 2 / 3
)
poster = GuardedPoster(callbacks.loopback_allowed, TIMEOUT)


class RetryLater(Exception):
    """The receiver should be tried again; the record was hidden for its backoff."""


def handle_record(record: SQSRecord, dispatcher: Dispatcher) -> str:
    detail = json.loads(record.body)["detail"]
    logger.set_correlation_id(detail.get("TraceId"))
    outcome = dispatcher.deliver(detail)
    _count(outcome.verdict)
    log = {"event_id": detail["EventId"], "tenant": detail["Tenant"], "result": outcome.detail}
    if outcome.verdict is not Verdict.RETRY:
        logger.info(f"callback {outcome.verdict.value}", extra=log)
        return outcome.verdict.value
    receives = int(record.attributes.approximate_receive_count)
    delay = retry_delay(receives, settings.retry_base_seconds, settings.retry_max_seconds)
    sqs.change_message_visibility(
        QueueUrl=settings.queue_url, ReceiptHandle=record.receipt_handle, VisibilityTimeout=delay
    )
    logger.warning("callback to retry", extra=log | {"receives": receives, "delay": delay})
    raise RetryLater(f"{outcome.detail}; next attempt in {delay} s")


def _count(verdict: Verdict) -> None:
    metrics = EphemeralMetrics(namespace=settings.metrics_namespace)
    name = {
        Verdict.DELIVERED: "CallbacksDelivered",
        Verdict.RETRY: "CallbacksRetried",
        Verdict.REFUSED: "CallbacksRefused",
        Verdict.DROPPED: "CallbacksDropped",
    }[verdict]
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # One dispatcher per batch: a receiver that timed out is not called again in it.
    dispatcher = Dispatcher(store, poster, time.time)
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(
        event=event,
        record_handler=lambda record: handle_record(record, dispatcher),
        processor=processor,
        context=context,
    )
