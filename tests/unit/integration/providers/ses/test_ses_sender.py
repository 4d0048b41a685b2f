"""The SES sender: the request it makes and how it classifies SES's errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ConnectTimeoutError
from botocore.stub import Stubber

from notify.domain.channels.email import Email
from notify.domain.errors import (
    PROVIDER_REJECTED,
    PROVIDER_UNAVAILABLE,
    THROTTLED,
    PermanentError,
    TransientError,
)
from notify.integration.providers.ses import SesEmailSender
from tests.unit.integration.providers.provider_clients import stubbed

TEXT = "Alert: Your SAVINGS account ending in ****7303 has a low balance of $50.00"
EMAIL = Email(
    from_address="alerts@example.com",
    to="user@example.com",
    subject="Low Balance Alert",
    text=TEXT,
    html=None,
)


@pytest.fixture
def ses(monkeypatch) -> Iterator[Stubber]:
    yield from stubbed("sesv2", monkeypatch)


def ses_request(
    email: Email, trace_tag: str, configuration_set: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"Text": {"Data": email.text, "Charset": "UTF-8"}}
    if email.html is not None:
        body["Html"] = {"Data": email.html, "Charset": "UTF-8"}
    request: dict[str, Any] = {
        "FromEmailAddress": email.from_address,
        "Destination": {"ToAddresses": [email.to]},
        "Content": {
            "Simple": {"Subject": {"Data": email.subject, "Charset": "UTF-8"}, "Body": body}
        },
        "EmailTags": [{"Name": "TraceId", "Value": trace_tag}],
    }
    if configuration_set is not None:
        request["ConfigurationSetName"] = configuration_set
    return request


@pytest.mark.parametrize(
    ("email", "configuration_set"),
    [
        pytest.param(EMAIL, None, id="text-only"),
        pytest.param(EMAIL, "notify-events", id="with-configuration-set"),
        pytest.param(
            Email(EMAIL.from_address, EMAIL.to, EMAIL.subject, EMAIL.text, "<p>Alert</p>"),
            None,
            id="text-and-html",
        ),
    ],
)
def test_an_email_is_sent_as_composed_and_its_message_id_returned(
    ses, email, configuration_set
) -> None:
    ses.add_response(
        "send_email", {"MessageId": "ses-message-1"}, ses_request(email, "12345", configuration_set)
    )

    assert SesEmailSender(ses.client, configuration_set).send(email, "12345") == "ses-message-1"


@pytest.mark.parametrize(
    ("trace_id", "tag"),
    [
        pytest.param("a:b/c", "a_b_c", id="colon-and-slash"),
        pytest.param("order 42 (retry)", "order_42__retry_", id="spaces-and-brackets"),
        pytest.param("ok-1.2_3", "ok-1.2_3", id="already-safe"),
        pytest.param("x" * 300, "x" * 256, id="truncated-to-256"),
    ],
)
def test_the_trace_id_tag_is_sanitised_for_ses(ses, trace_id, tag) -> None:
    ses.add_response("send_email", {"MessageId": "ses-message-1"}, ses_request(EMAIL, tag))

    SesEmailSender(ses.client, None).send(EMAIL, trace_id)


@pytest.mark.parametrize(
    ("code", "status", "error_class", "reason"),
    [
        pytest.param("TooManyRequestsException", 429, TransientError, THROTTLED, id="throttled"),
        pytest.param("LimitExceededException", 400, TransientError, THROTTLED, id="limit"),
        pytest.param("InternalFailure", 500, TransientError, PROVIDER_UNAVAILABLE, id="5xx"),
        pytest.param("MessageRejected", 400, PermanentError, PROVIDER_REJECTED, id="rejected"),
        pytest.param(
            "MailFromDomainNotVerifiedException",
            400,
            PermanentError,
            PROVIDER_REJECTED,
            id="mail-from-not-verified",
        ),
    ],
)
def test_an_ses_error_is_classified(ses, code, status, error_class, reason) -> None:
    ses.add_client_error("send_email", code, "ses says no", http_status_code=status)

    with pytest.raises(error_class) as caught:
        SesEmailSender(ses.client, None).send(EMAIL, "12345")

    assert type(caught.value) is error_class
    assert caught.value.reason == reason
    assert caught.value.detail == f"{code}: ses says no"


def test_a_call_that_never_reached_ses_is_transient() -> None:
    class TimingOut:
        def send_email(self, **request: Any) -> dict[str, str]:
            raise ConnectTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com")

    with pytest.raises(TransientError) as caught:
        SesEmailSender(TimingOut(), None).send(EMAIL, "12345")

    assert caught.value.reason == PROVIDER_UNAVAILABLE
