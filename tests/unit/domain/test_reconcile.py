"""Reconciling an execution that ended badly: what is dead-lettered, and what the trace says."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from notify.domain.reconcile import (
    Execution,
    reconcile,
    seconds_in_flight,
    stale_before,
    unsent_outcomes,
)
from notify.domain.steps import Outcome, Planned

ARN = "arn:aws:states:us-east-1:123456789012:execution:messaging-delivery:run-1"
OTHER_ARN = ARN.replace("run-1", "run-2")
CALLER = {"sub": "user-1"}
OWNER = "user:user-1"
REQUEST = {
    "TraceId": "t-1",
    "SMSMessage": {"MessageBody": "Hi"},
    "Addresses": {
        "+16048621234": {"ChannelType": "SMS"},
        "+16048621235": {"ChannelType": "SMS", "Substitutions": {"name": "Ana"}},
        "+16048621236": {"ChannelType": "SMS"},
    },
}
BODY = json.dumps({"Caller": CALLER, "Request": REQUEST})


def execution(status: str = "ABORTED", body: str = BODY, **fields: Any) -> Execution:
    return Execution(ARN, status, json.dumps([{"body": body, "messageId": "m-1"}]), **fields)


class FakeTraces:
    def __init__(self, header: dict[str, Any] | None, items: list[dict[str, Any]]) -> None:
        self.header, self.items = header, items
        self.finished: list[tuple[str, str]] = []
        self.recorded: list[Outcome] = []
        # By SQS message id: the records dead-lettered as they arrived (by Plan, or here).
        self.markers: dict[str, dict[str, Any]] = {}

    def read(self, trace_id: str, owner: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        assert (trace_id, owner) == ("t-1", OWNER)
        return self.header, self.items

    def claim_dead_letter(self, message_id: str, execution: str) -> bool:
        marker = self.markers.setdefault(
            message_id, {"Status": "RUNNING", "ExecutionArn": execution}
        )
        return marker["Status"] == "RUNNING" and marker["ExecutionArn"] == execution

    def end_dead_letter(self, message_id: str, execution: str) -> None:
        marker = self.markers.get(message_id)
        if marker is not None and marker["ExecutionArn"] == execution:
            marker["Status"] = "COMPLETED"

    def finish(self, trace_id: str, owner: str, status: str, execution: str) -> bool:
        if self.header is None or self.header["ExecutionArn"] != execution:
            return False
        self.finished.append((status, execution))
        return True

    def record(self, trace_id: str, owner: str, outcomes: list[Outcome], execution: str) -> str:
        self.recorded += outcomes
        return "RUNNING"


class FakeDeadLetters:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        self.messages.append(message)


def running(arn: str = ARN) -> dict[str, Any]:
    return {"Sk": OWNER, "Status": "RUNNING", "ExecutionArn": arn}


def item(address: str, status: str | None = None, **fields: Any) -> dict[str, Any]:
    found = {"Sk": f"{OWNER}#SMS#{address}", "Address": address, "ChannelType": "SMS"}
    return found | ({"Status": status} if status else {}) | fields


def unsent_sms(address: str) -> Outcome:
    return Outcome("t-1", OWNER, {"ChannelType": "SMS", "Address": address}, "FAILED")


def attributes(message: dict[str, Any]) -> dict[str, str]:
    return {name: value["StringValue"] for name, value in message["MessageAttributes"].items()}


def test_only_recipients_neither_sent_nor_rejected_are_dead_lettered_as_one_request():
    traces = FakeTraces(
        running(),
        [
            item("+16048621234", "SENT"),
            item("+16048621235", "FAILED", Error="TransientError", Reason="Throttled: slow down"),
            item("+16048621236", "REJECTED"),
        ],
    )
    dead_letters = FakeDeadLetters()

    reconcile(execution("FAILED", error="TransientError"), traces, dead_letters)

    [message] = dead_letters.messages
    body = json.loads(message["MessageBody"])
    assert body["Caller"] == CALLER
    assert body["Request"] == REQUEST | {
        "Addresses": {"+16048621235": {"ChannelType": "SMS", "Substitutions": {"name": "Ana"}}}
    }
    assert attributes(message) == {
        "Error": "TransientError",
        "Cause": "+16048621235: Throttled: slow down",
        "ExecutionArn": ARN,
    }
    assert traces.finished == [("FAILED", ARN)]
    assert [o.recipient["Address"] for o in traces.recorded] == ["+16048621235"]


def test_a_stopped_execution_dead_letters_what_it_never_reached_and_says_why():
    traces = FakeTraces(running(), [item("+16048621234", "SENT"), item("+16048621235")])
    dead_letters = FakeDeadLetters()

    reconcile(execution("ABORTED"), traces, dead_letters)

    [message] = dead_letters.messages
    addresses = json.loads(message["MessageBody"])["Request"]["Addresses"]
    assert sorted(addresses) == ["+16048621235", "+16048621236"]
    assert attributes(message)["Error"] == "States.ABORTED"
    assert "stopped before this recipient was sent" in attributes(message)["Cause"]


def test_an_execution_that_failed_after_every_send_completes_its_trace_without_a_dead_letter():
    sent = [item(address, "SENT") for address in REQUEST["Addresses"]]
    traces = FakeTraces(running(), sent)
    dead_letters = FakeDeadLetters()

    reconcile(execution("FAILED", error="States.TaskFailed"), traces, dead_letters)

    assert dead_letters.messages == []
    assert traces.finished == [("COMPLETED", ARN)]


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(running(OTHER_ARN), id="claimed-by-a-later-run"),
        pytest.param({"Sk": OWNER, "Status": "FAILED", "ExecutionArn": ARN}, id="already-done"),
        pytest.param({"Sk": OWNER, "Status": "COMPLETED", "ExecutionArn": ARN}, id="completed"),
    ],
)
def test_a_trace_not_running_in_this_execution_is_left_alone(header):
    traces = FakeTraces(header, [])
    dead_letters = FakeDeadLetters()

    result = reconcile(execution("TIMED_OUT"), traces, dead_letters)

    assert "nothing to do" in result
    assert dead_letters.messages == []
    assert traces.finished == []


def test_an_execution_that_never_claimed_its_trace_is_dead_lettered_as_it_arrived():
    traces = FakeTraces(None, [])
    dead_letters = FakeDeadLetters()

    reconcile(
        execution("FAILED", error="TransientError", cause="throttled"),
        traces,
        dead_letters,
    )

    [message] = dead_letters.messages
    assert message["MessageBody"] == BODY
    assert attributes(message) == {
        "Error": "TransientError",
        "Cause": "throttled",
        "ExecutionArn": ARN,
    }


def test_an_unreadable_request_is_dead_lettered_as_it_arrived_with_the_reason():
    dead_letters = FakeDeadLetters()

    reconcile(execution("FAILED", body='{"Caller": {}}'), FakeTraces(None, []), dead_letters)

    [message] = dead_letters.messages
    assert message["MessageBody"] == '{"Caller": {}}'
    assert "InvalidMessage" in attributes(message)["Cause"]


@pytest.mark.parametrize("status", ["RUNNING", "SUCCEEDED"])
def test_an_execution_that_did_not_end_badly_is_not_reconciled(status):
    dead_letters = FakeDeadLetters()

    reconcile(execution(status), FakeTraces(running(), []), dead_letters)

    assert dead_letters.messages == []


def test_each_request_of_a_batched_execution_is_reconciled_and_plans_dead_letters_kept():
    traces = FakeTraces(running(), [item("+16048621234", "SENT")])
    traces.markers["m-2"] = {"Status": "COMPLETED"}  # Plan did it
    dead_letters = FakeDeadLetters()
    records = [
        {"messageId": "m-1", "body": BODY},
        {"messageId": "m-2", "body": "not json"},
        {"messageId": "m-3", "body": "[]"},
    ]

    reconcile(Execution(ARN, "ABORTED", json.dumps(records)), traces, dead_letters)

    bodies = [message["MessageBody"] for message in dead_letters.messages]
    assert len(bodies) == 2
    assert bodies[1] == "[]"
    assert sorted(json.loads(bodies[0])["Request"]["Addresses"]) == ["+16048621235", "+16048621236"]


def test_claims_older_than_the_timeout_are_stale():
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

    assert stale_before(3600, now) == "2026-11-27T11:00:00.000000+00:00"


def test_a_stop_waits_for_sends_still_in_flight_and_dead_letters_only_what_stayed_unsent():
    soon = (datetime.now(UTC) + timedelta(seconds=25)).isoformat()
    traces = FakeTraces(running(), [item("+16048621234", InProgressUntil=soon)])
    dead_letters = FakeDeadLetters()
    waited: list[float] = []

    def sleep(seconds: float) -> None:
        waited.append(seconds)
        traces.items = [item("+16048621234", "SENT")]  # it went out

    reconcile(execution("ABORTED"), traces, dead_letters, sleep=sleep)

    assert waited == [2]  # looked at again every 2 s, at most until the attempt's time is up
    [message] = dead_letters.messages
    assert sorted(json.loads(message["MessageBody"])["Request"]["Addresses"]) == [
        "+16048621235",
        "+16048621236",
    ]


def test_only_unsent_recipients_with_an_attempt_in_progress_are_waited_for():
    now = datetime(2026, 11, 27, 12, 0, 30, tzinfo=UTC)
    unsent = [unsent_sms("+16048621234")]
    busy = item("+16048621234", InProgressUntil="2026-11-27T12:00:40+00:00")
    lapsed = item("+16048621234", InProgressUntil="2026-11-27T12:00:20+00:00")

    assert seconds_in_flight([busy], unsent, now=now) == 10
    assert seconds_in_flight([lapsed], unsent, now=now) == 0
    assert seconds_in_flight([item("+16048621234")], unsent, now=now) == 0  # its attempt ended
    assert seconds_in_flight([busy], [], now=now) == 0  # a sent recipient is not waited for


@pytest.mark.parametrize(
    ("statuses", "unsent"),
    [
        ({"WHATSAPP": "REJECTED", "SMS": "SENT"}, False),
        ({"WHATSAPP": "REJECTED", "SMS": "REJECTED"}, False),
        ({"WHATSAPP": "CANCELLED"}, False),
        ({"WHATSAPP": "FAILED"}, True),
        ({"WHATSAPP": "REJECTED"}, True),
    ],
    ids=["fallback-sent", "every-channel-rejected", "cancelled", "exhausted", "fallback-untried"],
)
def test_a_recipient_with_fallbacks_is_unsent_until_a_channel_sent_or_every_one_rejected(
    statuses, unsent
):
    recipient = {
        "Address": "whatsapp:+447835065013",
        "ChannelType": "WHATSAPP",
        "Fallback": [{"ChannelType": "SMS", "Address": "+447835065013"}],
    }
    addresses = {"WHATSAPP": "whatsapp:+447835065013", "SMS": "+447835065013"}
    items = [
        {"ChannelType": channel, "Address": addresses[channel], "Status": status}
        for channel, status in statuses.items()
    ]

    planned = Planned("t-1", OWNER, CALLER, {}, (recipient,))

    found = unsent_outcomes(planned, items, Execution(ARN, "ABORTED", "[]"))

    assert bool(found) is unsent


@pytest.mark.parametrize(("exists", "dead_lettered"), [(False, 1), (True, 0)])
def test_a_request_scheduled_by_a_failed_execution_is_dead_lettered_only_without_its_schedule(
    exists, dead_lettered
):
    scheduled = {"Sk": OWNER, "Status": "SCHEDULED", "SendAt": "2026-12-01T09:00:00+00:00"}
    dead_letters = FakeDeadLetters()
    asked = []

    def is_scheduled(owner: str, trace_id: str) -> bool:
        asked.append((owner, trace_id))
        return exists

    reconcile(
        execution("FAILED"), FakeTraces(scheduled, []), dead_letters, is_scheduled=is_scheduled
    )

    assert asked == [(OWNER, "t-1")]
    assert len(dead_letters.messages) == dead_lettered
    if dead_lettered:
        assert dead_letters.messages[0]["MessageBody"] == BODY
        assert "before it was scheduled" in attributes(dead_letters.messages[0])["Cause"]


def test_reconciling_the_same_execution_twice_writes_one_dead_letter_per_request():
    traces = FakeTraces(None, [])  # the execution failed before its claim landed
    dead_letters = FakeDeadLetters()

    for _ in range(2):  # the status-change event, then the sweep (or a retried invocation)
        reconcile(execution("FAILED"), traces, dead_letters)

    assert [m["MessageBody"] for m in dead_letters.messages] == [BODY]


class BrokenTraces(FakeTraces):
    """Reading one trace fails for a reason of its own (a bug, a value a service refuses)."""

    def read(self, trace_id: str, owner: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        if trace_id == "poisoned":
            raise RuntimeError("cannot read poisoned")
        return super().read(trace_id, owner)


def test_a_request_that_cannot_be_reconciled_is_dead_lettered_alone_and_the_others_go_on():
    poisoned = json.dumps({"Caller": CALLER, "Request": REQUEST | {"TraceId": "poisoned"}})
    records = [{"body": poisoned, "messageId": "m-0"}, {"body": BODY, "messageId": "m-1"}]
    traces = BrokenTraces(running(), [item("+16048621234", "SENT"), item("+16048621235")])
    dead_letters = FakeDeadLetters()

    result = reconcile(Execution(ARN, "ABORTED", json.dumps(records)), traces, dead_letters)

    first, second = dead_letters.messages
    assert first["MessageBody"] == poisoned
    assert attributes(first)["Cause"] == "RuntimeError: cannot read poisoned"
    assert list(json.loads(second["MessageBody"])["Request"]["Addresses"]) == [
        "+16048621235",
        "+16048621236",
    ]
    assert "trace FAILED" in result


def test_a_send_the_history_shows_started_is_waited_for_before_anything_is_dead_lettered():
    # Its Lambda was invoked but had not yet marked its attempt when the execution stopped.
    traces = FakeTraces(running(), [item("+16048621234", "SENT"), item("+16048621235")])
    dead_letters = FakeDeadLetters()
    scheduled = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    stopped = execution("ABORTED", sends_started=(("SMS", "+16048621235", scheduled),))
    waited: list[float] = []

    def sleep(seconds: float) -> None:  # meanwhile, the send lands
        waited.append(seconds)
        traces.items = [item("+16048621234", "SENT"), item("+16048621235", "SENT")]

    reconcile(stopped, traces, dead_letters, sleep=sleep)

    assert waited
    [message] = dead_letters.messages
    assert list(json.loads(message["MessageBody"])["Request"]["Addresses"]) == ["+16048621236"]


def test_a_fallbacks_continuation_dead_letters_only_next_channels_whose_receipt_never_came():
    whatsapp = {"Sk": f"{OWNER}#WHATSAPP#whatsapp:+16048621234", "ChannelType": "WHATSAPP"}
    receipts = {
        "SMS#+16048621234": "WHATSAPP#whatsapp:+16048621234",
        "SMS#+16048621235": "WHATSAPP#whatsapp:+16048621235",
        "SMS#+16048621236": "WHATSAPP#whatsapp:+16048621236",
    }
    continued = json.dumps({"Caller": CALLER, "Request": REQUEST | {"AwaitedReceipts": receipts}})
    delivered = whatsapp | {"Address": "whatsapp:+16048621234", "DeliveryStatus": "delivered"}
    traces = FakeTraces(running(), [delivered, item("+16048621235", "SENT")])
    dead_letters = FakeDeadLetters()

    reconcile(execution("ABORTED", body=continued), traces, dead_letters)

    [message] = dead_letters.messages
    assert list(json.loads(message["MessageBody"])["Request"]["Addresses"]) == ["+16048621236"]


def test_a_started_send_whose_attempt_has_since_ended_is_not_waited_for():
    scheduled = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
    unsent = [unsent_sms("+16048621234")]
    started = (("SMS", "+16048621234", scheduled.isoformat()),)
    now = scheduled + timedelta(seconds=5)
    tried = item("+16048621234", "FAILED", LastAttemptAt=(now - timedelta(seconds=1)).isoformat())
    earlier = item("+16048621234", "FAILED", LastAttemptAt="2026-11-27T11:59:00+00:00")

    assert seconds_in_flight([tried], unsent, started, now=now) == 0  # it ran, and failed
    assert seconds_in_flight([earlier], unsent, started, now=now) == 60  # not yet begun
