"""`messaging send`: a JSON payload posted with a fresh token and the API key."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from typing import Any

import pytest
import requests

from cli.api import read_json, refusal_hint
from cli.errors import CommandError
from cli.main import main
from cli.target import Context, Target
from notify.domain.tokens import verify_token

SECRET = "a-local-secret-that-is-long-enough"


class FakeResponse:
    def __init__(self, status: int, reason: str, payload: Any) -> None:
        self.status_code, self.reason, self.text = status, reason, json.dumps(payload)

    def json(self) -> Any:
        return json.loads(self.text)


class Api:
    """Stands in for requests.post: records each POST, answers with the queued replies."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.answers: list[FakeResponse] = []
        self.local: Target | None = None

    def __call__(self, url: str, data: str, headers: dict[str, str], timeout: float) -> Any:
        self.posts.append({"url": url, "body": json.loads(data), "headers": headers})
        return self.answers.pop(0)


@pytest.fixture
def api(mocked_aws, monkeypatch) -> Api:
    name = "send-test-jwt-secret"
    secrets = mocked_aws.client("secretsmanager")
    if not secrets.list_secrets(Filters=[{"Key": "name", "Values": [name]}])["SecretList"]:
        secrets.create_secret(Name=name, SecretString=SECRET)
    outputs = {"ApiUrl": "http://api.test/", "JwtSecretName": name}
    deployed = Target("messaging", mocked_aws, outputs, api_key_value="api-key-1")
    monkeypatch.setattr(Context, "target", lambda self: deployed)
    fake = Api()
    fake.local = replace(deployed, local_url="http://127.0.0.1:3000")
    monkeypatch.setattr(requests, "post", fake)
    return fake


@pytest.fixture
def local_api(api, monkeypatch) -> Api:
    """The same API, as the local stack's (`make run`)."""
    monkeypatch.setattr(Context, "target", lambda self: api.local)
    return api


def caller_of(post: dict[str, Any]) -> Any:
    return verify_token(post["headers"]["Authorization"].removeprefix("Bearer "), SECRET)


def accepted() -> FakeResponse:
    return FakeResponse(202, "Accepted", {"MessageId": "m-1", "RequestId": "r-1"})


def addresses(count: int) -> dict[str, Any]:
    return {f"+1604555{n:04d}": {"ChannelType": "SMS"} for n in range(count)}


TOO_MANY = {
    "message": "Invalid request body",
    "reason": "[object has too many properties (found 101 but schema requires at most 100)]",
}


def test_the_payload_is_posted_with_a_token_and_the_api_key(api, tmp_path, capsys):
    api.answers.append(FakeResponse(202, "Accepted", {"MessageId": "m-1", "RequestId": "r-1"}))
    (tmp_path / "request.json").write_text('{"TraceId": "t-1"}')

    assert main(["send", str(tmp_path / "request.json"), "--customer-id", "c-1"]) == 0

    [sent] = api.posts
    assert (sent["url"], sent["body"]) == ("http://api.test/", {"TraceId": "t-1"})
    assert sent["headers"]["x-api-key"] == "api-key-1"
    caller = caller_of(sent)
    assert (caller.sub, caller.customer_id) == ("messaging-cli", "c-1")
    status, *answer, trace, follow = capsys.readouterr().out.splitlines()
    assert status == "202 Accepted"
    assert json.loads("\n".join(answer)) == {"MessageId": "m-1", "RequestId": "r-1"}
    assert trace == "TraceId t-1, tenant customer:c-1"
    assert follow == "follow it: messaging trace t-1"


def test_a_deployed_stack_is_called_as_the_cli_by_default(api, tmp_path, capsys):
    api.answers.append(accepted())
    (tmp_path / "request.json").write_text('{"TraceId": "t-1"}')

    assert main(["send", str(tmp_path / "request.json")]) == 0

    caller = caller_of(api.posts[0])
    assert (caller.sub, caller.email, caller.customer_id) == ("messaging-cli", None, None)
    assert "TraceId t-1, tenant user:messaging-cli\n" in capsys.readouterr().out


def test_the_local_stack_is_called_as_the_banners_token_so_it_can_read_what_was_sent(
    local_api, tmp_path, capsys
):
    local_api.answers.append(accepted())
    (tmp_path / "request.json").write_text('{"TraceId": "t-1"}')

    assert main(["send", str(tmp_path / "request.json")]) == 0

    caller = caller_of(local_api.posts[0])
    assert (caller.sub, caller.email, caller.customer_id) == (
        "local-user",
        "dev@example.com",
        "local-customer",
    )
    assert "TraceId t-1, tenant customer:local-customer\n" in capsys.readouterr().out


def test_a_sub_given_locally_is_the_whole_identity(local_api, monkeypatch, capsys):
    local_api.answers.append(accepted())
    monkeypatch.setattr("sys.stdin", io.StringIO('{"TraceId": "t-1"}'))

    assert main(["send", "-", "--sub", "ops"]) == 0

    caller = caller_of(local_api.posts[0])
    assert (caller.sub, caller.customer_id) == ("ops", None)
    assert "tenant user:ops" in capsys.readouterr().out


def test_json_is_one_document_with_the_trace_id_and_the_next_command(
    local_api, monkeypatch, capsys
):
    local_api.answers.append(accepted())
    monkeypatch.setattr("sys.stdin", io.StringIO('{"TraceId": "a b"}'))

    assert main(["send", "-", "--json"]) == 0

    assert json.loads(capsys.readouterr().out) == {
        "StatusCode": 202,
        "MessageId": "m-1",
        "RequestId": "r-1",
        "TraceId": "a b",
        "Tenant": "customer:local-customer",
        "Next": "messaging trace 'a b'",
    }


def test_a_sub_the_api_would_refuse_is_one_line_before_anything_is_sent(api, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO('{"TraceId": "t-1"}'))

    assert main(["send", "-", "--sub", "a#b"]) == 1

    assert api.posts == []
    assert capsys.readouterr().err == (
        "messaging: the API would refuse this token: "
        "sub must be 1-128 characters of A-Z a-z 0-9 . _ @ + -\n"
    )


@pytest.mark.parametrize("json_output", [False, True], ids=["plain", "json"])
def test_too_many_recipients_are_named_with_what_to_do(local_api, tmp_path, capsys, json_output):
    local_api.answers.append(FakeResponse(400, "Bad Request", TOO_MANY))
    (tmp_path / "many.json").write_text(json.dumps({"TraceId": "t", "Addresses": addresses(101)}))

    assert main(["send", str(tmp_path / "many.json"), *(["--json"] if json_output else [])]) == 1

    out, err = capsys.readouterr()
    assert err == (
        "messaging: Addresses holds 101 recipients; a request takes at most 100: "
        "split them into several requests (docs/api.md#limits)\n"
    )
    if json_output:
        assert json.loads(out) == {"StatusCode": 400, **TOO_MANY}
    else:
        assert out.startswith("400 Bad Request\n")
        assert "TraceId" not in out


def test_too_many_substitutions_are_named_by_their_path():
    payload = {
        "TraceId": "t",
        "SMSMessage": {"Substitutions": {f"k{n}": "v" for n in range(101)}},
        "Addresses": addresses(2),
    }

    assert refusal_hint(payload, TOO_MANY) == (
        "SMSMessage.Substitutions holds 101 entries; at most 100 are allowed (docs/api.md#limits)"
    )


def test_other_refusals_keep_the_apis_words_alone():
    other = {
        "message": "Invalid request body",
        "reason": '[object has missing required properties (["TraceId"])]',
    }

    assert refusal_hint({"Addresses": addresses(1)}, other) is None
    assert refusal_hint({"Addresses": addresses(1)}, "not json") is None


def test_a_refused_request_prints_the_answer_and_exits_1(api, monkeypatch, capsys):
    api.answers.append(FakeResponse(400, "Bad Request", {"message": "Invalid"}))
    monkeypatch.setattr("sys.stdin", io.StringIO('{"TraceId": ""}'))

    assert main(["send", "-", "--sub", "ops"]) == 1

    [sent] = api.posts
    caller = caller_of(sent)
    assert (caller.sub, caller.customer_id) == ("ops", None)
    out, err = capsys.readouterr()
    assert out.startswith("400 Bad Request\n")
    assert "TraceId" not in out
    assert err == ""


def test_a_payload_that_is_not_json_is_one_clear_error(tmp_path):
    (tmp_path / "bad.json").write_text("{nope")

    with pytest.raises(CommandError, match=r"bad.json is not valid JSON: "):
        read_json(str(tmp_path / "bad.json"))
