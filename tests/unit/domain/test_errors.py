"""The two error classes the state machine tells apart, and their messages."""

from __future__ import annotations

import pytest

from notify.domain.errors import (
    INVALID_ADDRESS,
    OPTED_OUT,
    THROTTLED,
    PermanentError,
    TransientError,
)


@pytest.mark.parametrize(
    ("error_class", "name"),
    [
        pytest.param(TransientError, "TransientError", id="transient"),
        pytest.param(PermanentError, "PermanentError", id="permanent"),
    ],
)
def test_the_class_names_are_the_ones_the_state_machine_retries_and_catches(
    error_class, name
) -> None:
    # The Lambda runtime reports the class name as errorType; the ASL matches on it.
    assert error_class.__name__ == name
    assert type(error_class(THROTTLED, "x")).__name__ == name


@pytest.mark.parametrize(
    ("error", "text"),
    [
        pytest.param(
            TransientError(THROTTLED, "TooManyRequestsException: Maximum sending rate exceeded."),
            "Throttled: TooManyRequestsException: Maximum sending rate exceeded.",
            id="transient",
        ),
        pytest.param(
            PermanentError(INVALID_ADDRESS, "email 'x': no @-sign"),
            "InvalidAddress: email 'x': no @-sign",
            id="permanent",
        ),
        pytest.param(
            PermanentError(OPTED_OUT, "+16048621234 has opted out of SMS"),
            "OptedOut: +16048621234 has opted out of SMS",
            id="opted-out",
        ),
    ],
)
def test_the_message_is_reason_colon_detail(error, text) -> None:
    assert str(error) == text
