"""End User Messaging's text and voice events, delivered raw by SNS, as delivery statuses."""

from __future__ import annotations

import json

import pytest

from notify.domain.provider_events import DELIVERY_RANKS, DeliveryUpdate, Ignored
from notify.integration.providers import parse_record
from notify.integration.traces.deliveries import DeliveryStatusStore
from tests.unit.integration.providers.inbound_records import end_user_messaging_event


def parsed(event_type: str, **extra: object) -> DeliveryUpdate | Ignored:
    return parse_record(json.dumps(end_user_messaging_event(event_type, **extra)))


@pytest.mark.parametrize(
    ("event_type", "status", "error"),
    [
        pytest.param("TEXT_DELIVERED", "delivered", None, id="delivered"),
        pytest.param("TEXT_SUCCESSFUL", "delivered", None, id="successful"),
        pytest.param("TEXT_QUEUED", "queued", None, id="queued"),
        pytest.param("TEXT_PENDING", "sending", None, id="pending"),
        pytest.param("TEXT_BLOCKED", "failed", "TEXT_BLOCKED", id="blocked"),
        pytest.param(
            "TEXT_CARRIER_UNREACHABLE", "failed", "TEXT_CARRIER_UNREACHABLE", id="carrier"
        ),
        pytest.param("TEXT_SPAM", "failed", "TEXT_SPAM", id="spam"),
    ],
)
def test_a_text_event_maps_to_an_sms_status(event_type, status, error):
    update = parsed(event_type)

    assert (update.provider, update.provider_message_id) == ("sms", "sms-1")
    assert (update.status, update.error_code, update.event) == (status, error, event_type)
    assert update.trace_id == "trace-8"
    assert update.at == "2026-11-24T10:00:00+00:00"


@pytest.mark.parametrize(
    ("event_type", "status", "error"),
    [
        pytest.param("VOICE_INITIATED", "queued", None, id="initiated"),
        pytest.param("VOICE_RINGING", "sending", None, id="ringing"),
        pytest.param("VOICE_ANSWERED", "sent", None, id="answered"),
        pytest.param("VOICE_COMPLETED", "delivered", None, id="completed"),
        pytest.param("VOICE_BUSY", "failed", "VOICE_BUSY", id="busy"),
        pytest.param("VOICE_NO_ANSWER", "failed", "VOICE_NO_ANSWER", id="no-answer"),
        pytest.param("VOICE_FAILED", "failed", "VOICE_FAILED", id="failed"),
        pytest.param("VOICE_TTL_EXPIRED", "failed", "VOICE_TTL_EXPIRED", id="ttl-expired"),
        pytest.param("VOICE_SOMETHING_NEW", "failed", "VOICE_SOMETHING_NEW", id="a-new-one"),
    ],
)
def test_a_voice_event_maps_to_a_voice_status(event_type, status, error):
    update = parsed(event_type, messageId="voice-1", messageStatus=event_type[6:])

    assert (update.provider, update.provider_message_id) == ("voice", "voice-1")
    assert (update.status, update.error_code, update.event) == (status, error, event_type)
    assert update.trace_id == "trace-8"
    assert update.key == f"voice:voice-1:{event_type}"


def test_an_answered_call_ranks_above_a_ringing_one_and_below_its_end():
    ringing, answered, completed, busy = (
        parsed(event_type).rank
        for event_type in ("VOICE_RINGING", "VOICE_ANSWERED", "VOICE_COMPLETED", "VOICE_BUSY")
    )

    assert ringing < answered < completed == busy == DELIVERY_RANKS["delivered"]


def test_an_event_without_a_timestamp_is_dated_when_it_is_read():
    event = end_user_messaging_event("VOICE_COMPLETED")
    del event["eventTimestamp"]

    assert parse_record(json.dumps(event)).at > "2026-01-01"


@pytest.mark.parametrize("event_type", ["MEDIA_DELIVERED", "RCS_READ"])
def test_an_event_of_another_kind_of_message_is_ignored(event_type):
    assert isinstance(parsed(event_type), Ignored)


@pytest.fixture(scope="module")
def traces(table_from_template):
    return table_from_template("TracesTable", "Traces-end-user-messaging")


@pytest.mark.parametrize(
    ("channel", "address", "event_type", "status"),
    [
        pytest.param("SMS", "+16048621234", "TEXT_DELIVERED", "delivered", id="a-text"),
        pytest.param("VOICE", "+16048621234", "VOICE_COMPLETED", "delivered", id="a-call"),
    ],
)
def test_a_status_finds_its_recipient_by_the_message_id_a_text_and_a_call_alike(
    traces, channel, address, event_type, status
):
    message_id = f"{channel.lower()}-message-1"
    key = {"TraceId": f"trace-{channel}", "Sk": f"customer:c1#{channel}#{address}"}
    traces.put_item(Item={**key, "Status": "SENT", "ProviderMessageId": message_id})

    update = parsed(event_type, messageId=message_id)

    assert DeliveryStatusStore(traces).record_delivery(update) == 1
    item = traces.get_item(Key=key, ConsistentRead=True)["Item"]
    assert (item["DeliveryStatus"], item["DeliveryRank"]) == (status, DELIVERY_RANKS[status])
