"""AWS End User Messaging SMS and Voice v2's errors, as the state machine tells them apart.

Its error codes are in the AWS table (integration/aws_errors.py); what the table cannot
tell is an opted-out destination, one of many ConflictException reasons.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import ClientError

from notify.domain.errors import OPTED_OUT, PermanentError
from notify.integration.aws_errors import UNREACHABLE, classify_client_error, unreachable

OPTED_OUT_REASON = "DESTINATION_PHONE_NUMBER_OPTED_OUT"


@contextmanager
def end_user_messaging_errors(channel: str, to: str) -> Iterator[None]:
    """Around a send to `to` on `channel`: its errors leave as Transient, Permanent, or
    unchanged; a destination on the account's opt-out list is PermanentError(OptedOut)."""
    try:
        yield
    except ClientError as exc:
        if exc.response.get("Reason") == OPTED_OUT_REASON:
            raise PermanentError(OPTED_OUT, f"{to} has opted out of {channel}") from exc
        raise classify_client_error(exc) from exc
    except UNREACHABLE as exc:
        raise unreachable(exc) from exc
