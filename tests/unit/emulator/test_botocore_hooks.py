"""The local stack's botocore hooks live on its own sessions, and leave with it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from emulator.botocore_hooks import RequestCounter, SessionHooks
from emulator.local import LocalStack

LIST_QUEUES = ("sqs", "ListQueues")


@pytest.fixture
def aws(monkeypatch) -> Iterator[None]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield


def counting() -> tuple[SessionHooks, RequestCounter]:
    counter = RequestCounter()
    return SessionHooks({"before-call": counter}), counter


def test_after_remove_a_new_client_of_the_session_no_longer_runs_the_hook(aws):
    hooks, counter = counting()
    session = hooks.session(region_name="us-east-1")
    session.client("sqs").list_queues()

    hooks.remove()
    session.client("sqs").list_queues()

    assert counter.calls == {LIST_QUEUES: 1}


def test_the_default_session_is_hooked_until_remove_then_restored(aws):
    before = boto3.DEFAULT_SESSION
    hooks, counter = counting()
    hooks.default_session(region_name="us-east-1")
    boto3.client("sqs").list_queues()

    hooks.remove()
    assert boto3.DEFAULT_SESSION is before
    boto3.client("sqs").list_queues()

    assert counter.calls == {LIST_QUEUES: 1}


def test_two_sets_of_hooks_count_only_their_own_sessions(aws):
    (first, first_count), (second, second_count) = counting(), counting()
    first.session(region_name="us-east-1").client("sqs").list_queues()
    second.session(region_name="us-east-1").client("sqs").list_queues()
    second.session(region_name="us-east-1").client("sqs").list_queues()

    assert (first_count.calls, second_count.calls) == ({LIST_QUEUES: 1}, {LIST_QUEUES: 2})


def status_event() -> bytes:
    """GET /messages/{TraceId} for a trace nobody sent: one DynamoDB Query, then 404."""
    return json.dumps(
        {
            "resource": "/messages/{TraceId}",
            "path": "/messages/t-1",
            "httpMethod": "GET",
            "pathParameters": {"TraceId": "t-1"},
            "requestContext": {"authorizer": {"sub": "u1"}, "requestId": "r1"},
            "headers": {},
        }
    ).encode()


def read_status(local: LocalStack) -> dict[str, Any]:
    """Invoke the status function through the stack's Lambda hook, as the API does."""
    function = local.stack.physical("StatusFunction")["Ref"]
    answer = local.client("lambda").invoke(FunctionName=function, Payload=status_event())
    return json.loads(answer["Payload"].read())


@pytest.fixture(scope="module")
def stopped_then_started() -> Iterator[tuple[LocalStack, LocalStack]]:
    """A stack that ran the status function and stopped, then a second one in this process."""
    environment = dict(os.environ)  # a stack sets its clients' variables for the process
    first = LocalStack.start()
    try:
        assert read_status(first)["statusCode"] == 404
    finally:
        first.stop()
    second = LocalStack.start()
    yield first, second
    second.stop()
    os.environ.clear()
    os.environ.update(environment)


def test_after_stop_new_clients_no_longer_go_through_the_stacks_hooks(stopped_then_started):
    first, _ = stopped_then_started
    counted = dict(first.aws_requests.calls)

    first.session.client("sqs").list_queues()  # its own session, after stop
    boto3.client("sqs").list_queues()  # the default session the functions use

    assert first.aws_requests.calls == counted


def test_two_stacks_in_one_process_count_only_their_own_requests(stopped_then_started):
    first, second = stopped_then_started
    counted, invocations = dict(first.aws_requests.calls), dict(first.runtime.invocations)
    second.aws_requests.clear()

    assert read_status(second)["statusCode"] == 404

    # The second stack's runtime ran the function, with clients from its own sessions.
    assert second.runtime.invocations == {"StatusFunction": 1}
    assert second.aws_requests.calls == {("lambda", "Invoke"): 1, ("dynamodb", "Query"): 1}
    assert (first.aws_requests.calls, first.runtime.invocations) == (counted, invocations)
