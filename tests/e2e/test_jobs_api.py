"""Bulk jobs over HTTP against the local stack: a CSV job delivered exactly once with each
row's own substitution, its counts and rows in error, a cancel mid-job, another tenant's
404, and a job refused whole before anything is stored."""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import Any

import pytest
import requests
from conftest import wait_until

from emulator.local import LOCAL_JWT_SECRET, LocalStack
from emulator.pacing_bench import budgets_of
from notify.domain.tokens import mint_token

# `make test` sends a few hundred rows; JOB_ROWS=2000 runs the full size.
ROWS = int(os.environ.get("JOB_ROWS", "75"))
BAD_ROWS = {5: "not-an-address", 17: "", 40: "row1@example.com"}  # invalid, none, duplicate
EMAIL = {
    "FromAddress": "news@example.com",
    "Subject": "School closed, {name}",
    "TextBody": "Dear {name}, the school is closed tomorrow.",
}


def csv_of(rows: int) -> str:
    lines = ["Email address,name"]
    for n in range(1, rows + 1):
        lines.append(f"{BAD_ROWS.get(n, f'row{n}@example.com')},Person {n}")
    return "\n".join(lines) + "\n"


def jobs_url(local: LocalStack, *path: str) -> str:
    return "/".join([local.http.url, "jobs", *path])


def call(method: str, url: str, token: str, body: Any = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return requests.request(method, url, json=body, headers=headers, timeout=60)


def job_status(local: LocalStack, token: str, job_id: str) -> dict[str, Any]:
    answer = call("GET", jobs_url(local, job_id), token)
    assert answer.status_code == 200, answer.text
    return answer.json()


def ended(local: LocalStack, token: str, job_id: str, deadline: float = 300) -> dict[str, Any]:
    """The job once it has ended and no row is pending, polled as the CLI polls (each poll
    reads every row's recipient: a tight loop would slow the stack it waits for)."""
    end, job = time.monotonic() + deadline, {}
    while time.monotonic() < end:
        job = job_status(local, token, job_id)
        if job["Status"] not in ("PENDING", "SCHEDULED", "RUNNING") and job["Pending"] == 0:
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not end in {deadline} s: {job}")


def job_sent(local: LocalStack, job_id: str) -> list[Any]:
    """What the local providers accepted for the job's rows."""
    return [m for m in local.providers.sent() if (m.trace_id or "").startswith(job_id + "-")]


@pytest.fixture
def roomy_budget(local: LocalStack):
    """The EMAIL budget wide enough that the emulator, not the budget, sets the pace."""
    budgets = budgets_of(local)
    budgets.set_rate("EMAIL", 1000)
    yield budgets
    budgets.set_rate("EMAIL", None)


def test_a_csv_job_is_delivered_once_per_row_with_its_counts_and_rows_in_error(
    local, token, roomy_budget
):
    answer = call(
        "POST",
        jobs_url(local),
        token,
        {"Name": "closure", "ChannelType": "EMAIL", "EmailMessage": EMAIL, "Csv": csv_of(ROWS)},
    )
    assert answer.status_code == 202, answer.text
    created = answer.json()
    job_id = created["JobId"]
    assert created["Rows"] == ROWS
    assert [e["Row"] for e in created["Errors"]] == sorted(BAD_ROWS)

    job = ended(local, token, job_id)

    sent = job_sent(local, job_id)
    assert Counter(m.to for m in sent) == {
        f"row{n}@example.com": 1 for n in range(1, ROWS + 1) if n not in BAD_ROWS
    }
    for message in sent:
        row = int(message.trace_id.rsplit("-", 1)[1])
        assert message.to == f"row{row}@example.com"
        assert f"Person {row}" in message.subject
    assert job["Status"] == "COMPLETED"
    assert job["Total"] == ROWS
    assert (job["Sent"], job["Rejected"], job["Failed"], job["Pending"]) == (
        len(sent),
        len(BAD_ROWS),
        0,
        0,
    )
    assert [(e["Row"], e["Address"]) for e in job["Errors"]] == [
        (n, BAD_ROWS[n]) for n in sorted(BAD_ROWS)
    ]
    assert "duplicate" in job["Errors"][2]["Reason"]
    # Each row is a trace of its own: the status API answers per recipient.
    row = call("GET", f"{local.http.url}/messages/{job_id}-1", token).json()
    assert row["Status"] == "COMPLETED"
    listed = call("GET", jobs_url(local), token).json()["Jobs"]
    assert listed[0]["JobId"] == job_id


def test_cancelling_a_job_stops_what_is_not_sent_and_sends_nothing_twice(local, token):
    budgets = budgets_of(local)
    budgets.set_rate("EMAIL", 20)  # 200 rows take 10 s: the cancel lands mid-job
    try:
        body = {"ChannelType": "EMAIL", "EmailMessage": EMAIL, "Csv": csv_of(200)}
        job_id = call("POST", jobs_url(local), token, body).json()["JobId"]

        def under_way() -> int:
            return len(job_sent(local, job_id))

        wait_until(lambda: under_way() >= 20, "the job's first sends")
        cancelled = call("DELETE", jobs_url(local, job_id), token)

        job = ended(local, token, job_id)
    finally:
        budgets.set_rate("EMAIL", None)
    assert cancelled.status_code == 202, cancelled.text
    sent = job_sent(local, job_id)
    assert len(sent) < 200 - len(BAD_ROWS)
    assert max(Counter(m.to for m in sent).values()) == 1
    assert job["Status"] == "CANCELLED"
    assert job["Sent"] == len(sent)
    assert job["Sent"] + job["Rejected"] + job["Failed"] + job["Cancelled"] == 200
    assert call("DELETE", jobs_url(local, job_id), token).status_code == 409


def test_another_tenant_gets_404_for_a_job_it_does_not_own(local, token):
    body = {
        "ChannelType": "EMAIL",
        "EmailMessage": EMAIL,
        "Rows": [["address", "name"], ["x@example.com", "X"]],
    }
    job_id = call("POST", jobs_url(local), token, body).json()["JobId"]
    other = mint_token(LOCAL_JWT_SECRET, "someone", customer_id="another-customer")

    assert call("GET", jobs_url(local, job_id), other).status_code == 404
    assert call("DELETE", jobs_url(local, job_id), other).status_code == 404
    assert all(j["JobId"] != job_id for j in call("GET", jobs_url(local), other).json()["Jobs"])


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"Csv": "name,code\nAnn,1\n"}, "no address column"),
        ({"Csv": "address,name\n"}, "no rows"),
        ({"EmailMessage": {"FromAddress": "news@example.com", "TemplateName": "nope"}}, "nope"),
        ({"EmailMessage": EMAIL | {"FromAddress": "ceo@elsewhere.org"}}, "DefaultSenders"),
        ({"EmailMessage": {"FromAddress": "news@example.com", "TextBody": "Hi {name}"}}, "Subject"),
    ],
)
def test_a_job_refused_whole_gets_400_naming_why_and_nothing_is_stored(
    local, token, change, reason
):
    before = {j["JobId"] for j in call("GET", jobs_url(local), token).json()["Jobs"]}
    body = {"ChannelType": "EMAIL", "EmailMessage": EMAIL, "Csv": csv_of(3)} | change

    answer = call("POST", jobs_url(local), token, body)

    assert answer.status_code == 400, answer.text
    assert reason in answer.json()["reason"]
    assert {j["JobId"] for j in call("GET", jobs_url(local), token).json()["Jobs"]} == before
