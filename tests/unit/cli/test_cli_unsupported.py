"""Telling "this endpoint does not implement the operation" from a real failure."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, UnknownClientMethodError

from cli.aws import Unsupported, attempt, is_unsupported

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


def test_attempt_returns_the_answer_of_a_supported_operation():
    assert attempt(FakeClient(), "redrive_execution", executionArn="a") == {
        "redriveDate": "now",
        "executionArn": "a",
    }


def test_attempt_turns_an_unimplemented_operation_into_unsupported():
    with pytest.raises(Unsupported, match="redrive_execution"):
        attempt(FakeClient(client_error("500", 500, MOTO_SERVER_PAGE)), "redrive_execution")


def test_attempt_treats_a_method_this_botocore_lacks_as_unsupported():
    with pytest.raises(Unsupported, match="no start_message_move_task"):
        attempt(FakeClient(), "start_message_move_task")


def test_attempt_lets_a_real_failure_through():
    with pytest.raises(ClientError):
        attempt(FakeClient(client_error("ExecutionNotRedrivable", 400)), "redrive_execution")


def test_moto_mock_lacks_both_operations_and_they_read_as_unsupported(mocked_aws):
    sqs = mocked_aws.client("sqs")
    arn = "arn:aws:sqs:us-east-1:123456789012:q"
    with pytest.raises(Unsupported):
        attempt(sqs, "start_message_move_task", SourceArn=arn, DestinationArn=arn)
    sfn = mocked_aws.client("stepfunctions")
    execution = "arn:aws:states:us-east-1:123456789012:execution:machine:run"
    with pytest.raises(Unsupported):
        attempt(sfn, "redrive_execution", executionArn=execution)
