"""Reconcile Delivery executions that ended badly: from their status-change events, and a sweep.

EventBridge delivers "Step Functions Execution Status Change" events best effort, so a
scheduled sweep also reconciles every trace still RUNNING past the state machine's
timeout: a lost event loses nothing.
"""

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from notify.domain.reconcile import SWEEP_GRACE_SECONDS, reconcile, stale_before
from notify.domain.schedule import schedule_name
from notify.handlers.settings import ReconcileSettings
from notify.integration.dynamodb_table import DynamoTable
from notify.integration.executions import DeadLetterQueue, describe_execution
from notify.integration.schedules import schedule_exists
from notify.integration.traces.runs import TraceRuns

STATUS_CHANGE = "Step Functions Execution Status Change"

settings = ReconcileSettings.from_env()
logger = Logger()
tracer = Tracer()
sfn = boto3.client("stepfunctions")
traces = TraceRuns.over(
    DynamoTable(boto3.client("dynamodb"), settings.traces_table), settings.retention_days
)
dead_letters = DeadLetterQueue(boto3.client("sqs"), settings.dead_letter_queue_url)
scheduler = boto3.client("scheduler")


def is_scheduled(owner: str, trace_id: str) -> bool:
    return schedule_exists(scheduler, settings.schedule_group, schedule_name(owner, trace_id))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict, context: LambdaContext) -> dict:
    swept = event.get("detail-type") != STATUS_CHANGE
    if not swept:
        arns = [event["detail"]["executionArn"]]
    else:  # the scheduled sweep
        past = settings.execution_timeout_seconds + SWEEP_GRACE_SECONDS
        running = traces.claims.running_before(stale_before(past))
        arns = sorted({item["ExecutionArn"] for item in running})
    results = {}
    for arn in arns:
        execution = describe_execution(sfn, arn)
        results[arn] = reconcile(
            execution, traces, dead_letters, is_scheduled=is_scheduled, swept=swept
        )
        logger.info("execution reconciled", extra={"execution": arn, "result": results[arn]})
    return {"Reconciled": results}
