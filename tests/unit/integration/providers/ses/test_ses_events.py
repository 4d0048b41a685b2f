"""SES's events, routed by EventBridge to the inbound queue, as delivery statuses."""

from __future__ import annotations

import pytest

from notify.domain.provider_events import DeliveryUpdate, Ignored
from notify.integration.providers import parse_record
from tests.unit.integration.providers.inbound_records import ses_event


@pytest.mark.parametrize(
    ("event_type", "detail_type", "extra", "status", "error"),
    [
        pytest.param("Delivery", "Email Delivered", {}, "delivered", None, id="delivery"),
        pytest.param("Send", "Email Sent", {}, "sent", None, id="send"),
        pytest.param(
            "Bounce",
            "Email Bounced",
            {"bounce": {"bounceType": "Permanent", "bounceSubType": "General"}},
            "bounced",
            "Permanent/General",
            id="bounce",
        ),
        pytest.param(
            "Complaint",
            "Email Complaint Received",
            {
                "complaint": {
                    "complaintFeedbackType": "abuse",
                    "complainedRecipients": [{"emailAddress": "user@example.com"}],
                }
            },
            "complained",
            "abuse",
            id="complaint",
        ),
        pytest.param(
            "Reject",
            "Email Rejected",
            {"reject": {"reason": "Bad content"}},
            "failed",
            "Bad content",
            id="reject",
        ),
        pytest.param(
            "Rendering Failure",
            "Email Rendering Failed",
            {"failure": {"errorMessage": "missing attribute"}},
            "failed",
            "missing attribute",
            id="rendering failure",
        ),
    ],
)
def test_an_ses_event_from_eventbridge_maps_to_a_status(
    event_type, detail_type, extra, status, error
):
    update = parse_record(ses_event(event_type, detail_type, **extra))

    assert isinstance(update, DeliveryUpdate)
    assert (update.provider, update.provider_message_id) == ("ses", "ses-1")
    assert (update.status, update.error_code) == (status, error)
    assert update.trace_id == "trace-7"
    assert update.at == "2026-11-24T10:00:05Z"


def test_an_ses_complaint_names_the_addresses_to_opt_out():
    update = parse_record(
        ses_event(
            "Complaint",
            "Email Complaint Received",
            complaint={"complainedRecipients": [{"emailAddress": "User@Example.com"}]},
        )
    )

    assert update.complained == ("User@Example.com",)


def test_an_ses_open_is_ignored():
    assert isinstance(parse_record(ses_event("Open", "Email Opened")), Ignored)


def test_an_ses_event_without_a_message_id_is_refused():
    body = ses_event("Delivery", "Email Delivered").replace('"messageId": "ses-1", ', "")

    with pytest.raises(ValueError, match=r"detail\.mail\.messageId"):
        parse_record(body)
