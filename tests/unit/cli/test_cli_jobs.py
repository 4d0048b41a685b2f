"""`messaging jobs`: bulk jobs through the API's /jobs, as the token's tenant."""

from __future__ import annotations

import io
import json
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

import pytest
import requests

from cli import jobs
from cli.api import Identity
from cli.errors import CommandError
from cli.jobs import INLINE_LIMIT, JobsApi, Progress, wait_for_job
from cli.main import main
from cli.target import Context, Target
from notify.domain.tokens import verify_token

SECRET = "a-jobs-test-secret-that-is-long-enough"
API = "http://api.test"
UPLOAD_URL = "https://uploads.s3.test/jobs/j-1.csv?X-Amz-Signature=abc"
CSV = "Address,name\nada@example.com,Ada\nbob@example.com,Bob\n"


class FakeResponse:
    def __init__(self, status: int, body: Any = None) -> None:
        self.status_code = status
        self.text = "" if body is None else json.dumps(body)
        self.content = self.text.encode()

    def json(self) -> Any:
        return json.loads(self.text)


@dataclass
class Call:
    method: str
    path: str  # the API's path, or the whole URL for a call outside the API
    data: bytes | None
    headers: dict[str, str]
    params: dict[str, str] | None

    @property
    def body(self) -> Any:
        return json.loads(self.data or b"null")

    @property
    def caller(self) -> Any:
        return verify_token(self.headers["Authorization"].removeprefix("Bearer "), SECRET)


class JobsServer:
    """Stands in for requests.request: records each call and answers with the replies
    queued for its method and path; an unexpected call fails the test."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.replies: dict[tuple[str, str], list[Any]] = defaultdict(list)

    def reply(self, method: str, path: str, status: int, body: Any = None) -> None:
        self.replies[(method, path)].append(FakeResponse(status, body))

    def raise_on(self, method: str, path: str, exc: BaseException) -> None:
        self.replies[(method, path)].append(exc)

    def __call__(
        self,
        method: str,
        url: str,
        *,
        data: bytes | None = None,
        headers: dict[str, str],
        params: dict[str, str] | None = None,
        timeout: float,
    ) -> FakeResponse:
        path = url.removeprefix(API) if url.startswith(API) else url
        self.calls.append(Call(method, path, data, headers, params))
        queued = self.replies[(method, path)]
        assert queued, f"unexpected {method} {path}"
        answer = queued.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def paths(self) -> list[str]:
        return [f"{call.method} {call.path}" for call in self.calls]


def deployed(session: Any) -> Target:
    name = "jobs-test-jwt-secret"
    secrets = session.client("secretsmanager")
    if not secrets.list_secrets(Filters=[{"Key": "name", "Values": [name]}])["SecretList"]:
        secrets.create_secret(Name=name, SecretString=SECRET)
    return Target("messaging", session, {"ApiUrl": API + "/", "JwtSecretName": name})


@pytest.fixture
def server(mocked_aws, monkeypatch) -> JobsServer:
    target = deployed(mocked_aws)
    monkeypatch.setattr(Context, "target", lambda self: target)
    monkeypatch.setattr(jobs, "POLL_EVERY", 0)
    fake = JobsServer()
    monkeypatch.setattr(requests, "request", fake)
    return fake


@pytest.fixture
def local_server(server, mocked_aws, monkeypatch) -> JobsServer:
    """The same API, as the local stack's (`make run`)."""
    local = replace(deployed(mocked_aws), local_url="http://127.0.0.1:3000")
    monkeypatch.setattr(Context, "target", lambda self: local)
    return server


@pytest.fixture
def csv_file(tmp_path) -> str:
    path = tmp_path / "march.csv"
    path.write_text(CSV)
    return str(path)


def job(status: str, total: int = 4, pending: int = 0, **more: Any) -> dict[str, Any]:
    """GET /jobs/j-1's answer."""
    ended = total - pending
    return {
        "JobId": "j-1",
        "Name": "march.csv",
        "Status": status,
        "ChannelType": "EMAIL",
        "Priority": "bulk",
        "CreatedAt": "2025-03-01T10:00:00+00:00",
        "Total": total,
        "Sent": ended,
        "Delivered": ended,
        "Rejected": 0,
        "Failed": 0,
        "Pending": pending,
        "Cancelled": 0,
        "Errors": [],
        "ErrorCount": 0,
        "Results": "s3://results/j-1/",
        **more,
    }


def accepted(rows: int = 2, **more: Any) -> dict[str, Any]:
    return {
        "JobId": "j-1",
        "Rows": rows,
        "Status": "PENDING",
        "Errors": [],
        "ErrorCount": 0,
        **more,
    }


SEND = ["jobs", "send", "--channel", "EMAIL", "--template", "welcome", "--from", "no@x.test"]


def test_a_job_is_posted_with_its_csv_its_block_and_a_token_of_the_tenant(server, csv_file, capsys):
    server.reply("POST", "/jobs", 202, accepted())

    assert main([*SEND, csv_file, "--no-wait", "--customer-id", "c-1"]) == 0

    [posted] = server.calls
    assert posted.path == "/jobs"
    assert posted.body == {
        "Name": "march.csv",
        "ChannelType": "EMAIL",
        "EmailMessage": {"TemplateName": "welcome", "FromAddress": "no@x.test"},
        "Csv": CSV,
    }
    assert (posted.caller.sub, posted.caller.customer_id) == ("messaging-cli", "c-1")
    assert posted.headers["Content-Type"] == "application/json"
    assert capsys.readouterr().out == (
        "job j-1 of customer:c-1: 2 rows, PENDING\nfollow it: messaging jobs status j-1\n"
    )


@pytest.mark.parametrize(
    ("channel", "block"),
    [
        ("SMS", {"SMSMessage": {"TemplateName": "welcome", "OriginationNumber": "+15550001"}}),
        ("WHATSAPP", {"WhatsAppMessage": {"TemplateName": "welcome", "FromNumber": "+15550001"}}),
        ("VOICE", {"VoiceMessage": {"TemplateName": "welcome", "OriginationNumber": "+15550001"}}),
    ],
    ids=["sms", "whatsapp", "voice"],
)
def test_from_is_the_sender_field_of_the_channels_block(server, csv_file, channel, block):
    server.reply("POST", "/jobs", 202, accepted())
    argv = ["jobs", "send", csv_file, "--channel", channel, "--template", "welcome"]

    assert main([*argv, "--from", "+15550001", "--no-wait"]) == 0

    assert server.calls[0].body == {
        "Name": "march.csv",
        "ChannelType": channel,
        **block,
        "Csv": CSV,
    }


def test_name_send_at_and_priority_are_carried(server, csv_file):
    server.reply("POST", "/jobs", 202, {**accepted(), "Status": "SCHEDULED"})
    options = [
        "--name",
        "March",
        "--send-at",
        "2025-03-02T09:00:00Z",
        "--priority",
        "transactional",
    ]

    assert main([*SEND, csv_file, *options, "--no-wait"]) == 0

    body = server.calls[0].body
    assert (body["Name"], body["SendAt"], body["Priority"]) == (
        "March",
        "2025-03-02T09:00:00Z",
        "transactional",
    )


def test_an_sms_job_may_leave_the_sender_to_the_account(server, csv_file):
    server.reply("POST", "/jobs", 202, accepted())

    assert main(["jobs", "send", csv_file, "--channel", "SMS", "--template", "t", "--no-wait"]) == 0

    assert server.calls[0].body["SMSMessage"] == {"TemplateName": "t"}


def test_an_email_job_without_a_sender_is_refused_before_anything_is_sent(server, csv_file, capsys):
    assert main(["jobs", "send", csv_file, "--channel", "EMAIL", "--template", "t"]) == 1

    assert server.calls == []
    assert capsys.readouterr().err == "messaging: a EMAIL job needs --from: its FromAddress\n"


def test_a_missing_file_is_one_line(server, tmp_path, capsys):
    assert main([*SEND, str(tmp_path / "nope.csv")]) == 1

    assert server.calls == []
    assert capsys.readouterr().err.startswith("messaging: cannot read ")


def test_the_rows_the_answer_refuses_are_listed_with_row_address_and_reason(
    server, csv_file, capsys
):
    refused = [
        {"Row": 3, "Address": "bob@", "Reason": "not an email address"},
        {"Row": 7, "Address": "", "Reason": "no address"},
    ]
    server.reply("POST", "/jobs", 202, accepted(Errors=refused, ErrorCount=5))

    assert main([*SEND, csv_file, "--no-wait"]) == 0

    assert capsys.readouterr().out.splitlines()[1:] == [
        "5 rows refused:",
        "  ROW  ADDRESS  REASON",
        "  3    bob@     not an email address",
        "  7    -        no address",
        "  (2 of 5 shown)",
        "follow it: messaging jobs status j-1",
    ]


def test_a_refused_job_prints_the_apis_reason_and_exits_1(server, csv_file, capsys):
    server.reply("POST", "/jobs", 400, {"message": "unknown template welcome"})

    assert main([*SEND, csv_file]) == 1

    out, err = capsys.readouterr()
    assert (out, err) == ("", "messaging: HTTP 400: unknown template welcome\n")
    assert server.paths() == ["POST /jobs"]


def test_no_wait_json_is_the_accepted_job(server, csv_file, capsys):
    server.reply("POST", "/jobs", 202, accepted())

    assert main([*SEND, csv_file, "--no-wait", "--json"]) == 0

    assert json.loads(capsys.readouterr().out) == accepted()
    assert server.paths() == ["POST /jobs"]


def test_waiting_shows_a_line_per_poll_and_ends_with_the_counts_on_completed(
    server, csv_file, capsys
):
    server.reply("POST", "/jobs", 202, accepted(rows=4))
    for answer in (job("PENDING", pending=4), job("RUNNING", pending=2), job("COMPLETED")):
        server.reply("GET", "/jobs/j-1", 200, answer)

    assert main([*SEND, csv_file]) == 0

    out, err = capsys.readouterr()
    assert err.splitlines() == [
        f"[{'-' * 30}]   0% 0/4 PENDING: sent 0, failed 0, rejected 0",
        f"[{'#' * 15}{'-' * 15}]  50% 2/4 RUNNING: sent 2, failed 0, rejected 0",
        f"[{'#' * 30}] 100% 4/4 COMPLETED: sent 4, failed 0, rejected 0",
    ]
    assert out.splitlines()[-1] == (
        "job j-1 COMPLETED: total 4, sent 4, delivered 4, rejected 0, failed 0, pending 0, "
        "cancelled 0"
    )
    assert server.paths() == ["POST /jobs", *["GET /jobs/j-1"] * 3]


@pytest.mark.parametrize("status", ["CANCELLED", "FAILED"])
def test_waiting_ends_on_a_job_that_did_not_complete_with_exit_1(server, csv_file, capsys, status):
    server.reply("POST", "/jobs", 202, accepted(rows=4))
    server.reply("GET", "/jobs/j-1", 200, job("RUNNING", pending=3))
    ended = job(status, pending=0, Sent=1, Delivered=1, Failed=1, Cancelled=2)
    server.reply("GET", "/jobs/j-1", 200, ended)

    assert main([*SEND, csv_file]) == 1

    assert (
        f"job j-1 {status}: total 4, sent 1, delivered 1, rejected 0, failed 1, pending 0, "
        "cancelled 2"
    ) in capsys.readouterr().out.splitlines()


def test_a_completed_job_with_failures_says_how_to_see_and_retry_them(server, csv_file, capsys):
    server.reply("POST", "/jobs", 202, accepted(rows=4))
    server.reply("GET", "/jobs/j-1", 200, job("COMPLETED", Sent=3, Failed=1, ErrorCount=1))

    assert main([*SEND, csv_file]) == 0

    assert capsys.readouterr().out.splitlines()[-2:] == [
        "1 error: messaging jobs errors j-1",
        "send the failed rows again: messaging jobs retry j-1",
    ]


def test_waiting_json_is_the_final_job_alone(server, csv_file, capsys):
    server.reply("POST", "/jobs", 202, accepted(rows=4))
    server.reply("GET", "/jobs/j-1", 200, job("COMPLETED"))

    assert main([*SEND, csv_file, "--json"]) == 0

    assert json.loads(capsys.readouterr().out) == job("COMPLETED")


def test_ctrl_c_stops_waiting_not_the_job_and_says_how_to_look_again(server, csv_file, capsys):
    server.reply("POST", "/jobs", 202, accepted(rows=4))
    server.reply("GET", "/jobs/j-1", 200, job("RUNNING", pending=3))
    server.raise_on("GET", "/jobs/j-1", KeyboardInterrupt())

    assert main([*SEND, csv_file]) == 130

    assert capsys.readouterr().err.splitlines()[-1] == (
        "messaging: stopped waiting; job j-1 goes on: `messaging jobs status j-1` shows it, "
        "`messaging jobs cancel j-1` stops it"
    )
    assert "DELETE /jobs/j-1" not in server.paths()


def test_a_file_over_the_inline_limit_is_uploaded_without_the_token(server, tmp_path, capsys):
    large = tmp_path / "big.csv"
    row = b"someone@example.com,Someone\n"
    large.write_bytes(b"Address,name\n" + row * (INLINE_LIMIT // len(row) + 1))
    upload_headers = {"Content-Type": "text/csv"}
    answer = {"JobId": "j-1", "Status": "PENDING", "UploadUrl": UPLOAD_URL}
    server.reply("POST", "/jobs", 202, {**answer, "UploadHeaders": upload_headers})
    server.reply("PUT", UPLOAD_URL, 200)

    assert main([*SEND, str(large), "--no-wait"]) == 0

    posted, put = server.calls
    assert posted.body == {
        "Name": "big.csv",
        "ChannelType": "EMAIL",
        "EmailMessage": {"TemplateName": "welcome", "FromAddress": "no@x.test"},
        "Upload": True,
    }
    assert (put.method, put.path, put.headers) == ("PUT", UPLOAD_URL, upload_headers)
    assert put.data == large.read_bytes()
    out = capsys.readouterr().out
    assert out.startswith(f"job j-1 of user:messaging-cli: {large.stat().st_size} bytes uploaded")
    assert "Signature" not in out  # the presigned URL is a credential


def test_a_failed_upload_says_the_job_waits_for_its_file(server, tmp_path, capsys):
    large = tmp_path / "big.csv"
    large.write_bytes(b"a" * (INLINE_LIMIT + 1))
    answer = {"JobId": "j-1", "Status": "PENDING", "UploadUrl": UPLOAD_URL}
    server.reply("POST", "/jobs", 202, {**answer, "UploadHeaders": {"Content-Type": "text/csv"}})
    server.reply("PUT", UPLOAD_URL, 403, {"Code": "SignatureDoesNotMatch"})

    assert main([*SEND, str(large)]) == 1

    assert capsys.readouterr().err == (
        f"messaging: the upload of {large} failed (HTTP 403): job j-1 waits for a file that "
        "will not come; cancel it with `messaging jobs cancel j-1` and send it again\n"
    )


def test_the_local_stack_is_called_as_the_banners_tenant(local_server, csv_file, capsys):
    local_server.reply("POST", "/jobs", 202, accepted())

    assert main([*SEND, csv_file, "--no-wait"]) == 0

    caller = local_server.calls[0].caller
    assert (caller.sub, caller.customer_id) == ("local-user", "local-customer")
    assert "of customer:local-customer" in capsys.readouterr().out


def test_an_unreachable_api_is_one_line(server, capsys):
    server.raise_on("GET", "/jobs/j-1", requests.ConnectionError("refused"))

    assert main(["jobs", "status", "j-1"]) == 1

    assert capsys.readouterr().err == (
        "messaging: cannot reach the API at http://api.test/jobs/j-1: ConnectionError\n"
    )


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_waiting_gives_up_at_its_deadline_with_the_last_state_seen(server):
    for _ in range(10):
        server.reply("GET", "/jobs/j-1", 200, job("RUNNING", pending=3))
    clock = FakeClock()
    api = JobsApi(API + "/jobs", Identity("ops"), SECRET)

    with pytest.raises(CommandError) as gave_up:
        wait_for_job(
            api, "j-1", 10, Progress(io.StringIO()), every=2, clock=clock, sleep=clock.sleep
        )

    assert str(gave_up.value) == (
        "job j-1 still RUNNING (1/4 done) after 10 s; look again: messaging jobs status j-1"
    )
    assert len(server.calls) == 6  # at 0, 2, 4, 6, 8 and 10 s


def test_on_a_terminal_the_progress_is_redrawn_in_place_then_left_on_its_line():
    stream = io.StringIO()
    progress = Progress(stream, in_place=True)

    progress.show(job("RUNNING", pending=2))
    progress.show(job("COMPLETED"))
    progress.end()

    first, second = stream.getvalue().removesuffix("\n").split("\r")[1:]
    assert first.endswith("2/4 RUNNING: sent 2, failed 0, rejected 0\x1b[K")
    assert second.endswith("4/4 COMPLETED: sent 4, failed 0, rejected 0\x1b[K")
    assert stream.getvalue().count("\n") == 1


def test_list_follows_every_page_newest_first(server, capsys):
    april = {"JobId": "j-2", "Name": "april.csv", "Status": "RUNNING", "Total": 10}
    march = {"JobId": "j-1", "Name": "march.csv", "Status": "COMPLETED", "Total": 4}
    first_page = {"Jobs": [{**april, "CreatedAt": "2025-04-01T08:00:00"}], "NextToken": "n-1"}
    server.reply("GET", "/jobs", 200, first_page)
    server.reply("GET", "/jobs", 200, {"Jobs": [{**march, "CreatedAt": "2025-03-01T10:00:00"}]})

    assert main(["jobs", "list"]) == 0

    assert [call.params for call in server.calls] == [None, {"NextToken": "n-1"}]
    assert capsys.readouterr().out.splitlines() == [
        "JOB ID  NAME       STATUS     TOTAL  CREATED",
        "j-2     april.csv  RUNNING    10     2025-04-01 08:00:00",
        "j-1     march.csv  COMPLETED  4      2025-03-01 10:00:00",
    ]


def test_list_json_is_a_list_and_no_jobs_says_whose(server, capsys):
    server.reply("GET", "/jobs", 200, {"Jobs": [{"JobId": "j-1"}]})
    server.reply("GET", "/jobs", 200, {"Jobs": []})

    assert main(["jobs", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"JobId": "j-1"}]
    assert main(["jobs", "list", "--customer-id", "c-1"]) == 0
    assert capsys.readouterr().out == "no jobs of customer:c-1\n"


def test_status_shows_the_job_its_progress_and_counts(server, capsys):
    server.reply("GET", "/jobs/j-1", 200, job("RUNNING", pending=2, Failed=1, ErrorCount=1))

    assert main(["jobs", "status", "j-1"]) == 0

    assert capsys.readouterr().out.splitlines() == [
        "job j-1: march.csv",
        "  status    RUNNING",
        "  channel   EMAIL, priority bulk",
        "  created   2025-03-01 10:00:00",
        f"  progress  [{'#' * 15}{'-' * 15}]  50% 2/4 RUNNING: sent 2, failed 1, rejected 0",
        "  counts    total 4, sent 2, delivered 2, rejected 0, failed 1, pending 2, cancelled 0",
        "  errors    1: messaging jobs errors j-1",
        "  results   s3://results/j-1/",
    ]


def test_status_json_is_the_apis_answer(server, capsys):
    server.reply("GET", "/jobs/j-1", 200, job("COMPLETED"))

    assert main(["jobs", "status", "j-1", "--json"]) == 0

    assert json.loads(capsys.readouterr().out) == job("COMPLETED")


@pytest.mark.parametrize(
    "argv",
    [["status", "j-9"], ["errors", "j-9"], ["cancel", "j-9"], ["retry", "j-9"]],
    ids=["status", "errors", "cancel", "retry"],
)
def test_another_tenants_or_an_unknown_job_is_the_apis_404(server, capsys, argv):
    method, path = {"cancel": ("DELETE", "/jobs/j-9"), "retry": ("POST", "/jobs/j-9/retry")}.get(
        argv[0], ("GET", "/jobs/j-9")
    )
    server.reply(method, path, 404, {"message": "no job j-9"})

    assert main(["jobs", *argv]) == 1

    assert capsys.readouterr() == ("", "messaging: HTTP 404: no job j-9\n")


def test_a_job_id_is_one_path_segment(server):
    server.reply("GET", "/jobs/a%2Fb", 200, job("COMPLETED"))

    assert main(["jobs", "status", "a/b"]) == 0


def test_errors_is_a_table_and_says_when_more_exist_than_shown(server, capsys):
    shown = [{"Row": n, "Address": f"p{n}@x.test", "Reason": "bounced"} for n in (2, 10)]
    server.reply("GET", "/jobs/j-1", 200, job("COMPLETED", Errors=shown, ErrorCount=250))

    assert main(["jobs", "errors", "j-1"]) == 0

    assert capsys.readouterr().out.splitlines() == [
        "250 rows with errors:",
        "  ROW  ADDRESS     REASON",
        "  2    p2@x.test   bounced",
        "  10   p10@x.test  bounced",
        "  (2 of 250 shown)",
    ]


def test_errors_of_a_clean_job_and_as_json(server, capsys):
    server.reply("GET", "/jobs/j-1", 200, job("COMPLETED"))
    failed = [{"Row": 2, "Address": "a@x.test", "Reason": "bounced"}]
    server.reply("GET", "/jobs/j-1", 200, job("COMPLETED", Errors=failed, ErrorCount=1))

    assert main(["jobs", "errors", "j-1"]) == 0
    assert capsys.readouterr().out == "job j-1: no errors\n"
    assert main(["jobs", "errors", "j-1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "JobId": "j-1",
        "ErrorCount": 1,
        "Errors": failed,
    }


def test_cancel_deletes_the_job(server, capsys):
    server.reply("DELETE", "/jobs/j-1", 202, {"JobId": "j-1", "Status": "CANCELLED"})

    assert main(["jobs", "cancel", "j-1"]) == 0

    assert server.paths() == ["DELETE /jobs/j-1"]
    assert capsys.readouterr().out == "job j-1 CANCELLED: no more of its rows are sent\n"


def test_cancelling_a_job_that_ended_is_the_apis_409(server, capsys):
    server.reply("DELETE", "/jobs/j-1", 409, {"message": "job j-1 is COMPLETED"})

    assert main(["jobs", "cancel", "j-1"]) == 1

    assert capsys.readouterr().err == "messaging: HTTP 409: job j-1 is COMPLETED\n"


def test_retry_sends_the_failed_rows_again(server, capsys):
    server.reply("POST", "/jobs/j-1/retry", 202, {"JobId": "j-1", "Rows": 3})

    assert main(["jobs", "retry", "j-1", "--sub", "ops"]) == 0

    [retried] = server.calls
    assert (retried.caller.sub, retried.data) == ("ops", None)
    assert capsys.readouterr().out == (
        "job j-1: sending its 3 failed rows again\nfollow it: messaging jobs status j-1\n"
    )


def test_retrying_a_running_job_or_one_without_failures_is_the_apis_409(server, capsys):
    server.reply("POST", "/jobs/j-1/retry", 409, {"message": "job j-1 has no FAILED rows"})

    assert main(["jobs", "retry", "j-1"]) == 1

    assert capsys.readouterr().err == "messaging: HTTP 409: job j-1 has no FAILED rows\n"


@pytest.mark.parametrize(
    "argv",
    [
        ["jobs", "send", "f.csv", "--template", "t"],
        ["jobs", "send", "f.csv", "--channel", "EMAIL"],
        ["jobs", "send", "f.csv", "--channel", "FAX", "--template", "t"],
        ["jobs", "send", "f.csv", "--channel", "SMS", "--template", "t", "--priority", "now"],
        ["jobs", "status"],
        ["jobs"],
    ],
    ids=["no-channel", "no-template", "unknown-channel", "unknown-priority", "no-job", "no-verb"],
)
def test_a_jobs_usage_error_is_one_line_with_exit_code_2(argv, capsys):
    assert main(argv) == 2

    error = capsys.readouterr().err
    assert error.startswith("messaging: ")
    assert error.count("\n") == 1
