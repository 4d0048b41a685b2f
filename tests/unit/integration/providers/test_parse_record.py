"""Which provider an inbound-queue record comes from, and the records that are no provider's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import notify
from notify.domain.provider_events import DeliveryUpdate, InboundMessage
from notify.integration.providers import parse_record
from tests.unit.integration.providers.inbound_records import (
    end_user_messaging_event,
    inbound,
    ses_event,
    twilio,
)


@pytest.mark.parametrize(
    ("body", "kind", "key"),
    [
        pytest.param(inbound("Hi"), InboundMessage, "twilio:SM1", id="twilio-message"),
        pytest.param(
            twilio({"MessageSid": "SM2", "MessageStatus": "delivered"}),
            DeliveryUpdate,
            "twilio:SM2:delivered",
            id="twilio-status",
        ),
        pytest.param(
            ses_event("Delivery", "Email Delivered"),
            DeliveryUpdate,
            "ses:ses-1:Delivery",
            id="ses",
        ),
        pytest.param(
            json.dumps(end_user_messaging_event("TEXT_DELIVERED")),
            DeliveryUpdate,
            "sms:sms-1:TEXT_DELIVERED",
            id="text",
        ),
        pytest.param(
            json.dumps(end_user_messaging_event("VOICE_COMPLETED", messageId="voice-1")),
            DeliveryUpdate,
            "voice:voice-1:VOICE_COMPLETED",
            id="voice",
        ),
    ],
)
def test_each_providers_record_is_read_by_its_provider(body, kind, key):
    event = parse_record(body)

    assert type(event) is kind
    assert event.key == key


def test_an_event_in_an_sns_envelope_is_unwrapped():
    envelope = {
        "Type": "Notification",
        "Message": json.dumps(end_user_messaging_event("VOICE_COMPLETED")),
    }

    assert parse_record(json.dumps(envelope)).status == "delivered"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("not json", id="not json"),
        pytest.param("[1, 2]", id="not an object"),
        pytest.param('{"hello": "world"}', id="no known shape"),
        pytest.param('{"Source": "twilio", "Params": {}}', id="twilio without a sid"),
    ],
)
def test_an_unknown_record_is_refused(body):
    with pytest.raises(ValueError, match=r"inbound record|MessageSid"):
        parse_record(body)


@pytest.mark.parametrize(
    "package",
    [
        "notify.integration.providers.ses",
        "notify.integration.providers.end_user_messaging",
    ],
)
def test_the_aws_providers_load_no_twilio_for_the_send_functions_that_ship_none(package):
    # Importing a provider runs this package's __init__ first: it must not reach Twilio's SDK.
    loaded = subprocess.run(
        [sys.executable, "-c", f"import sys, {package}; print('twilio' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(Path(notify.__file__).parents[1])},
    )

    assert loaded.stdout.strip() == "False"
