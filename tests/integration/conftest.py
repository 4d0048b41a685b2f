"""One local stack per test process: the real template, ASL and handlers on a moto server.

The workflow types share the ASL and the handlers and part only in what becomes of a
request after its execution: STANDARD's pipe deletes it once started and the reconciler
handles an execution that ended badly; EXPRESS's pipe waits, and gives back to the queue
what failed, timed out or Plan handed back (`batchItemFailures`). So a test runs on
STANDARD only unless it is marked `both_workflows` (its request fails, is handed back,
dead-lettered out of its batch, or comes back through the queue), `standard_only` (the
reconciler) or `express_only` (the queue's return); the closest mark wins.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key

from cli.dlq import read_all
from emulator.api import queued_body
from emulator.local import LocalStack
from emulator.providers import SentMessage
from notify.domain.schedule import schedule_name, stamp

DEADLINE_SECONDS = 90
# Short enough for a test to watch an execution time out; longer than any other test's.
EXECUTION_TIMEOUT_SECONDS = 15


# What the reconciler of STANDARD executions does; EXPRESS returns the request to the queue.
reconciled = pytest.mark.standard_only("EXPRESS has no reconciler")

WORKFLOW_MARKS = {
    "both_workflows": ["STANDARD", "EXPRESS"],
    "standard_only": ["STANDARD"],
    "express_only": ["EXPRESS"],
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Give each test that uses the stack its workflow types, at collection: a worker of
    `-n 2` starts an EXPRESS stack only if it is handed an EXPRESS test."""
    if "local" not in metafunc.fixturenames or _parametrizes_local(metafunc):
        return
    marks = (mark.name for mark in metafunc.definition.iter_markers())  # closest first
    found = next((name for name in marks if name in WORKFLOW_MARKS), "standard_only")
    metafunc.parametrize("local", WORKFLOW_MARKS[found], indirect=True, scope="session")


def _parametrizes_local(metafunc: pytest.Metafunc) -> bool:
    """A module that starts a stack of its own parameters (see `local`)."""
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0]
        if "local" in (names.replace(" ", "").split(",") if isinstance(names, str) else names):
            return True
    return False


@pytest.fixture(scope="session")
def local(request: pytest.FixtureRequest) -> Iterator[LocalStack]:
    """The stack of one workflow type, started by the first test of this process to need it.

    A test that needs other template parameters parametrizes `local` indirectly with a
    tuple of (name, value) pairs (hashable, so pytest groups its tests): the shared stack
    is stopped while a stack with just those parameters runs them.
    """
    if isinstance(request.param, tuple):
        parameters = dict(request.param)
    else:
        parameters = {
            "ExecutionTimeoutSeconds": str(EXECUTION_TIMEOUT_SECONDS),
            "WorkflowType": request.param,
        }
    stack = LocalStack.start(**parameters)
    stack.seed_demo()
    yield stack
    stack.stop()


def put_template(local: LocalStack, name: str, **fields: str) -> None:
    item = {"TemplateName": {"S": name}} | {key: {"S": value} for key, value in fields.items()}
    local.client("dynamodb").put_item(TableName="MessageTemplates", Item=item)


@dataclass
class Execution:
    arn: str
    status: str
    history: list[dict[str, Any]]
    sent: list[SentMessage] = field(default_factory=list)

    def states_entered(self) -> list[str]:
        return [
            event["stateEnteredEventDetails"]["name"]
            for event in self.history
            if event["type"].endswith("StateEntered")
        ]

    def failed_attempts(self, state_type: str = "TaskFailed") -> list[dict[str, Any]]:
        return [event for event in self.history if event["type"] == state_type]

    def already_handled(self) -> list[str]:
        """TraceIds Plan found claimed by another execution (running or completed)."""
        for event in self.history:
            if event["type"] == "TaskSucceeded":
                output = json.loads(event["taskSucceededEventDetails"]["output"])["Payload"]
                return [trace["TraceId"] for trace in output["AlreadyHandled"]]
        return []


class Client:
    """Queues requests as the API does and runs them through the pipe to completion."""

    def __init__(self, local: LocalStack) -> None:
        self.local = local
        self.sqs = local.client("sqs")
        self.sfn = local.client("stepfunctions")
        self.queue_url = local.stack.physical("MessageQueue")["QueueUrl"]

    def queue(self, request: dict[str, Any], caller: dict[str, str] | None = None) -> None:
        caller_json = json.dumps(caller or {"sub": "user-1"}, separators=(",", ":"))
        self.sqs.send_message(
            QueueUrl=self.queue_url, MessageBody=queued_body(caller_json, json.dumps(request))
        )

    def start_next(self) -> str:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            started = self.local.pipe.poll_once()
            if started:
                return started[0]
        raise AssertionError("the queued request never reached the pipe")

    def redeliver(self, trace_id: str | None = None) -> Execution:
        """What a synchronous pipe gave back, received again once its visibility timed out."""
        self.local.pipe.wait_settled()
        self.local.pipe.expire_visibility()
        return self.wait(self.start_next(), trace_id=trace_id)

    def send(self, request: dict[str, Any], caller: dict[str, str] | None = None) -> Execution:
        self.queue(request, caller)
        return self.wait(self.start_next(), trace_id=request.get("TraceId"))

    def wait(self, arn: str, trace_id: str | None = None) -> Execution:
        """Wait for the execution to end and for its status-change event to be handled."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        status = "RUNNING"
        while time.monotonic() < deadline:
            status = self.sfn.describe_execution(executionArn=arn)["status"]
            if status != "RUNNING" and arn in self.local.ended:
                self.local.events.wait_idle()  # the reconciler, when it ended badly
                history = self.sfn.get_execution_history(executionArn=arn, maxResults=1000)
                sent = self.local.providers.sent(trace_id) if trace_id else []
                return Execution(arn, status, history["events"], sent)
            time.sleep(0.05)
        raise AssertionError(f"execution {arn} still {status} after {DEADLINE_SECONDS} s")


@pytest.fixture
def client(local: LocalStack) -> Client:
    return Client(local)


@pytest.fixture
def trace_id(request: pytest.FixtureRequest) -> str:
    # Unique per test, so tests sharing the stack never see each other's messages.
    return f"{request.node.name[:80]}-{time.monotonic_ns()}".replace("[", "-").replace("]", "")


@pytest.fixture
def providers(local: LocalStack) -> Iterator[Any]:
    yield local.providers
    local.providers.clear_faults()


def trace_items(local: LocalStack, trace_id: str) -> dict[str, dict[str, Any]]:
    """The trace's items keyed by Sk: the owner's header and one per recipient."""
    table = local.session.resource("dynamodb").Table(local.stack.physical("TracesTable")["Ref"])
    items = table.query(KeyConditionExpression=Key("TraceId").eq(trace_id))["Items"]
    return {item["Sk"]: item for item in items}


def dead_letters(local: LocalStack, trace_id: str) -> list[dict[str, Any]]:
    """This trace's messages in the DLQ (every other test's left in it)."""
    return [message for message in all_dead_letters(local) if _trace_id(message) == trace_id]


def all_dead_letters(local: LocalStack) -> list[dict[str, Any]]:
    """Every message in the DLQ, as `messaging dlq list` reads them (left visible after)."""
    url = local.stack.physical("DeadLetterQueue")["QueueUrl"]
    return read_all(local.client("sqs"), url, wait_seconds=0)


def _trace_id(message: dict[str, Any]) -> str | None:
    # Other tests' messages may not even be requests (an unreadable one, say).
    try:
        request = json.loads(message["Body"]).get("Request")
    except (ValueError, AttributeError):
        return None
    return request.get("TraceId") if isinstance(request, dict) else None


def continuation_schedule(local: LocalStack, trace_id: str, owner: str) -> str:
    """The name of the schedule of a trace waiting for receipts (named by its time)."""
    return schedule_name(owner, trace_id, trace_items(local, trace_id)[owner]["SendAt"])


def end_the_wait(local: LocalStack, trace_id: str, owner: str) -> None:
    """A fallback's wait is over: its continuation falls due and its schedule fires."""
    name = continuation_schedule(local, trace_id, owner)
    table = local.session.resource("dynamodb").Table(local.stack.physical("TracesTable")["Ref"])
    table.update_item(
        Key={"TraceId": trace_id, "Sk": owner},
        UpdateExpression="SET SendAt = :now",
        ExpressionAttributeValues={":now": stamp(datetime.now(UTC))},
    )
    assert local.scheduler.fire_due(datetime(2100, 1, 1, tzinfo=UTC), only=name) == [name]


def messages_api(local: LocalStack, function: str, method: str, trace_id: str) -> tuple[int, dict]:
    """GET or DELETE /messages/{TraceId} as the API's proxy integration invokes the function."""
    event = {
        "resource": "/messages/{TraceId}",
        "path": f"/messages/{trace_id}",
        "httpMethod": method,
        "pathParameters": {"TraceId": trace_id},
        "requestContext": {"authorizer": {"sub": "user-1", "customer_id": ""}, "requestId": "r"},
        "headers": {},
    }
    response, error = local.runtime.invoke(f"{local.stack.name}-{function}", event)
    assert error is None, response
    return response["statusCode"], json.loads(response["body"])


def cancel(local: LocalStack, trace_id: str) -> tuple[int, dict]:
    """DELETE /messages/{TraceId} of user-1's trace."""
    return messages_api(local, "CancelFunction", "DELETE", trace_id)
