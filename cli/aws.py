"""Calling AWS APIs the local stack may not implement, and describing AWS errors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, UnknownClientMethodError

from cli.errors import CommandError
from cli.output import one_line

if TYPE_CHECKING:
    from cli.target import Target

# Error codes AWS-compatible endpoints use for "no such action here".
UNSUPPORTED_CODES = frozenset(
    {"InvalidAction", "NotImplemented", "UnknownOperationException", "UnsupportedOperation"}
)


class Unsupported(Exception):
    """The local stack does not implement the operation: use the fallback."""


def is_unsupported(exc: BaseException) -> bool:
    """Does `exc` say that the local endpoint does not implement the operation?

    Asked of the local stack only (see `attempt`): a deployed stack's 5xx is an outage.
    """
    # moto's in-process mock (mock_aws) raises NotImplementedError for unimplemented actions.
    if isinstance(exc, NotImplementedError | UnknownClientMethodError):
        return True
    if not isinstance(exc, ClientError):
        return False
    code = str(exc.response.get("Error", {}).get("Code", ""))
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in UNSUPPORTED_CODES or status == 501:
        return True
    # moto server answers an unimplemented action with a bare HTML "500 Internal Server
    # Error" page, which botocore can only name by its status code. An AWS service always
    # names its errors, so a nameless 5xx is an endpoint that does not know the action.
    return code.isdigit() and isinstance(status, int) and status >= 500


def attempt(target: Target, service: str, operation: str, **params: Any) -> dict[str, Any]:
    """Call `operation` of the target's `service`.

    Only the local stack answers Unsupported (the caller then takes its fallback): the
    emulator lacks some operations. A deployed stack's failure, 5xx included, is a
    CommandError: AWS has the operation, and a fallback after an error could act twice.
    """
    if target.is_local:
        return _probe(target.client(service, retries=False), operation, params)
    method = getattr(target.client(service), operation, None)
    if method is None:
        raise CommandError(f"this botocore has no {operation}: upgrade boto3 to use it")
    try:
        return method(**params)
    except ClientError as exc:
        raise CommandError(describe_client_error(exc) + _server_side(exc)) from exc


def _server_side(exc: ClientError) -> str:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if isinstance(status, int) and status >= 500:
        return f" (AWS answered HTTP {status}: try again later)"
    return ""


def _probe(client: Any, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """Call `operation`; raise Unsupported if the local endpoint (or this botocore) lacks it."""
    method = getattr(client, operation, None)
    if method is None:
        raise Unsupported(f"this botocore has no {operation}")
    try:
        return method(**params)
    except Exception as exc:
        if is_unsupported(exc):
            raise Unsupported(f"the endpoint does not implement {operation}") from exc
        raise


def describe_client_error(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    code = error.get("Code", "Error")
    return f"{exc.operation_name} failed: {code}: {one_line(error.get('Message'))}"
