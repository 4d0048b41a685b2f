"""Telling "the local stack does not implement the operation" from a real failure.

A fallback is taken only against the local stack; a deployed stack's errors, a 5xx
included, stop the command.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, UnknownClientMethodError
from botocore.stub import Stubber

from cli.aws import Unsupported, attempt, is_unsupported
from cli.dlq import move_natively
from cli.errors import CommandError
from cli.target import Target

MOTO_SERVER_PAGE = "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n"


def client_error(code: str, status: int, message: str = "no") -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "RedriveExecution")


@pytest.mark.parametrize(
    "exc",
    [
        pytest.param(client_error("InvalidAction", 400), id="InvalidAction"),
        pytest.param(client_error("NotImplemented", 400), id="NotImplemented"),
        pytest.param(client_error("UnknownOperationException", 400), id="UnknownOperation"),
        pytest.param(client_error("UnsupportedOperation", 400), id="UnsupportedOperation"),
        pytest.param(client_error("Whatever", 501), id="http-501"),
        # What moto 5.2.5's server answers: an HTML 500 page botocore names "500".
        pytest.param(client_error("500", 500, MOTO_SERVER_PAGE), id="moto-server-html-500"),
        # What moto's in-process mock (mock_aws) raises.
        pytest.param(NotImplementedError("The redrive_execution action has not been implemented")),
        pytest.param(UnknownClientMethodError(method_name="redrive_execution")),
    ],
)
def test_an_unimplemented_operation_is_recognised(exc):
    assert is_unsupported(exc)


@pytest.mark.parametrize(
    "exc",
    [
        pytest.param(client_error("InternalFailure", 500), id="aws-internal-failure"),
        pytest.param(client_error("ExecutionNotRedrivable", 400), id="not-redrivable"),
        pytest.param(client_error("AccessDeniedException", 403), id="access-denied"),
        pytest.param(client_error("404", 404), id="nameless-404"),
        pytest.param(ValueError("boom"), id="other-exception"),
    ],
)
def test_a_real_failure_is_not_taken_for_an_unimplemented_operation(exc):
    assert not is_unsupported(exc)


class FakeClient:
    def __init__(self, exc: BaseException | None = None) -> None:
        self._exc = exc

    def redrive_execution(self, **params: Any) -> dict[str, Any]:
        if self._exc:
            raise self._exc
        return {"redriveDate": "now", **params}


class FakeTarget:
    """The local stack (`local`) or a deployed one, whose every client is `client`."""

    def __init__(self, client: Any, *, local: bool) -> None:
        self._client = client
        self.is_local = local

    def client(self, service: str, *, retries: bool = True) -> Any:
        return self._client


LOCAL, DEPLOYED = [pytest.param(True, id="local"), pytest.param(False, id="deployed")]
MOTO_500 = client_error("500", 500, MOTO_SERVER_PAGE)


@pytest.mark.parametrize("local", [LOCAL, DEPLOYED])
def test_attempt_returns_the_answer_of_a_supported_operation(local):
    target = FakeTarget(FakeClient(), local=local)

    assert attempt(target, "stepfunctions", "redrive_execution", executionArn="a") == {
        "redriveDate": "now",
        "executionArn": "a",
    }


def test_against_the_local_stack_an_unimplemented_operation_is_unsupported():
    with pytest.raises(Unsupported, match="redrive_execution"):
        attempt(FakeTarget(FakeClient(MOTO_500), local=True), "stepfunctions", "redrive_execution")


def test_against_the_local_stack_a_method_this_botocore_lacks_is_unsupported():
    with pytest.raises(Unsupported, match="no start_message_move_task"):
        attempt(FakeTarget(FakeClient(), local=True), "sqs", "start_message_move_task")


def test_against_the_local_stack_a_real_failure_goes_through():
    target = FakeTarget(FakeClient(client_error("ExecutionNotRedrivable", 400)), local=True)

    with pytest.raises(ClientError):
        attempt(target, "stepfunctions", "redrive_execution")


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        pytest.param(
            client_error("InternalFailure", 500),
            "RedriveExecution failed: InternalFailure: no (AWS answered HTTP 500: try again later)",
            id="aws-500",
        ),
        # What the local stack would take for "not implemented" is an outage here.
        pytest.param(MOTO_500, "(AWS answered HTTP 500", id="nameless-500"),
        pytest.param(client_error("ServiceUnavailable", 503), "HTTP 503", id="aws-503"),
        pytest.param(client_error("NotImplemented", 501), "NotImplemented", id="not-implemented"),
        pytest.param(client_error("ExecutionNotRedrivable", 400), "NotRedrivable", id="refused"),
    ],
)
def test_against_a_deployed_stack_every_error_is_a_command_error(exc, message):
    target = FakeTarget(FakeClient(exc), local=False)

    with pytest.raises(CommandError) as raised:
        attempt(target, "stepfunctions", "redrive_execution", executionArn="a")

    assert message in str(raised.value)
    assert raised.value.__cause__ is exc


def test_against_a_deployed_stack_a_method_this_botocore_lacks_is_a_command_error():
    with pytest.raises(CommandError, match="no start_message_move_task: upgrade boto3"):
        attempt(FakeTarget(FakeClient(), local=False), "sqs", "start_message_move_task")


def test_the_target_is_local_by_configuration_not_by_its_answers(mocked_aws):
    local = Target("messaging", mocked_aws, {}, local_url="http://127.0.0.1:3000")
    deployed = Target("messaging", mocked_aws, {})

    assert (local.is_local, deployed.is_local) == (True, False)


def test_moto_mock_lacks_both_operations_and_they_read_as_unsupported(mocked_aws):
    target = Target("messaging", mocked_aws, {}, local_url="http://127.0.0.1:3000")
    arn = "arn:aws:sqs:us-east-1:123456789012:q"
    with pytest.raises(Unsupported):
        attempt(target, "sqs", "start_message_move_task", SourceArn=arn, DestinationArn=arn)
    execution = "arn:aws:states:us-east-1:123456789012:execution:machine:run"
    with pytest.raises(Unsupported):
        attempt(target, "stepfunctions", "redrive_execution", executionArn=execution)


def sqs_answering(code: str, status: int) -> Stubber:
    """An SQS client whose StartMessageMoveTask answers this error."""
    session = boto3.Session(
        region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    stubber = Stubber(session.client("sqs", endpoint_url="https://sqs.us-east-1.amazonaws.com"))
    stubber.add_client_error("start_message_move_task", code, "no", http_status_code=status)
    return stubber


QUEUE = "arn:aws:sqs:us-east-1:123456789012:q"


@pytest.mark.parametrize("code", ["InternalError", "500"], ids=["named-500", "nameless-500"])
def test_a_deployed_stacks_500_stops_dlq_redrive_instead_of_moving_by_hand(code):
    with sqs_answering(code, 500) as stubber:
        target = FakeTarget(stubber.client, local=False)

        with pytest.raises(CommandError, match=f"StartMessageMoveTask failed: {code}: no"):
            move_natively(target, QUEUE, QUEUE, timeout=1)


def test_the_local_stacks_nameless_500_makes_dlq_redrive_move_by_hand():
    with sqs_answering("500", 500) as stubber, pytest.raises(Unsupported):
        move_natively(FakeTarget(stubber.client, local=True), QUEUE, QUEUE, timeout=1)
