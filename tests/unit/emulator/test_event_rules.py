"""The local default bus: the template's rules and schedules that invoke functions."""

from __future__ import annotations

import json
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from emulator.event_rules import (
    AsyncInvokeConfig,
    LocalEventBridge,
    RuleTarget,
    async_configs,
    rate_seconds,
    rule_targets,
    schedule_targets,
    status_change_event,
)
from emulator.stack import Stack

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:messaging-delivery"


class FakeRuntime:
    """Fails the first `failures` invocations, then succeeds; remembers each payload."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.calls: list[tuple[str, Any]] = []
        self.lock = threading.Lock()

    def invoke(self, function: str, payload: Any) -> tuple[Any, str | None]:
        with self.lock:
            self.calls.append((function, payload))
            if len(self.calls) <= self.failures:
                return {"errorMessage": "boom"}, "RuntimeError"
        return {"ok": True}, None


def ended(status: str, machine: str = MACHINE) -> dict[str, Any]:
    execution = SimpleNamespace(
        exec_arn=machine.replace("stateMachine", "execution") + ":run-1",
        state_machine_arn=machine,
        name="run-1",
        exec_status=SimpleNamespace(value=status),
        start_date=None,
        stop_date=None,
        execution_input='[{"body": "{}"}]',
        output=None,
        error="TransientError" if status == "FAILED" else None,
        cause=None,
    )
    return status_change_event(execution, "us-east-1", "123456789012")


@pytest.fixture(scope="module")
def stack(mocked_aws) -> Stack:
    # Only resolving names: nothing is created until a resource is asked for.
    return Stack(mocked_aws, "messaging")


def test_the_reconciler_rule_and_sweep_come_from_the_template(stack, mocked_aws) -> None:
    stack.physical("DeliveryStateMachine")

    [rule] = rule_targets(stack)
    [sweep] = schedule_targets(stack)

    assert rule.function == sweep.function == "messaging-ReconcileFunction"
    assert sweep.seconds == 300
    assert [rule.matches(ended(s)) for s in ("FAILED", "TIMED_OUT", "ABORTED")] == [True] * 3
    assert not rule.matches(ended("SUCCEEDED"))
    assert not rule.matches(ended("FAILED", machine=MACHINE + "-other"))


def test_a_status_change_event_has_the_shape_step_functions_gives_it() -> None:
    event = ended("FAILED")

    assert (event["source"], event["detail-type"]) == (
        "aws.states",
        "Step Functions Execution Status Change",
    )
    assert event["resources"] == [event["detail"]["executionArn"]]
    assert event["detail"]["status"] == "FAILED"
    assert event["detail"]["error"] == "TransientError"
    assert event["detail"]["input"] == '[{"body": "{}"}]'


def test_matching_events_invoke_the_function_asynchronously_and_failures_are_retried() -> None:
    runtime = FakeRuntime(failures=1)
    bus = LocalEventBridge(runtime, [RuleTarget("fn", {"source": ["aws.states"]})], [])

    bus.put(ended("ABORTED"))
    bus.put({"source": ["aws.ses"], "detail-type": "x", "detail": {}})
    bus.wait_idle(timeout=10)

    assert [function for function, _ in runtime.calls] == ["fn", "fn"]  # once more after a failure


def test_the_reconcilers_failed_events_go_to_its_dead_letter_queue_per_the_template(
    stack, mocked_aws
) -> None:
    config = async_configs(stack)["messaging-ReconcileFunction"]

    assert config.retries == 2
    assert config.on_failure == stack.physical("ReconcileDeadLetterQueue")["Arn"]


def test_an_event_whose_every_attempt_failed_lands_in_the_on_failure_queue(mocked_aws) -> None:
    sqs = mocked_aws.client("sqs")
    queue = sqs.create_queue(QueueName="fn-on-failure")
    arn = "arn:aws:lambda:us-east-1:123456789012:function:fn"
    config = AsyncInvokeConfig(arn, retries=1, on_failure="arn:aws:sqs:us-east-1:1:fn-on-failure")
    runtime = FakeRuntime(failures=2)
    bus = LocalEventBridge(
        runtime, [RuleTarget("fn", {"source": ["aws.states"]})], [], {"fn": config}, sqs
    )
    event = ended("FAILED")

    bus.put(event)
    bus.wait_idle(timeout=10)

    assert len(runtime.calls) == 2  # the first attempt and its one retry
    [message] = sqs.receive_message(QueueUrl=queue["QueueUrl"])["Messages"]
    record = json.loads(message["Body"])
    assert record["requestContext"] | {"requestId": "-"} == {
        "requestId": "-",
        "functionArn": f"{arn}:$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 2,
    }
    assert record["requestPayload"] == event
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"] == {"errorMessage": "boom"}


def test_an_event_that_succeeds_on_a_retry_goes_nowhere(mocked_aws) -> None:
    sqs = mocked_aws.client("sqs")
    queue = sqs.create_queue(QueueName="fn-on-failure-unused")["QueueUrl"]
    arn = "arn:aws:lambda:us-east-1:123456789012:function:fn"
    config = AsyncInvokeConfig(arn, on_failure="arn:aws:sqs:us-east-1:1:fn-on-failure-unused")
    bus = LocalEventBridge(
        FakeRuntime(failures=1),
        [RuleTarget("fn", {"source": ["aws.states"]})],
        [],
        {"fn": config},
        sqs,
    )

    bus.put(ended("FAILED"))
    bus.wait_idle(timeout=10)

    assert "Messages" not in sqs.receive_message(QueueUrl=queue)


def test_events_put_while_losing_events_never_arrive() -> None:
    runtime = FakeRuntime()
    bus = LocalEventBridge(runtime, [RuleTarget("fn", {"source": ["aws.states"]})], [])

    with bus.losing_events():
        bus.put(ended("ABORTED"))
    bus.wait_idle(timeout=10)

    assert runtime.calls == []


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(5 minutes)", 300), ("rate(1 minute)", 60), ("rate(2 hours)", 7200)],
)
def test_rate_expressions_are_read_in_seconds(expression, seconds) -> None:
    assert rate_seconds(expression) == seconds


def test_a_cron_schedule_is_refused_locally_with_a_reason() -> None:
    with pytest.raises(ValueError, match="only rate"):
        rate_seconds("cron(0 12 * * ? *)")
