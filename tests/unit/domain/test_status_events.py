"""Status events from the traces table's item images: one per real change, stable ids."""

from __future__ import annotations

from decimal import Decimal

from notify.domain.status_events import plain, status_events

OWNER = "customer:acme"
SK = f"{OWNER}#WHATSAPP#whatsapp:+447835065013"
AT = "2025-01-01T00:00:00+00:00"


def item(**fields) -> dict:
    return {
        "TraceId": "t-1",
        "Sk": SK,
        "Owner": OWNER,
        "ChannelType": "WHATSAPP",
        "Address": "whatsapp:+447835065013",
        "Attempts": Decimal(1),
        **fields,
    }


def test_sent_becomes_one_outcome_event_with_the_recipients_fields():
    [event] = status_events(
        item(), item(Status="SENT", ProviderMessageId="SM1", SentAt="2025-01-01T00:00:01"), AT
    )

    assert {k: v for k, v in event.items() if k != "EventId"} == {
        "TraceId": "t-1",
        "Tenant": OWNER,
        "Channel": "WHATSAPP",
        "Address": "whatsapp:+447835065013",
        "Kind": "Outcome",
        "Status": "SENT",
        "ErrorCode": None,
        "Reason": None,
        "ProviderMessageId": "SM1",
        "Attempts": 1,
        "At": "2025-01-01T00:00:01",
    }


def test_a_rejection_carries_its_error_and_reason():
    [event] = status_events(
        None, item(Status="REJECTED", Error="PermanentError", Reason="OptedOut: STOP"), AT
    )
    assert (event["Status"], event["ErrorCode"], event["Reason"], event["At"]) == (
        "REJECTED",
        "PermanentError",
        "OptedOut: STOP",
        AT,
    )


def test_a_new_delivery_status_is_one_delivery_event():
    old = item(Status="SENT", ProviderMessageId="SM1")
    new = old | {"DeliveryStatus": "delivered", "DeliveryUpdatedAt": "2025-01-01T00:00:03"}

    [event] = status_events(old, new, AT)

    assert (event["Kind"], event["Status"], event["At"]) == (
        "Delivery",
        "delivered",
        "2025-01-01T00:00:03",
    )


def test_a_write_that_changes_no_status_publishes_nothing():
    sent = item(Status="SENT", DeliveryStatus="sent")
    assert status_events(sent, sent | {"UpdatedAt": "later"}, AT) == []
    assert status_events(item(), item(Attempts=Decimal(2), InProgressUntil="x"), AT) == []


def test_headers_and_deletions_publish_nothing():
    header = {"TraceId": "t-1", "Sk": OWNER, "Owner": OWNER, "Status": "COMPLETED"}
    assert status_events({**header, "Status": "RUNNING"}, header, AT) == []
    assert status_events(item(Status="SENT"), None, AT) == []


def test_the_same_change_processed_twice_has_the_same_event_id():
    old, new = item(), item(Status="SENT", ProviderMessageId="SM1")
    assert (
        status_events(old, new, AT)[0]["EventId"] == status_events(old, new, "other")[0]["EventId"]
    )


def test_a_later_attempt_ending_in_the_same_status_has_another_event_id():
    first = status_events(item(Status="SENT"), item(Status="FAILED"), AT)[0]
    again = status_events(item(Status="SENT"), item(Status="FAILED", Attempts=Decimal(4)), AT)[0]
    assert first["EventId"] != again["EventId"]


def test_stream_numbers_become_json_numbers():
    assert plain({"a": Decimal(3), "b": [Decimal("1.5")], "c": "x"}) == {
        "a": 3,
        "b": [1.5],
        "c": "x",
    }


def test_a_test_recipients_sent_and_simulated_delivery_are_two_events_both_marked_test():
    new = item(
        Status="SENT",
        ProviderMessageId="test-1",
        Test=True,
        DeliveryStatus="bounced",
        DeliveryErrorCode="Permanent/General",
    )

    sent, bounced = status_events(item(), new, AT)

    assert (sent["Kind"], sent["Status"], sent["Test"]) == ("Outcome", "SENT", True)
    assert (bounced["Kind"], bounced["Status"], bounced["ErrorCode"], bounced["Test"]) == (
        "Delivery",
        "bounced",
        "Permanent/General",
        True,
    )


def test_live_traffic_carries_no_test_mark():
    [event] = status_events(item(), item(Status="SENT", ProviderMessageId="SM1"), AT)

    assert "Test" not in event
