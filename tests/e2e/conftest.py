"""A running local stack (API, pipe, emulated AWS) driven over HTTP, as a user drives it."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from cli.main import main
from emulator import console
from emulator.local import LOCAL_JWT_SECRET, LocalStack
from notify.domain.tokens import mint_token

EVENTS = Path(__file__).resolve().parents[2] / "events"
DEADLINE_SECONDS = 60
# The tenant of the session's token (customer_id e2e-customer): its traces' header Sk.
E2E_OWNER = "customer:e2e-customer"


@pytest.fixture(scope="session")
def local() -> Iterator[LocalStack]:
    # What `make run` shows: no request lines or moto dumps to mix with the CLI's stderr.
    console.configure("WARNING")
    stack = LocalStack.start()
    stack.seed_demo().serve()
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def api(local: LocalStack) -> str:
    return local.http.url + "/"


@pytest.fixture(scope="session")
def token() -> str:
    return mint_token(LOCAL_JWT_SECRET, "e2e-user", customer_id="e2e-customer")


@pytest.fixture
def post(api: str, local: LocalStack, token: str) -> Callable[..., requests.Response]:
    def post(body: Any, *, bearer: str | None = None, api_key: str | None = None):
        headers = {
            "Authorization": f"Bearer {bearer or token}",
            "x-api-key": local.api_key if api_key is None else api_key,
            "Content-Type": "application/json",
        }
        data = body if isinstance(body, str) else json.dumps(body)
        return requests.post(api, data=data, headers=headers, timeout=30)

    return post


def example(name: str) -> dict[str, Any]:
    """One of events/, with a TraceId no other test uses."""
    return json.loads((EVENTS / name).read_text()) | {"TraceId": f"e2e-{uuid.uuid4()}"}


def outbox(local: LocalStack, trace_id: str) -> list[dict[str, Any]]:
    response = requests.get(
        f"{local.http.url}/_local/outbox", params={"trace": trace_id}, timeout=10
    )
    return response.json()


def wait_until(check: Callable[[], Any], what: str, deadline: float = DEADLINE_SECONDS) -> Any:
    """Poll until `check` returns something truthy; fail with the last value seen."""
    end = time.monotonic() + deadline
    last = None
    while time.monotonic() < end:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"{what}: not after {deadline} s (last seen: {last!r})")


def trace_status(local: LocalStack, trace_id: str, owner: str = E2E_OWNER) -> str | None:
    # moto applies an update's SET actions one by one, so a read can catch the header
    # item created but not yet given its Status.
    return trace_header(local, trace_id, owner).get("Status", {}).get("S")


def execution_status(local: LocalStack, trace_id: str, owner: str = E2E_OWNER) -> str | None:
    """The status of the trace's latest execution (it ends before its trace is reconciled)."""
    arn = trace_header(local, trace_id, owner).get("ExecutionArn", {}).get("S")
    if not arn:
        return None
    return local.client("stepfunctions").describe_execution(executionArn=arn)["status"]


def execution_input(local: LocalStack, trace_id: str, owner: str = E2E_OWNER) -> list[dict]:
    """The pipe records the trace's latest execution was started with."""
    arn = trace_header(local, trace_id, owner)["ExecutionArn"]["S"]
    described = local.client("stepfunctions").describe_execution(executionArn=arn)
    return json.loads(described["input"])


def trace_header(local: LocalStack, trace_id: str, owner: str = E2E_OWNER) -> dict[str, Any]:
    """The trace's header item, as DynamoDB answers it ({} before its Plan)."""
    table = local.stack.physical("TracesTable")["Ref"]
    item = (
        local.client("dynamodb")
        .get_item(
            TableName=table,
            Key={"TraceId": {"S": trace_id}, "Sk": {"S": owner}},
            ConsistentRead=True,
        )
        .get("Item")
    )
    return item or {}


def finished(local: LocalStack, trace_id: str, owner: str = E2E_OWNER) -> str:
    """The trace's status once no execution runs it and nothing of it is due soon: a trace
    SCHEDULED a few seconds ahead is continuing (sends paced to their budget)."""

    def ended() -> str | None:
        header = trace_header(local, trace_id, owner)
        status = header.get("Status", {}).get("S")
        if status in (None, "RUNNING"):
            return None
        send_at = header.get("SendAt", {}).get("S")
        if status == "SCHEDULED" and send_at and _seconds_until(send_at) < CONTINUING_SECONDS:
            return None
        return status

    return wait_until(ended, f"trace {trace_id} finished")


# A continuation due this soon is part of the run (pacing), not a send scheduled for later.
CONTINUING_SECONDS = 30


def _seconds_until(stamp: str) -> float:
    return (datetime.fromisoformat(stamp) - datetime.now(UTC)).total_seconds()


@pytest.fixture
def messaging(local: LocalStack, monkeypatch, capsys) -> Callable[..., tuple[int, str, str]]:
    """Run the CLI against the running local stack; return (exit code, stdout, stderr)."""
    monkeypatch.setenv("MESSAGING_LOCAL_URL", local.http.url)

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run
