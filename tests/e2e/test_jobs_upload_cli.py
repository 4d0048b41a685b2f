"""Bulk jobs as a user starts them: a file PUT to the upload URL the API answers (as curl
would), a file refused whole, the CLI from `jobs send` to `jobs errors`, and a job beside
a password reset, which still goes out at once."""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from conftest import example, trace_header, wait_until
from test_jobs_api import EMAIL, call, ended, job_sent, job_status, jobs_url

import cli.jobs
from emulator.local import LocalStack, s3_endpoint
from emulator.pacing_bench import budgets_of


def addresses_csv(rows: int, bad: dict[int, str] | None = None) -> str:
    """`rows` recipients row<n>@example.com named Person <n>; `bad` replaces some addresses."""
    lines = ["Email address,name"]
    for n in range(1, rows + 1):
        lines.append(f"{(bad or {}).get(n, f'row{n}@example.com')},Person {n}")
    return "\n".join(lines) + "\n"


def upload(local: LocalStack, token: str, body: dict[str, Any], data: bytes) -> str:
    """POST the job for an upload, PUT `data` where the answer says; the JobId."""
    answer = call("POST", jobs_url(local), token, {"Upload": True, **body})
    assert answer.status_code == 202, answer.text
    created = answer.json()
    assert created["Status"] == "PENDING"
    # Pre-signed for the local AWS endpoint: any process here can PUT there.
    assert created["UploadUrl"].startswith(s3_endpoint(local.aws) + "/")
    put = requests.put(
        created["UploadUrl"], data=data, headers=created["UploadHeaders"], timeout=30
    )
    assert put.status_code == 200, put.text
    return created["JobId"]


@pytest.fixture
def email_budget(local: LocalStack):
    """Set the EMAIL send budget for one test; the template's budget again after it."""
    budgets = budgets_of(local)
    yield lambda rate: budgets.set_rate("EMAIL", rate)
    budgets.set_rate("EMAIL", None)


def test_an_uploaded_file_runs_its_job_once_per_row_with_its_substitution(
    local, token, email_budget
):
    email_budget(1000)
    rows = 40

    job_id = upload(
        local,
        token,
        {"Name": "uploaded", "ChannelType": "EMAIL", "EmailMessage": EMAIL},
        addresses_csv(rows).encode(),
    )
    job = ended(local, token, job_id)

    sent = job_sent(local, job_id)
    assert Counter(m.to for m in sent) == {f"row{n}@example.com": 1 for n in range(1, rows + 1)}
    for message in sent:
        row = int(message.trace_id.rsplit("-", 1)[1])
        assert message.to == f"row{row}@example.com"
        assert message.subject == f"School closed, Person {row}"
    counts = ("Status", "Total", "Sent", "Rejected", "Failed", "Pending")
    assert {key: job[key] for key in counts} == {
        "Status": "COMPLETED",
        "Total": rows,
        "Sent": len(sent),
        "Rejected": 0,
        "Failed": 0,
        "Pending": 0,
    }


def test_an_uploaded_file_without_an_address_column_fails_its_job_saying_why(local, token):
    job_id = upload(
        local,
        token,
        {"ChannelType": "EMAIL", "EmailMessage": EMAIL},
        b"name,code\nAnn,1\nBob,2\n",
    )

    job = ended(local, token, job_id)

    assert job_sent(local, job_id) == []
    assert job["Status"] == "FAILED"
    # What the user needs to fix the file: the reason POST /jobs gives such a Csv (400).
    assert "no address column" in json.dumps(job), job


def test_the_upload_url_is_signed_with_sigv4_as_s3_requires_of_a_new_bucket(local, token):
    body = {"Upload": True, "ChannelType": "EMAIL", "EmailMessage": EMAIL}
    created = call("POST", jobs_url(local), token, body).json()
    call("DELETE", jobs_url(local, created["JobId"]), token)

    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in created["UploadUrl"]


@pytest.fixture
def jobs_cli(messaging, local, monkeypatch, email_budget):
    """`messaging jobs ...` as a tenant of its own (its `jobs list` holds only this test's
    jobs), a template with a Subject, and a progress read every 0.1 s."""
    monkeypatch.setattr(cli.jobs, "POLL_EVERY", 0.1)
    email_budget(1000)
    customer = f"jobs-cli-{uuid.uuid4().hex[:8]}"
    template = f"closure-{customer}"
    stored = messaging(
        "templates",
        "put",
        template,
        "--subject",
        "Closed tomorrow, {name}",
        "--body",
        "Dear {name}, the school is closed tomorrow.",
    )
    assert stored[0] == 0, stored

    def run(*argv: str) -> tuple[int, str, str]:
        if argv[0] == "send":
            argv = (*argv, "--channel", "EMAIL", "--from", "news@example.com")
            argv = (*argv, "--template", template)
        return messaging("jobs", *argv, "--customer-id", customer)

    yield run
    messaging("templates", "delete", template)


def test_jobs_send_waits_for_the_end_and_status_list_and_errors_show_the_job(
    local, jobs_cli, tmp_path
):
    rows = 30
    bad_row = 7
    source = tmp_path / "closure.csv"
    source.write_text(addresses_csv(rows, {bad_row: "not-an-address"}))

    code, out, err = jobs_cli("send", str(source))

    assert code == 0, (out, err)
    job_id = re.match(r"job (\S+) of ", out).group(1)
    assert f"job {job_id} COMPLETED: total {rows}, sent {rows - 1}, " in out
    assert "rejected 1, failed 0, pending 0" in out
    assert f"1 error: messaging jobs errors {job_id}" in out
    assert "100%" in err.splitlines()[-1]  # the progress bar's last read
    sent = job_sent(local, job_id)
    assert sorted(m.subject for m in sent) == sorted(
        f"Closed tomorrow, Person {n}" for n in range(1, rows + 1) if n != bad_row
    )

    code, out, _ = jobs_cli("status", job_id)
    assert code == 0
    assert f"job {job_id}: closure.csv" in out
    assert re.search(r"status\s+COMPLETED", out)
    assert f"total {rows}, sent {rows - 1}, " in out

    code, out, _ = jobs_cli("list")
    assert code == 0
    listed = out.splitlines()[1:]  # under the header
    assert len(listed) == 1
    assert listed[0].split()[:4] == [job_id, "closure.csv", "COMPLETED", str(rows)]

    code, out, _ = jobs_cli("errors", job_id)
    assert code == 0
    assert out.splitlines()[0] == "1 row with errors:"
    error = out.splitlines()[2].split(None, 2)
    assert error[:2] == [str(bad_row), "not-an-address"]
    assert "address" in error[2].lower()


def test_jobs_send_uploads_a_file_over_the_inline_limit_and_waits_for_its_job(
    local, jobs_cli, tmp_path, monkeypatch
):
    monkeypatch.setattr(cli.jobs, "INLINE_LIMIT", 100)
    source = tmp_path / "large.csv"
    source.write_text(addresses_csv(30))

    code, out, err = jobs_cli("send", str(source))

    assert code == 0, (out, err)
    size = source.stat().st_size
    job_id = re.match(rf"job (\S+) of \S+: {size} bytes uploaded, PENDING$", out.splitlines()[0])
    job_id = job_id.group(1)
    assert f"job {job_id} COMPLETED: total 30, sent 30, " in out
    assert len(job_sent(local, job_id)) == 30


def test_jobs_send_no_wait_prints_the_job_id_and_cancel_stops_it_before_it_sends(
    local, jobs_cli, tmp_path
):
    source = tmp_path / "later.csv"
    source.write_text(addresses_csv(30))
    later = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    code, out, _ = jobs_cli("send", str(source), "--no-wait", "--send-at", later)

    assert code == 0
    job_id = re.match(r"job (\S+) of \S+: 30 rows, SCHEDULED$", out.splitlines()[0]).group(1)
    assert out.splitlines()[-1] == f"follow it: messaging jobs status {job_id}"

    code, out, _ = jobs_cli("cancel", job_id)
    assert (code, out.strip()) == (0, f"job {job_id} CANCELLED: no more of its rows are sent")
    code, out, _ = jobs_cli("status", job_id)
    assert re.search(r"status\s+CANCELLED", out)
    assert "cancelled 30" in out
    assert job_sent(local, job_id) == []


def test_a_password_reset_goes_out_at_once_beside_a_job_filling_the_budget(
    local, token, post, email_budget
):
    email_budget(20)  # 200 rows take 10 s
    body = {"ChannelType": "EMAIL", "EmailMessage": EMAIL, "Csv": addresses_csv(200)}
    job_id = call("POST", jobs_url(local), token, body).json()["JobId"]
    wait_until(lambda: len(job_sent(local, job_id)) >= 20, "the job's first sends")

    reset = example("email-only.json")
    posted = datetime.now(UTC)
    answer = post(reset)
    delivered = wait_until(lambda: local.providers.sent(reset["TraceId"]), "the reset sent")
    job = job_status(local, token, job_id)
    cancelled = call("DELETE", jobs_url(local, job_id), token)

    assert answer.status_code == 202, answer.text
    # From its Plan, where the lanes act (the way in, API to queue to pipe, is the local
    # stack's load: two stacks share two cores here).
    accepted = datetime.fromisoformat(delivered[0].at)
    planned = datetime.fromisoformat(trace_header(local, reset["TraceId"])["StartedAt"]["S"])
    assert accepted - planned < timedelta(seconds=2), (accepted - planned, accepted - posted)
    # Behind the job's rows in one line, the reset would have waited Pending / 20 s.
    assert job["Status"] == "RUNNING", job
    assert job["Pending"] > 2 * 20, job
    assert cancelled.status_code == 202, cancelled.text
    assert ended(local, token, job_id)["Status"] == "CANCELLED"
