"""`messaging redrive`: which execution, redrive or re-run, and waiting with a deadline."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from cli.errors import CommandError
from cli.redrive import (
    EXPRESS_HAS_NO_REDRIVE,
    failed_execution,
    finished,
    latest_failed,
    redrive_or_rerun,
    run,
    wait_for_execution,
)
from cli.trace import OwnerTrace

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:messaging-delivery"


def execution(name: str, status: str, minutes: int, **extra: Any) -> dict[str, Any]:
    return {
        "executionArn": f"{MACHINE.replace('stateMachine', 'execution')}:{name}",
        "stateMachineArn": MACHINE,
        "status": status,
        "startDate": T0 + timedelta(minutes=minutes),
        "input": json.dumps([{"body": name}]),
        **extra,
    }


class FakeSfn:
    def __init__(self, *executions: dict[str, Any], redrive: BaseException | None = None) -> None:
        self.executions = {e["executionArn"]: e for e in executions}
        self.redrive_error = redrive
        self.started: list[dict[str, Any]] = []
        self.descriptions: list[dict[str, Any]] = []

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        if self.descriptions:
            return self.descriptions.pop(0)
        return self.executions[executionArn]

    def redrive_execution(self, executionArn: str) -> dict[str, Any]:
        if self.redrive_error:
            raise self.redrive_error
        return {"redriveDate": T0 + timedelta(hours=1)}

    def start_execution(self, **params: Any) -> dict[str, Any]:
        self.started.append(params)
        return {"executionArn": f"{MACHINE}:{params['name']}"}

    def describe_state_machine(self, stateMachineArn: str) -> dict[str, Any]:
        return {"stateMachineArn": stateMachineArn, "type": self.workflow_type}

    workflow_type = "STANDARD"


class FakeTarget:
    def __init__(self, sfn: FakeSfn, *, local: bool = True) -> None:
        self.sfn = sfn
        self.is_local = local

    def client(self, service: str, *, retries: bool = True) -> FakeSfn:
        return self.sfn

    def output(self, key: str) -> str:
        return {"StateMachineArn": MACHINE}[key]


def arns(*executions: dict[str, Any]) -> list[str]:
    return [e["executionArn"] for e in executions]


def test_the_most_recent_failed_execution_is_chosen():
    old, new = execution("old", "FAILED", 0), execution("new", "FAILED", 5)

    assert latest_failed(FakeSfn(old, new), arns(old, new)) == new


def test_a_trace_delivered_after_its_failure_is_not_redriven():
    failed, succeeded = execution("a", "FAILED", 0), execution("b", "SUCCEEDED", 5)

    with pytest.raises(CommandError, match="latest execution is SUCCEEDED"):
        latest_failed(FakeSfn(failed, succeeded), arns(failed, succeeded))


def test_a_trace_without_a_failed_execution_is_an_error():
    ok = execution("a", "SUCCEEDED", 0)

    with pytest.raises(CommandError):
        latest_failed(FakeSfn(ok), arns(ok))


@pytest.mark.parametrize("local", [True, False], ids=["local", "deployed"])
def test_a_supported_redrive_redrives_the_same_execution(local, capsys):
    failed = execution("a", "FAILED", 0)

    arn, since = redrive_or_rerun(FakeTarget(FakeSfn(failed), local=local), failed)

    assert (arn, since) == (failed["executionArn"], T0 + timedelta(hours=1))
    assert capsys.readouterr().out == f"redriven: {failed['executionArn']}\n"


NAMELESS_500 = ClientError(
    {"Error": {"Code": "500", "Message": "<html>"}, "ResponseMetadata": {"HTTPStatusCode": 500}},
    "RedriveExecution",
)


@pytest.mark.parametrize(
    "error",
    [
        NotImplementedError("The redrive_execution action has not been implemented"),
        NAMELESS_500,
    ],
    ids=["moto-mock", "moto-server"],
)
def test_the_local_stack_without_redrive_starts_the_failed_input_again(error, capsys):
    failed = execution("a", "FAILED", 0)
    sfn = FakeSfn(failed, redrive=error)

    arn, since = redrive_or_rerun(FakeTarget(sfn, local=True), failed)

    [started] = sfn.started
    assert started["stateMachineArn"] == MACHINE
    assert started["input"] == failed["input"]
    assert (arn, since) == (f"{MACHINE}:{started['name']}", None)
    assert f"started: {arn}" in capsys.readouterr().out


def test_a_real_redrive_failure_is_not_hidden_by_a_rerun():
    failed = execution("a", "FAILED", 0)
    refused = ClientError(
        {"Error": {"Code": "ExecutionNotRedrivable"}, "ResponseMetadata": {"HTTPStatusCode": 400}},
        "RedriveExecution",
    )
    sfn = FakeSfn(failed, redrive=refused)

    with pytest.raises(ClientError):
        redrive_or_rerun(FakeTarget(sfn), failed)
    assert sfn.started == []


@pytest.mark.parametrize(
    "error",
    [
        NAMELESS_500,
        ClientError(
            {"Error": {"Code": "InternalFailure"}, "ResponseMetadata": {"HTTPStatusCode": 500}},
            "RedriveExecution",
        ),
        ClientError(
            {"Error": {"Code": "NotImplemented"}, "ResponseMetadata": {"HTTPStatusCode": 501}},
            "RedriveExecution",
        ),
    ],
    ids=["nameless-500", "internal-failure", "not-implemented"],
)
def test_a_deployed_stacks_server_error_is_reported_and_nothing_is_rerun(error, capsys):
    failed = execution("a", "FAILED", 0)
    sfn = FakeSfn(failed, redrive=error)

    with pytest.raises(CommandError, match=r"RedriveExecution failed: .*AWS answered HTTP 50"):
        redrive_or_rerun(FakeTarget(sfn, local=False), failed)

    assert sfn.started == []
    assert capsys.readouterr().out == ""


def test_a_redriven_execution_is_finished_only_once_it_stopped_after_the_redrive():
    since = T0 + timedelta(hours=1)
    before = {"status": "FAILED", "stopDate": T0}
    after = {"status": "SUCCEEDED", "stopDate": since + timedelta(seconds=3)}

    assert not finished(before, since)
    assert finished(after, since)
    assert not finished({"status": "RUNNING"}, None)
    assert finished(before, None)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_waiting_returns_the_final_description_and_reports_progress(capsys):
    sfn = FakeSfn()
    sfn.descriptions = [{"status": "RUNNING"}] * 12 + [{"status": "SUCCEEDED", "executionArn": "x"}]
    clock = FakeClock()

    final = wait_for_execution(sfn, "arn:x:run-1", 120, clock=clock, sleep=clock.sleep)

    assert final["status"] == "SUCCEEDED"
    progress = capsys.readouterr().err.splitlines()
    assert progress[0] == "waiting up to 120 s for run-1 …"
    assert progress[1:] == ["  RUNNING after 5 s"]


def test_waiting_gives_up_at_the_deadline():
    sfn = FakeSfn()
    sfn.descriptions = [{"status": "RUNNING"}] * 100
    clock = FakeClock()

    with pytest.raises(CommandError, match="still RUNNING after 10 s"):
        wait_for_execution(sfn, "arn:x:run-1", 10, clock=clock, sleep=clock.sleep)


def owner(name: str, *executions: dict[str, Any]) -> OwnerTrace:
    return OwnerTrace({"Sk": name, "Owner": name, "Executions": arns(*executions)})


def test_each_owner_of_a_trace_id_is_judged_by_its_own_executions():
    delivered = [execution("a1", "FAILED", 0), execution("a2", "SUCCEEDED", 9)]
    failed = execution("b1", "FAILED", 5)

    chosen = failed_execution(
        FakeSfn(*delivered, failed), "t-1", [owner("a", *delivered), owner("b", failed)]
    )

    assert chosen == failed


def test_the_refusal_names_every_owner():
    a, b = execution("a1", "SUCCEEDED", 0), execution("b1", "RUNNING", 5)

    with pytest.raises(CommandError) as refused:
        failed_execution(FakeSfn(a, b), "t-1", [owner("a", a), owner("b", b)])

    assert str(refused.value).startswith("trace t-1: a: nothing to redrive")
    assert "; b: nothing to redrive: the trace's latest execution is RUNNING" in str(refused.value)


@pytest.mark.parametrize("status", ["TIMED_OUT", "ABORTED"])
def test_a_timed_out_or_stopped_execution_is_redrivable_too(status):
    ended = execution("a", status, 0)

    assert latest_failed(FakeSfn(ended), arns(ended)) == ended


def test_a_trace_whose_failure_is_still_being_reconciled_is_not_redriven_yet():
    failed = execution("a", "FAILED", 0)
    running = OwnerTrace({"Sk": "a", "Owner": "a", "Status": "RUNNING", "Executions": arns(failed)})

    with pytest.raises(CommandError, match="still RUNNING; try again in a few seconds"):
        failed_execution(FakeSfn(failed), "t-1", [running])


def test_an_express_stack_is_told_to_redrive_from_the_dlq_instead():
    sfn = FakeSfn(execution("a", "FAILED", 0))
    sfn.workflow_type = "EXPRESS"
    context = type("Context", (), {"target": lambda self: FakeTarget(sfn)})()

    with pytest.raises(CommandError, match="messaging dlq redrive") as refused:
        run(type("Args", (), {"trace_id": "a"})(), context)

    assert str(refused.value) == EXPRESS_HAS_NO_REDRIVE
    assert sfn.started == []
