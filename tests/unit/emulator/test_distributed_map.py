"""A Distributed Map runs locally as Step Functions runs it (emulator/distributed_map.py).

Each test starts a STANDARD execution of the shape the jobs use: rows read from an S3 JSON
array, batches with a BatchInput, children (EXPRESS) whose Task invokes a function of the
local Lambda runtime, results written to S3. The function is `send_rows`, below.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

from emulator import moto_patches
from emulator.local import LocalStack
from emulator.stack import load_template

HANDLER = "tests.unit.emulator.test_distributed_map.send_rows"
DEADLINE = 20
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def send_rows(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The children's function: refuses a batch holding a row marked Fail, sleeps as long
    as its rows ask, and says which execution ran which rows, and when."""
    started = time.monotonic()
    rows = event["Rows"]
    refused = [row["Row"] for row in rows if row.get("Fail")]
    if refused:
        raise RuntimeError(f"rows refused: {refused}")
    time.sleep(max(row.get("Sleep", 0) for row in rows))
    return {
        "Rows": [row["Row"] for row in rows],
        "JobId": event["JobId"],
        "ExecutionId": event["ExecutionId"],
        "Started": started,
        "Ended": time.monotonic(),
    }


@pytest.fixture(scope="module")
def local() -> Iterator[LocalStack]:
    template = load_template()
    template["Resources"]["RowsFunction"] = {
        "Type": "AWS::Serverless::Function",
        "Properties": {"Handler": HANDLER},
    }
    environment = dict(os.environ)  # a stack sets its clients' variables for the process
    stack = LocalStack.start(template=template)
    yield stack
    stack.stop()
    os.environ.clear()
    os.environ.update(environment)


def send_rows_map(local: LocalStack, **fields: Any) -> dict[str, Any]:
    """The jobs' Distributed Map state; `fields` replace or add its fields."""
    bucket = local.stack.physical("JobsBucket")["Ref"]
    plan = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {
            "FunctionName": local.stack.physical("RowsFunction")["Arn"],
            "Payload": {
                "Rows.$": "$",
                "ExecutionId.$": "$$.Execution.Id",
                "JobId.$": "$$.Execution.Input.BatchInput.JobId",
            },
        },
        "OutputPath": "$.Payload",
        "End": True,
    }
    state = {
        "Type": "Map",
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSON"},
            "Parameters": {"Bucket": bucket, "Key.$": "$.RowsKey"},
        },
        "ItemBatcher": {"MaxItemsPerBatch": 100, "BatchInput": {"JobId.$": "$.JobId"}},
        "MaxConcurrency": 2,
        "ToleratedFailurePercentage": 100,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
            "StartAt": "Records",
            "States": {
                "Records": {"Type": "Pass", "OutputPath": "$.Items", "Next": "Plan"},
                "Plan": plan,
            },
        },
        "ResultWriter": {
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": bucket, "Prefix.$": "$.ResultsPrefix"},
        },
        "ResultPath": "$.MapRun",
        "Next": "Finish",
    }
    return {key: value for key, value in (state | fields).items() if value is not None}


def start(
    local: LocalStack, rows: list[dict[str, Any]], in_input: bool = False, **fields: Any
) -> str:
    """Put the rows in the jobs bucket (or `in_input`, the execution's input) and start a
    machine of the Map; its execution ARN."""
    name = f"rows-{time.monotonic_ns()}"
    bucket = local.stack.physical("JobsBucket")["Ref"]
    local.client("s3").put_object(Bucket=bucket, Key=f"{name}/rows.json", Body=json.dumps(rows))
    definition = {
        "StartAt": "SendRows",
        "States": {"SendRows": send_rows_map(local, **fields), "Finish": {"Type": "Succeed"}},
    }
    sfn = local.client("stepfunctions")
    machine = sfn.create_state_machine(
        name=name,
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/jobs",
        type="STANDARD",
    )["stateMachineArn"]
    run = {"RowsKey": f"{name}/rows.json", "JobId": "job-1", "ResultsPrefix": f"{name}/results"}
    if in_input:
        run["Rows"] = rows
    return sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps(run))[
        "executionArn"
    ]


def ended(local: LocalStack, arn: str) -> dict[str, Any]:
    sfn = local.client("stepfunctions")
    deadline = time.monotonic() + DEADLINE
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"still running: {described}"
        time.sleep(0.05)
    return described


def run(
    local: LocalStack, rows: list[dict[str, Any]], in_input: bool = False, **fields: Any
) -> dict[str, Any]:
    return ended(local, start(local, rows, in_input, **fields))


def one_per_child() -> dict[str, Any]:
    return {"MaxItemsPerBatch": 1, "BatchInput": {"JobId.$": "$.JobId"}}


def rows(count: int, **marks: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows numbered from 0; `marks` (by row number as a string) add fields to some."""
    return [{"Row": n, **marks.get(str(n), {})} for n in range(count)]


def read(local: LocalStack, key: str) -> Any:
    bucket = local.stack.physical("JobsBucket")["Ref"]
    return json.loads(local.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


def results(local: LocalStack, described: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The result files the manifest lists, by status."""
    manifest = read(local, json.loads(described["output"])["MapRun"]["ResultWriterDetails"]["Key"])
    return {
        status: [entry for file in files for entry in read(local, file["Key"])]
        for status, files in manifest["ResultFiles"].items()
    }


def map_run(events: list[dict[str, Any]]) -> str:
    """The ARN of the (first) Map Run in an execution's history."""
    return next(
        event["mapRunStartedEventDetails"]["mapRunArn"]
        for event in events
        if event["type"] == "MapRunStarted"
    )


def results_folder(local: LocalStack, described: dict[str, Any]) -> str:
    """Where the Map Run's results go: the execution's ResultsPrefix and the Map Run's id."""
    run_arn = map_run(history(local, described["executionArn"]))
    return f"{json.loads(described['input'])['ResultsPrefix']}/{run_arn.rsplit(':', 1)[1]}"


def history(local: LocalStack, arn: str) -> list[dict[str, Any]]:
    sfn = local.client("stepfunctions")
    return sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]


def test_250_rows_in_batches_of_100_run_as_three_children_with_the_batch_input(local):
    described = run(local, rows(250))

    assert described["status"] == "SUCCEEDED"
    children = results(local, described)["SUCCEEDED"]
    inputs = [json.loads(child["Input"]) for child in children]
    assert [len(batch["Items"]) for batch in inputs] == [100, 100, 50]
    assert [batch["BatchInput"] for batch in inputs] == [{"JobId": "job-1"}] * 3
    assert [item for batch in inputs for item in batch["Items"]] == rows(250)
    outputs = [json.loads(child["Output"]) for child in children]
    assert [output["Rows"] for output in outputs] == [
        list(range(0, 100)),
        list(range(100, 200)),
        list(range(200, 250)),
    ]
    assert {output["JobId"] for output in outputs} == {"job-1"}


def test_each_child_sees_its_own_execution_id(local):
    described = run(local, rows(250))

    children = results(local, described)["SUCCEEDED"]
    ids = [json.loads(child["Output"])["ExecutionId"] for child in children]
    assert ids == [child["ExecutionArn"] for child in children]
    assert len(set(ids)) == 3
    assert described["executionArn"] not in ids
    machine = described["stateMachineArn"].split(":stateMachine:")[1]
    assert all(f":express:{machine}/SendRows:" in execution_id for execution_id in ids)


@pytest.mark.parametrize("concurrency", [1, 2], ids=["one", "two"])
def test_max_concurrency_bounds_the_children_running_at_once(local, concurrency):
    slow = {str(n): {"Sleep": 0.25} for n in range(4)}
    described = run(local, rows(4, **slow), ItemBatcher=one_per_child(), MaxConcurrency=concurrency)

    spans = [json.loads(child["Output"]) for child in results(local, described)["SUCCEEDED"]]
    moments = sorted(
        [(span["Started"], 1) for span in spans] + [(span["Ended"], -1) for span in spans]
    )
    running = [sum(change for _, change in moments[: n + 1]) for n in range(len(moments))]
    assert len(spans) == 4
    assert max(running) == concurrency


def test_a_failing_child_within_the_tolerance_fails_its_batch_alone(local):
    described = run(local, rows(250, **{"150": {"Fail": True}}))

    assert described["status"] == "SUCCEEDED"
    files = results(local, described)
    assert [json.loads(child["Output"])["Rows"][0] for child in files["SUCCEEDED"]] == [0, 200]
    (failed,) = files["FAILED"]
    assert failed["Status"] == "FAILED"
    assert failed["Error"] == "RuntimeError"
    assert json.loads(failed["Cause"])["errorMessage"] == "rows refused: [150]"
    assert json.loads(failed["Input"])["Items"] == rows(250, **{"150": {"Fail": True}})[100:200]
    assert "Output" not in failed


@pytest.mark.parametrize(
    ("tolerance", "status"),
    [
        ({"ToleratedFailurePercentage": None}, "FAILED"),
        ({"ToleratedFailurePercentage": 10}, "FAILED"),
        ({"ToleratedFailurePercentage": 40}, "SUCCEEDED"),
        ({"ToleratedFailureCount": 100, "ToleratedFailurePercentage": None}, "SUCCEEDED"),
        ({"ToleratedFailureCount": 99, "ToleratedFailurePercentage": None}, "FAILED"),
        ({"ToleratedFailureCount": 0}, "FAILED"),
    ],
    ids=[
        "none-declared",
        "10-percent",
        "40-percent",
        "count-100",
        "count-99",
        "count-0-and-100-percent",
    ],
)
def test_the_map_run_fails_once_its_failed_items_exceed_a_declared_tolerance(
    local, tolerance, status
):
    # 100 of the 250 items fail: the first batch.
    described = run(local, rows(250, **{"0": {"Fail": True}}), MaxConcurrency=1, **tolerance)

    assert described["status"] == status
    if status == "FAILED":
        assert described["error"] == "States.ExceedToleratedFailureThreshold"
        assert described["cause"] == "The specified tolerated failure threshold was exceeded"
        failed = next(
            e for e in history(local, described["executionArn"]) if e["type"] == "MapRunFailed"
        )
        assert (
            failed["mapRunFailedEventDetails"]["error"] == "States.ExceedToleratedFailureThreshold"
        )


def test_a_map_run_over_its_tolerance_starts_no_more_children_and_writes_them_pending(local):
    arn = start(
        local, rows(250, **{"0": {"Fail": True}}), MaxConcurrency=1, ToleratedFailurePercentage=10
    )
    described = ended(local, arn)

    assert described["status"] == "FAILED"
    folder = results_folder(local, described)
    manifest = read(local, f"{folder}/manifest.json")
    assert [file["Key"] for file in manifest["ResultFiles"]["FAILED"]] == [
        f"{folder}/FAILED_0.json"
    ]
    assert manifest["ResultFiles"]["SUCCEEDED"] == []
    pending = read(local, f"{folder}/PENDING_0.json")
    assert [len(json.loads(entry["Input"])["Items"]) for entry in pending] == [100, 50]
    assert {entry["Status"] for entry in pending} == {"PENDING"}


def test_the_result_writer_writes_a_manifest_and_result_files_as_step_functions_does(local):
    described = run(local, rows(3))

    output = json.loads(described["output"])["MapRun"]
    machine = described["stateMachineArn"]
    assert output["MapRunArn"].startswith(
        machine.replace(":stateMachine:", ":mapRun:") + "/SendRows:"
    )
    run_id = output["MapRunArn"].rsplit(":", 1)[1]
    prefix = json.loads(described["input"])["ResultsPrefix"]
    bucket = local.stack.physical("JobsBucket")["Ref"]
    assert output["ResultWriterDetails"] == {
        "Bucket": bucket,
        "Key": f"{prefix}/{run_id}/manifest.json",
    }
    key = f"{prefix}/{run_id}/SUCCEEDED_0.json"
    body = local.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    assert read(local, output["ResultWriterDetails"]["Key"]) == {
        "DestinationBucket": bucket,
        "MapRunArn": output["MapRunArn"],
        "ResultFiles": {
            "FAILED": [],
            "PENDING": [],
            "SUCCEEDED": [{"Key": key, "Size": len(body)}],
        },
    }
    (child,) = json.loads(body)
    assert set(child) == {
        "ExecutionArn",
        "Input",
        "InputDetails",
        "Name",
        "Output",
        "OutputDetails",
        "StartDate",
        "StateMachineArn",
        "Status",
        "StopDate",
    }
    assert child["StateMachineArn"] == f"{machine}/SendRows"
    assert (child["Status"], child["ExecutionArn"].split(":")[-2]) == ("SUCCEEDED", child["Name"])
    assert json.loads(child["Input"]) == {"BatchInput": {"JobId": "job-1"}, "Items": rows(3)}


def test_without_reader_and_writer_the_map_gives_its_childrens_results(local):
    # Items from the input, each through the ItemSelector into a child of its own.
    selector = {
        "Items.$": "States.Array($$.Map.Item.Value)",
        "BatchInput": {"JobId.$": "$.JobId", "Index.$": "$$.Map.Item.Index"},
    }
    described = run(
        local,
        rows(3, **{"1": {"Fail": True}}),
        in_input=True,
        ItemReader=None,
        ItemsPath="$.Rows",
        ItemBatcher=None,
        ItemSelector=selector,
        ResultWriter=None,
    )

    assert described["status"] == "SUCCEEDED"
    first, failed, last = json.loads(described["output"])["MapRun"]
    assert (first["Rows"], last["Rows"]) == ([0], [2])
    assert (failed["Status"], failed["Error"]) == ("FAILED", "RuntimeError")
    assert json.loads(failed["Input"]) == {
        "Items": [{"Row": 1, "Fail": True}],
        "BatchInput": {"JobId": "job-1", "Index": 1},
    }
    started = next(
        event
        for event in history(local, described["executionArn"])
        if event["type"] == "MapStateStarted"
    )
    assert started["mapStateStartedEventDetails"]["length"] == 3


def test_the_parents_history_holds_the_map_run_and_not_its_childrens_states(local):
    described = run(local, rows(250))

    types = [event["type"] for event in history(local, described["executionArn"])]
    assert types[types.index("MapStateEntered") :] == [
        "MapStateEntered",
        "MapStateStarted",
        "MapRunStarted",
        "MapRunSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "SucceedStateEntered",
        "SucceedStateExited",
        "ExecutionSucceeded",
    ]


def test_list_and_describe_map_runs_answer_with_the_runs_counts(local):
    described = run(local, rows(250))

    sfn = local.client("stepfunctions")
    (listed,) = sfn.list_map_runs(executionArn=described["executionArn"])["mapRuns"]
    assert listed["mapRunArn"] == json.loads(described["output"])["MapRun"]["MapRunArn"]
    run_described = sfn.describe_map_run(mapRunArn=listed["mapRunArn"])
    assert run_described["status"] == "SUCCEEDED"
    assert (run_described["maxConcurrency"], run_described["toleratedFailurePercentage"]) == (
        2,
        100,
    )
    assert run_described["itemCounts"]["total"] == run_described["itemCounts"]["succeeded"] == 250
    assert run_described["executionCounts"]["succeeded"] == 3


def test_stopping_the_parent_stops_its_children_and_starts_no_more(local):
    slow = {str(n): {"Sleep": 0.3} for n in range(10)}
    before = local.runtime.invocations["RowsFunction"]
    arn = start(local, rows(10, **slow), ItemBatcher=one_per_child(), MaxConcurrency=1)
    sfn = local.client("stepfunctions")
    deadline = time.monotonic() + DEADLINE
    # The Map Run is in the history once the execution runs (ListMapRuns fails before).
    while not (started := [e for e in history(local, arn) if e["type"] == "MapRunStarted"]) or (
        sfn.describe_map_run(mapRunArn=map_run(started))["executionCounts"]["running"] == 0
    ):
        assert time.monotonic() < deadline, "no child started"
        time.sleep(0.02)
    invoked = local.runtime.invocations["RowsFunction"]

    sfn.stop_execution(executionArn=arn)
    described = ended(local, arn)
    time.sleep(0.5)  # time for a child that would start after the stop

    assert described["status"] == "ABORTED"
    assert local.runtime.invocations["RowsFunction"] <= invoked + 1  # the one running
    types = [event["type"] for event in history(local, arn)]
    assert "MapRunAborted" in types
    assert "MapRunSucceeded" not in types
    assert sfn.describe_map_run(mapRunArn=map_run(started))["status"] == "ABORTED"
    manifest = read(local, f"{results_folder(local, described)}/manifest.json")
    files = {
        status: [child for file in files for child in read(local, file["Key"])]
        for status, files in manifest["ResultFiles"].items()
    }
    # The child running at the stop ends ABORTED, unless it had just ended; the rest never start.
    started = [child["Status"] for child in files["SUCCEEDED"] + files["FAILED"]]
    assert set(started) <= {"SUCCEEDED", "ABORTED"}
    assert started.count("ABORTED") <= 1
    assert len(started) <= local.runtime.invocations["RowsFunction"] - before + 1
    assert files["PENDING"]
    assert len(started) + len(files["PENDING"]) == 10


def test_applying_the_patches_again_wraps_the_parser_once():
    moto_patches.apply()
    parse = AmazonStateLanguageParser.parse

    moto_patches.apply()

    assert AmazonStateLanguageParser.parse is parse
