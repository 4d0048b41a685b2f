"""The local default bus: the template's rules and schedules that invoke functions."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import pytest

from emulator.event_rules import (
    LocalEventBridge,
    RuleTarget,
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
