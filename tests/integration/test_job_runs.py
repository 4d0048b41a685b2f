"""Bulk jobs through the real ASL: the Distributed Map's children are the delivery steps.

A failing child and a redelivered batch send no row twice; a retry sends only the rows
that were not sent, once."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import pytest
import requests

from emulator.local import LOCAL_JWT_SECRET, LocalStack
from emulator.providers import Fault
from notify.domain.tokens import mint_token

ROWS = 60
EMAIL = {"FromAddress": "news@example.com", "Subject": "Hello {name}", "TextBody": "Hi {name}"}
TOKEN = mint_token(LOCAL_JWT_SECRET, "jobs-user", customer_id="jobs-customer")
DEADLINE = 120


@pytest.fixture(scope="module")
def api(local: LocalStack):
    server = local.serve_api()
    yield server.url.rstrip("/")
    server.stop()


def call(method: str, url: str, body: Any = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    return requests.request(method, url, json=body, headers=headers, timeout=60)


def post_job(api: str, rows: int = ROWS) -> str:
    table = [["address", "name"]] + [
        [f"{name(n)}@example.com", f"P{n}"] for n in range(1, rows + 1)
    ]
    answer = call(
        "POST", f"{api}/jobs", {"ChannelType": "EMAIL", "EmailMessage": EMAIL, "Rows": table}
    )
    assert answer.status_code == 202, answer.text
    return answer.json()["JobId"]


def name(row: int) -> str:
    return f"job-row{row}"


def job(api: str, job_id: str) -> dict[str, Any]:
    answer = call("GET", f"{api}/jobs/{job_id}")
    if answer.status_code == 502:  # seen twice under load, cause not found yet: once more
        answer = call("GET", f"{api}/jobs/{job_id}")
    assert answer.status_code == 200, answer.text
    return answer.json()


def until_ended(api: str, job_id: str, statuses=("COMPLETED", "FAILED")) -> dict[str, Any]:
    end = time.monotonic() + DEADLINE
    seen: dict[str, Any] = {}
    while time.monotonic() < end:
        seen = job(api, job_id)
        if seen["Status"] in statuses:
            return seen
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not end: {seen}")


def sent_rows(local: LocalStack, job_id: str) -> Counter[str]:
    return Counter(
        m.to for m in local.providers.sent() if (m.trace_id or "").startswith(job_id + "-")
    )


def test_a_failing_child_fails_its_batch_alone_and_a_retry_sends_only_the_rows_not_sent(local, api):
    failing = {3, 30}
    for row in failing:
        local.providers.add_fault(Fault("EMAIL", "5xx", address=f"{name(row)}@example.com"))
    try:
        job_id = post_job(api)
        first = until_ended(api, job_id)
    finally:
        local.providers.clear_faults()

    # Rows 3 and 30 fail two of the three batches: over the tolerated 10 %, the job FAILED
    # and its last batch may not have run. Whatever ran sent each row at most once.
    first_sent = sent_rows(local, job_id)
    assert max(first_sent.values()) == 1
    assert not {f"{name(n)}@example.com" for n in failing} & set(first_sent)
    assert first["Status"] == "FAILED"
    assert first["Sent"] == len(first_sent)
    assert first["Sent"] + first["Failed"] + first["Pending"] == ROWS

    retried = call("POST", f"{api}/jobs/{job_id}/retry")
    assert retried.status_code == 202, retried.text
    assert retried.json()["Rows"] == ROWS - len(first_sent)
    after = until_ended(api, job_id)

    assert sent_rows(local, job_id) == {f"{name(n)}@example.com": 1 for n in range(1, ROWS + 1)}
    assert (after["Status"], after["Sent"], after["Failed"], after["Pending"]) == (
        "COMPLETED",
        ROWS,
        0,
        0,
    )
    assert call("POST", f"{api}/jobs/{job_id}/retry").status_code == 409  # nothing left


def test_a_redelivered_batch_and_a_second_run_of_the_job_send_no_row_twice(local, api):
    job_id = post_job(api)
    sfn = local.client("stepfunctions")
    arn = job(api, job_id)
    first = sfn.describe_execution(executionArn=_execution_arn(local, job_id))
    # The same rows run again while the first run is under way (a redelivered batch).
    again = sfn.start_execution(
        stateMachineArn=first["stateMachineArn"], name=f"{job_id}-again", input=first["input"]
    )
    until_ended(api, job_id)
    _wait_execution(sfn, again["executionArn"])

    assert arn["Total"] == ROWS
    assert sent_rows(local, job_id) == {f"{name(n)}@example.com": 1 for n in range(1, ROWS + 1)}
    assert job(api, job_id)["Sent"] == ROWS


def _execution_arn(local: LocalStack, job_id: str) -> str:
    table = local.stack.physical("JobsTable")["Ref"]
    key = {"Owner": {"S": "customer:jobs-customer"}, "JobId": {"S": job_id}}
    item = local.client("dynamodb").get_item(TableName=table, Key=key)["Item"]
    return item["ExecutionArn"]["S"]


def _wait_execution(sfn: Any, arn: str) -> str:
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        status = sfn.describe_execution(executionArn=arn)["status"]
        if status != "RUNNING":
            return status
        time.sleep(0.2)
    raise AssertionError(f"{arn} still running")


def test_the_jobs_input_names_its_rows_and_where_its_results_go(local, api):
    job_id = post_job(api, rows=3)
    described = local.client("stepfunctions").describe_execution(
        executionArn=_execution_arn(local, job_id)
    )
    run = json.loads(described["input"])

    assert run["RowsKey"] == f"jobs/{job_id}/rows.json"
    assert run["Job"]["Priority"] == "bulk"
    done = until_ended(api, job_id)
    assert done["Results"].startswith(
        f"s3://{local.stack.physical('JobsBucket')['Ref']}/jobs/{job_id}/results"
    )
