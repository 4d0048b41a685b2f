"""`messaging send`: a JSON payload posted with a fresh token and the API key."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import requests

from cli.api import read_json
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
    target = Target("messaging", mocked_aws, outputs, api_key_value="api-key-1")
    monkeypatch.setattr(Context, "target", lambda self: target)
    fake = Api()
    monkeypatch.setattr(requests, "post", fake)
    return fake


def test_the_payload_is_posted_with_a_token_and_the_api_key(api, tmp_path, capsys):
    api.answers.append(FakeResponse(202, "Accepted", {"MessageId": "m-1", "RequestId": "r-1"}))
    (tmp_path / "request.json").write_text('{"TraceId": "t-1"}')

    assert main(["send", str(tmp_path / "request.json"), "--customer-id", "c-1"]) == 0

    [sent] = api.posts
    assert (sent["url"], sent["body"]) == ("http://api.test/", {"TraceId": "t-1"})
    assert sent["headers"]["x-api-key"] == "api-key-1"
    caller = verify_token(sent["headers"]["Authorization"].removeprefix("Bearer "), SECRET)
    assert (caller.sub, caller.customer_id) == ("messaging-cli", "c-1")
    out = capsys.readouterr().out
    assert out.startswith("202 Accepted\n")
    assert json.loads(out.split("\n", 1)[1]) == {"MessageId": "m-1", "RequestId": "r-1"}


def test_a_refused_request_prints_the_answer_and_exits_1(api, monkeypatch, capsys):
    api.answers.append(FakeResponse(400, "Bad Request", {"message": "Invalid"}))
    monkeypatch.setattr("sys.stdin", io.StringIO('{"TraceId": ""}'))

    assert main(["send", "-", "--sub", "ops"]) == 1

    [sent] = api.posts
    caller = verify_token(sent["headers"]["Authorization"].removeprefix("Bearer "), SECRET)
    assert (caller.sub, caller.customer_id) == ("ops", None)
    assert capsys.readouterr().out.startswith("400 Bad Request\n")


def test_a_payload_that_is_not_json_is_one_clear_error(tmp_path):
    (tmp_path / "bad.json").write_text("{nope")

    with pytest.raises(CommandError, match=r"bad.json is not valid JSON: "):
        read_json(str(tmp_path / "bad.json"))
