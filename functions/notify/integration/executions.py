"""Step Functions executions as the reconciler reads them, and the queue it dead-letters to."""

from __future__ import annotations

from typing import Any

from notify.domain.reconcile import Execution
from notify.integration.aws_errors import aws_errors


def describe_execution(sfn: Any, arn: str) -> Execution:
    with aws_errors():
        described = sfn.describe_execution(executionArn=arn)
    return Execution(
        arn=arn,
        status=described["status"],
        input=described.get("input", "[]"),
        error=described.get("error"),
        cause=described.get("cause"),
    )


class DeadLetterQueue:
    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self._queue_url = queue_url

    def send(self, message: dict[str, Any]) -> None:
        with aws_errors():
            self._sqs.send_message(QueueUrl=self._queue_url, **message)
