"""EventBridge rules that invoke Lambda functions, as the template's function `Events` say.

`Type: EventBridgeRule` events are matched against every event the local stack emits
(Step Functions execution status changes, for now) and invoke their function
asynchronously, retried like Lambda's asynchronous invocations (the function's
`EventInvokeConfig`: its retries, then an invocation record to its SQS on-failure
destination); `Type: Schedule` events invoke theirs at the declared rate. moto's own rules
cannot target these functions: its Lambda needs Docker.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from moto.events.models import EventPattern

from emulator.lambdas import LambdaRuntime

STATUS_CHANGE = "Step Functions Execution Status Change"
# Lambda retries a failed asynchronous invocation twice unless told otherwise; locally after
# 1 s and 2 s.
DEFAULT_ASYNC_RETRIES = 2
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class RuleTarget:
    function: str
    pattern: dict[str, Any]

    def matches(self, event: dict[str, Any]) -> bool:
        return EventPattern.load(json.dumps(self.pattern)).matches_event(event)


@dataclass(frozen=True)
class ScheduleTarget:
    function: str
    seconds: float


@dataclass(frozen=True)
class AsyncInvokeConfig:
    """A function's `EventInvokeConfig`: how often a failed event is retried, then where it goes."""

    function_arn: str
    retries: int = DEFAULT_ASYNC_RETRIES
    on_failure: str | None = None  # an SQS queue's ARN


def async_configs(stack: Any) -> dict[str, AsyncInvokeConfig]:
    """The `EventInvokeConfig` of every function that has one, by function name."""
    configs = {}
    for logical_id, resource in stack.resources():
        properties = resource.get("Properties", {})
        if resource["Type"] != "AWS::Serverless::Function" or "EventInvokeConfig" not in properties:
            continue
        config = stack.resolve(properties["EventInvokeConfig"])
        on_failure = config.get("DestinationConfig", {}).get("OnFailure", {})
        if on_failure.get("Type", "SQS") != "SQS":
            raise ValueError(f"{logical_id}: only an SQS on-failure destination runs locally")
        function = stack.physical(logical_id)
        configs[function["Ref"]] = AsyncInvokeConfig(
            function_arn=function["Arn"],
            retries=int(config.get("MaximumRetryAttempts", DEFAULT_ASYNC_RETRIES)),
            on_failure=on_failure.get("Destination"),
        )
    return configs


def invocation_record(
    config: AsyncInvokeConfig, event: Any, error: Any, attempts: int
) -> dict[str, Any]:
    """What Lambda sends an on-failure destination once an event's retries are exhausted."""
    return {
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"{config.function_arn}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "responsePayload": error,
    }


def rule_targets(stack: Any) -> list[RuleTarget]:
    return [
        RuleTarget(name, props["Pattern"])
        for name, props in stack.function_events("EventBridgeRule")
    ]


def schedule_targets(stack: Any) -> list[ScheduleTarget]:
    return [
        ScheduleTarget(name, rate_seconds(props["Schedule"]))
        for name, props in stack.function_events("Schedule")
    ]


def rate_seconds(expression: str) -> float:
    match = _RATE.match(expression.strip())
    if not match:
        raise ValueError(f"only rate(N unit) schedules run locally, not {expression!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


def status_change_event(execution: Any, region: str, account: str) -> dict[str, Any]:
    """The event Step Functions puts on the default bus when a STANDARD execution ends."""
    detail = {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "status": execution.exec_status.value,
        "startDate": _millis(execution.start_date),
        "stopDate": _millis(execution.stop_date),
        "input": execution.execution_input,
        "output": json.dumps(execution.output) if execution.output is not None else None,
        "inputDetails": {"included": True},
        "error": execution.error,
        "cause": execution.cause,
    }
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": STATUS_CHANGE,
        "source": "aws.states",
        "account": account,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [execution.exec_arn],
        "detail": detail,
    }


class LocalEventBridge:
    """The default bus's rules that target functions, and the schedules; asynchronous."""

    def __init__(
        self,
        runtime: LambdaRuntime,
        rules: list[RuleTarget],
        schedules: list[ScheduleTarget],
        configs: dict[str, AsyncInvokeConfig] | None = None,
        sqs: Any = None,
    ) -> None:
        self._runtime = runtime
        self._rules = rules
        self._schedules = schedules
        self._configs = configs or {}
        self._sqs = sqs  # a client for the on-failure destinations
        self._in_flight = 0
        self._idle = threading.Condition()
        self._stopping = threading.Event()
        self._losing = False

    @contextmanager
    def losing_events(self) -> Iterator[None]:
        """Drop every event put meanwhile: EventBridge delivers best effort (fault injection)."""
        self._losing = True
        try:
            yield
        finally:
            self._losing = False

    def put(self, event: dict[str, Any]) -> None:
        if self._losing:
            return
        for rule in self._rules:
            if rule.matches(event):
                self.invoke_async(rule.function, event)

    def wait_idle(self, timeout: float = 30) -> None:
        """Block until every event put so far has been handled (tests, benchmarks)."""
        with self._idle:
            if not self._idle.wait_for(lambda: self._in_flight == 0, timeout):
                raise TimeoutError(f"{self._in_flight} event(s) still being handled")

    def run_schedules(self) -> list[threading.Thread]:
        threads = [
            threading.Thread(target=self._every, args=(s,), name=s.function, daemon=True)
            for s in self._schedules
        ]
        for thread in threads:
            thread.start()
        return threads

    def scheduled(self, function: str) -> tuple[Any, str | None]:
        """Invoke a scheduled function now, as its schedule would (synchronously)."""
        return self._runtime.invoke(function, scheduled_event(function))

    def stop(self) -> None:
        self._stopping.set()

    def _every(self, schedule: ScheduleTarget) -> None:
        while not self._stopping.wait(schedule.seconds):
            self.scheduled(schedule.function)

    def invoke_async(self, function: str, event: dict[str, Any]) -> None:
        """Invoke as Lambda does an asynchronous invocation: retried, then to the function's
        on-failure destination. Rules invoke so, and S3 event notifications too."""
        with self._idle:
            self._in_flight += 1
        threading.Thread(target=self._deliver, args=(function, event), daemon=True).start()

    def _deliver(self, function: str, event: dict[str, Any]) -> None:
        config = self._configs.get(function)
        attempts = 1 + (config.retries if config else DEFAULT_ASYNC_RETRIES)
        try:
            for attempt in range(attempts):
                result, error = self._runtime.invoke(function, event)
                if error is None:
                    return
                if attempt + 1 < attempts and self._stopping.wait(2**attempt):
                    return
            if config and config.on_failure:
                self._give_up(config, event, result, attempts)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def _give_up(self, config: AsyncInvokeConfig, event: Any, error: Any, attempts: int) -> None:
        queue_name = config.on_failure.rsplit(":", 1)[1]
        queue_url = self._sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        record = invocation_record(config, event, error, attempts)
        self._sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(record))


def scheduled_event(function: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "resources": [f"local-schedule/{function}"],
        "detail": {},
    }


def _millis(moment: datetime | None) -> int | None:
    return int(moment.timestamp() * 1000) if moment else None
