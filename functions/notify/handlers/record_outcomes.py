"""After each Map: record outcomes on the trace, count them, name those to retry once more."""

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from notify.domain.outcomes import count_by_channel, exhausted
from notify.handlers.settings import TraceSettings
from notify.integration.trace_store import TraceStore

settings = TraceSettings.from_env()
logger = Logger()
tracer = Tracer()
store = TraceStore(boto3.resource("dynamodb").Table(settings.traces_table), settings.retention_days)


@logger.inject_lambda_context(correlation_id_path="TraceId")
@tracer.capture_lambda_handler
def handler(event: dict, context: LambdaContext) -> dict:
    outcomes = event["Outcomes"]
    status = store.record(event["TraceId"], event["Owner"], outcomes, event["ExecutionArn"])
    for (channel, outcome), count in count_by_channel(outcomes).items():
        name = f"Recipients{outcome.title()}"
        namespace = settings.metrics_namespace
        with single_metric(name, MetricUnit.Count, count, namespace=namespace) as metric:
            metric.add_dimension(name="Channel", value=channel)
    logger.info("outcomes recorded", extra={"status": status, "recipients": len(outcomes)})
    failed = exhausted(outcomes)
    return {"Status": status, "AnyExhausted": bool(failed), "Failed": failed}
