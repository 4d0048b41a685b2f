"""Finding the stack: the local control API by default, or a deployed stack."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from cli.errors import CommandError
from cli.main import main
from cli.target import Context, local_credentials, local_target, local_url

STACK_INFO = {
    "StackName": "messaging",
    "Endpoint": "http://127.0.0.1:4566",
    "ApiUrl": "http://127.0.0.1:3000/",
    "ApiKey": "key-value",
    "Outputs": {"ApiUrl": "https://ignored/", "JwtSecretName": "messaging-jwt-secret"},
}


class FakeResponse:
    def __init__(self, status: int, payload: Any) -> None:
        self.status_code = status
        self._payload = payload

    def json(self) -> Any:
        return self._payload


@pytest.fixture
def unreachable(monkeypatch):
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise requests.ConnectionError("refused")

    monkeypatch.setattr(requests, "get", refuse)
    monkeypatch.setattr(requests, "request", refuse)


def test_the_local_url_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("MESSAGING_LOCAL_URL", raising=False)
    assert local_url() == "http://127.0.0.1:3000"
    monkeypatch.setenv("MESSAGING_LOCAL_URL", "http://127.0.0.1:4000/")
    assert local_url() == "http://127.0.0.1:4000"


def test_the_local_target_uses_the_control_api_answer(monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.setattr(requests, "get", lambda url, timeout: FakeResponse(200, STACK_INFO))

    target = local_target("http://127.0.0.1:3000")

    assert target.endpoint_url == "http://127.0.0.1:4566"
    assert target.output("ApiUrl") == "http://127.0.0.1:3000/"
    assert target.api_key() == "key-value"
    assert target.jwt_secret_name == "messaging-jwt-secret"
    credentials = target.session.get_credentials()
    assert (credentials.access_key, target.session.region_name) == ("local", "us-east-1")


def test_keys_in_the_environment_win_over_the_dummy_ones(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "mine")
    assert local_credentials() == {}
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    assert local_credentials() == {"aws_access_key_id": "local", "aws_secret_access_key": "local"}


def test_something_else_at_the_local_url_is_named(monkeypatch):
    monkeypatch.setattr(requests, "get", lambda url, timeout: FakeResponse(404, {}))

    with pytest.raises(CommandError, match="is not a local messaging stack"):
        local_target("http://127.0.0.1:3000")


def test_a_missing_output_is_one_clear_error(monkeypatch):
    monkeypatch.setattr(requests, "get", lambda url, timeout: FakeResponse(200, STACK_INFO))

    with pytest.raises(CommandError, match="stack messaging has no output TracesTableName"):
        local_target("http://x").output("TracesTableName")


@pytest.mark.usefixtures("unreachable")
@pytest.mark.parametrize(
    "argv",
    [["trace", "t-1"], ["templates", "list"], ["dlq", "list"], ["outbox"], ["faults", "list"]],
)
def test_without_a_local_stack_every_command_says_how_to_start_one(argv, monkeypatch, capsys):
    monkeypatch.delenv("MESSAGING_LOCAL_URL", raising=False)

    assert main(argv) == 1

    assert capsys.readouterr().err == (
        "messaging: no local stack at http://127.0.0.1:3000 "
        "(start it with `make run`, or pass --stack NAME)\n"
    )


@pytest.mark.parametrize(
    ("argv", "feature"),
    [(["outbox"], "the outbox"), (["faults", "clear"], "fault injection")],
)
def test_local_only_commands_refuse_a_deployed_stack(argv, feature, capsys):
    assert main(["--stack", "prod", *argv]) == 1

    assert capsys.readouterr().err == f"messaging: {feature} exists only in the local stack\n"


def test_a_missing_deployed_stack_is_one_line(mocked_aws, capsys):
    assert main(["--stack", "nope", "trace", "t-1"]) == 1

    error = capsys.readouterr().err
    assert error.startswith("messaging: cannot read stack nope: DescribeStacks failed:")
    assert error.count("\n") == 1


def test_the_deployed_target_reads_outputs_and_the_api_key(mocked_aws):
    apigateway = mocked_aws.client("apigateway")
    key = apigateway.create_api_key(name="k", value="secret-key-value-123456", enabled=True)
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"ApiKeyId": {"Value": key["id"]}, "ApiUrl": {"Value": "https://api/"}},
    }
    mocked_aws.client("cloudformation").create_stack(
        StackName="deployed", TemplateBody=json.dumps(template)
    )

    target = Context("deployed", "http://unused").target()

    assert target.output("ApiUrl") == "https://api/"
    assert target.api_key() == "secret-key-value-123456"
    assert target.jwt_secret_name == "deployed-jwt-secret"
