"""Calling AWS APIs that an endpoint may not implement, and describing AWS errors."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError, UnknownClientMethodError

from cli.output import one_line

# Error codes AWS-compatible endpoints use for "no such action here".
UNSUPPORTED_CODES = frozenset(
    {"InvalidAction", "NotImplemented", "UnknownOperationException", "UnsupportedOperation"}
)


class Unsupported(Exception):
    """The endpoint does not implement the operation: use the fallback."""


def is_unsupported(exc: BaseException) -> bool:
    """Does `exc` say that the operation is not implemented by the endpoint?"""
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


def attempt(client: Any, operation: str, **params: Any) -> dict[str, Any]:
    """Call `operation`; raise Unsupported if the endpoint (or this botocore) lacks it."""
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
