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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key
from moto.sqs.models import sqs_backends

from cli.dlq import read_all
from emulator.api import queued_body
from emulator.local import LocalStack
from emulator.providers import SentMessage
from notify.domain.pacing import NOT_BEFORE
from notify.domain.schedule import pointer_body, stamp

DEADLINE_SECONDS = 90
# The tenant of the queued caller {"sub": "user-1"}: its traces' header Sk.
OWNER = "user:user-1"
ENDED = ("COMPLETED", "FAILED", "CANCELLED")
POLL_SECONDS = 0.05
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

    def until_ended(
        self, *trace_ids: str, owner: str = OWNER, deadline: float = DEADLINE_SECONDS
    ) -> list[Execution]:
        """Run what the queue holds, and what it delays (continuations), until every trace
        has ended (COMPLETED, FAILED or CANCELLED); the executions run, in order."""

        def statuses() -> dict[str, str | None]:
            return {t: trace_status(self.local, t, owner) for t in trace_ids}

        return self.until(
            lambda: all(s in ENDED for s in statuses().values()), statuses, trace_ids[0], deadline
        )

    def until(
        self,
        done: Callable[[], bool],
        seen: Callable[[], Any],
        trace_id: str | None = None,
        deadline: float = DEADLINE_SECONDS,
    ) -> list[Execution]:
        """Run what the queue holds, and what it delays, until `done()`; the executions run.

        A paced send leaves its execution and comes back as a delayed message: the queue
        is polled often (moto's long poll is not woken when a delay ends, AWS's is). Past
        the deadline, fails with what `seen()` shows then.
        """
        end = time.monotonic() + deadline
        executions: list[Execution] = []
        while time.monotonic() < end:
            if done():
                return executions
            started = self.local.pipe.poll_once()
            executions += [self.wait(arn, trace_id=trace_id) for arn in started]
            self.local.pipe.wait_settled()
            if not started:
                time.sleep(POLL_SECONDS)
        ran = [e.status for e in executions]
        raise AssertionError(f"{seen()} after {deadline} s; executions {ran}")

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


def trace_status(local: LocalStack, trace_id: str, owner: str = OWNER) -> str | None:
    """The Status on the trace's header (None before it is claimed)."""
    return trace_items(local, trace_id).get(owner, {}).get("Status")


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


def end_the_wait(local: LocalStack, trace_id: str, owner: str) -> None:
    """A continuation's wait is over: its time comes now (the trace's SendAt and each of its
    recipients' NotBefore), and its message, delayed on the queue, can be received now."""
    table = local.session.resource("dynamodb").Table(local.stack.physical("TracesTable")["Ref"])
    kept = json.loads(trace_items(local, trace_id)[owner]["ScheduledRequest"])
    now = time.time()
    for recipient in kept["Request"]["Addresses"].values():
        if NOT_BEFORE in recipient:
            recipient[NOT_BEFORE] = min(float(recipient[NOT_BEFORE]), now)
    table.update_item(
        Key={"TraceId": trace_id, "Sk": owner},
        UpdateExpression="SET SendAt = :now, ScheduledRequest = :kept",
        ExpressionAttributeValues={":now": stamp(datetime.now(UTC)), ":kept": json.dumps(kept)},
        ConditionExpression="attribute_exists(ScheduledRequest)",
    )
    assert _undelay(pointer_body(trace_id, owner)) == 1, "no delayed continuation on the queue"


def _undelay(body: str) -> int:
    """How many delayed messages of this body were made receivable now (in moto's models,
    as emulator/clock.py moves time: SQS cannot end a message's delay)."""
    ended = 0
    for regions in sqs_backends.values():
        for backend in regions.values():
            for queue in backend.queues.values():
                with queue._messages_lock:
                    for message in queue._messages:
                        if message.body == body and message.delayed:
                            message.delayed_until = 0
                            ended += 1
    return ended


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
