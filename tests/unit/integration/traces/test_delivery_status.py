"""Provider statuses on the recipient's trace item: found by provider id, never going back."""

from __future__ import annotations

import itertools

import pytest

from notify.domain.provider_events import DeliveryUpdate, RecipientNotRecorded
from notify.integration.traces.attempts import AttemptStore
from notify.integration.traces.deliveries import DeliveryStatusStore

SK = "cust456#WHATSAPP#whatsapp:+16048621234"
AT = "2026-11-24T10:00:00Z"
_ids = itertools.count()


@pytest.fixture(scope="module")
def table(table_from_template):
    return table_from_template("TracesTable", "Traces-delivery")


@pytest.fixture
def sid(table) -> str:
    """A recipient item sent as a fresh provider message id."""
    sid = f"SM{next(_ids)}"
    table.put_item(
        Item={"TraceId": f"trace-{sid}", "Sk": SK, "Status": "SENT", "ProviderMessageId": sid}
    )
    return sid


def update(sid: str, status: str, error: str | None = None) -> DeliveryUpdate:
    return DeliveryUpdate("twilio", sid, status, AT, error)


def delivery(table, sid: str) -> dict:
    item = table.get_item(Key={"TraceId": f"trace-{sid}", "Sk": SK}, ConsistentRead=True)["Item"]
    return {k: v for k, v in item.items() if k.startswith("Delivery")}


ORDERS = {
    "in order": ["queued", "sent", "delivered", "read"],
    "reversed": ["read", "delivered", "sent", "queued"],
    "shuffled": ["sent", "read", "queued", "delivered"],
    "repeated": ["sent", "sent", "read", "delivered", "read"],
}


@pytest.mark.parametrize("order", ORDERS.values(), ids=ORDERS.keys())
def test_the_final_status_is_the_latest_state_whatever_the_order(table, sid, order):
    store = DeliveryStatusStore(table)
    for status in order:
        store.record_delivery(update(sid, status))

    assert delivery(table, sid)["DeliveryStatus"] == "read"
    assert delivery(table, sid)["DeliveryRank"] == 5


def test_of_two_final_states_the_first_recorded_wins(table, sid):
    store = DeliveryStatusStore(table)

    assert store.record_delivery(update(sid, "undelivered", "30003")) == 1
    assert store.record_delivery(update(sid, "delivered")) == 0

    assert delivery(table, sid) == {
        "DeliveryStatus": "undelivered",
        "DeliveryRank": 4,
        "DeliveryErrorCode": "30003",
        "DeliveryUpdatedAt": AT,
    }


def test_other_fields_of_the_recipient_are_kept(table, sid):
    DeliveryStatusStore(table).record_delivery(update(sid, "delivered"))

    item = table.get_item(Key={"TraceId": f"trace-{sid}", "Sk": SK})["Item"]
    assert (item["Status"], item["ProviderMessageId"]) == ("SENT", sid)


def test_a_status_for_an_unrecorded_send_says_so(table):
    with pytest.raises(RecipientNotRecorded):
        DeliveryStatusStore(table).record_delivery(update("SM-unknown", "sent"))


def test_a_status_right_after_the_send_finds_its_recipient_before_the_outcome_is_recorded(table):
    attempts = AttemptStore(table, 30)
    sid = f"SM{next(_ids)}"
    owner, channel, address = "cust456", "WHATSAPP", "whatsapp:+447835065013"
    attempts.begin_send(f"trace-{sid}", owner, channel, address, "2999-01-01T00:00:00.000000+00:00")

    attempts.complete_send(f"trace-{sid}", owner, channel, address, sid, AT)

    assert DeliveryStatusStore(table).record_delivery(update(sid, "delivered")) == 1
    item = table.get_item(
        Key={"TraceId": f"trace-{sid}", "Sk": f"{owner}#{channel}#{address}"}, ConsistentRead=True
    )["Item"]
    assert (item["Status"], item["SentAt"], item["DeliveryStatus"]) == ("SENT", AT, "delivered")
