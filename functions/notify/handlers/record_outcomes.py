"""After each Map: record the outcomes on each trace, count them, flag the exhausted."""

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from notify.domain.outcomes import (
    RecipientsExhausted,
    by_trace,
    count_by_channel,
    exhausted,
    with_tried,
)
from notify.handlers.settings import TraceSettings
from notify.integration.dynamodb_table import DynamoTable
from notify.integration.trace_store import TraceStore

settings = TraceSettings.from_env()
logger = Logger()
tracer = Tracer()
store = TraceStore(
    DynamoTable(boto3.client("dynamodb"), settings.traces_table), settings.retention_days
)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict, context: LambdaContext) -> dict:
    outcomes = with_tried(event["Outcomes"]) + event.get("Rejected", [])
    for (trace_id, owner), recorded in by_trace(outcomes).items():
        logger.set_correlation_id(trace_id)
        status = store.record(trace_id, owner, recorded, event["ExecutionArn"])
        logger.info("outcomes recorded", extra={"status": status, "recipients": len(recorded)})
    for (channel, outcome), count in count_by_channel(outcomes).items():
        # One metric set per channel (its dimension); honours POWERTOOLS_METRICS_DISABLED.
        metrics = EphemeralMetrics(namespace=settings.metrics_namespace)
        metrics.add_dimension(name="Channel", value=channel)
        metrics.add_metric(name=f"Recipients{outcome.title()}", unit=MetricUnit.Count, value=count)
        metrics.flush_metrics()
    failed = exhausted(outcomes)
    if failed:
        raise RecipientsExhausted(f"{len(failed)} recipient(s) exhausted their retries")
    # The execution's output: what a synchronous (EXPRESS) pipe must give back to the queue.
    return {"batchItemFailures": event.get("BatchItemFailures", [])}
