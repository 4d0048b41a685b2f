"""Amazon SES v2's errors, as the state machine tells them apart.

SES's error codes are in the AWS table (integration/aws_errors.py), which maps the codes
of every AWS service the functions call; a dropped connection never reached a verdict.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import ClientError

from notify.integration.aws_errors import UNREACHABLE, classify_client_error, unreachable


@contextmanager
def ses_errors() -> Iterator[None]:
    """Around an SES call: its errors leave as Transient, Permanent, or unchanged."""
    try:
        yield
    except ClientError as exc:
        raise classify_client_error(exc) from exc
    except UNREACHABLE as exc:
        raise unreachable(exc) from exc
