"""Step Functions executions as the reconciler reads them, and the queue it dead-letters to."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from notify.domain.errors import classify_client_error
from notify.domain.reconcile import Execution


def describe_execution(sfn: Any, arn: str) -> Execution:
    try:
        described = sfn.describe_execution(executionArn=arn)
    except ClientError as exc:
        raise classify_client_error(exc) from exc
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
        try:
            self._sqs.send_message(QueueUrl=self._queue_url, **message)
        except ClientError as exc:
            raise classify_client_error(exc) from exc
