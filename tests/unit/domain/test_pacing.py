"""The pacing rules: what a send does with its slot, a throttle's backoff, Plan's bookings."""

from __future__ import annotations

from typing import Any

import pytest

from notify.domain.pacing import (
    BULK,
    BULK_AHEAD,
    COME_BACK_EARLY,
    FRESH_SLOT_WAIT,
    LATE,
    NOT_BEFORE,
    OUTLAST_THROTTLE_SECONDS,
    SLOT_HELD,
    THROTTLED,
    THROTTLED_SINCE,
    TRANSACTIONAL,
    WAIT_IN_FUNCTION,
    WAIT_UNTIL,
    Booking,
    decide,
    due_back,
    interval,
    lane_of,
    throttle_backoff,
    with_bookings,
    with_wait_until,
    without_pacing,
)
from notify.domain.steps import DeliveryStep, ExecutionPlan, RequestEntry

NOW = 1_800_000_000.0
EMAIL = {"Address": "jane@example.com", "ChannelType": "EMAIL"}


def not_to_book() -> Booking:
    raise AssertionError("booked a slot it did not need")


class OneBooking:
    """A `book_one` that gives this booking, counting how often it is asked."""

    def __init__(self, at: float, held: bool = True) -> None:
        self.booking, self.calls = Booking(at, held), 0

    def __call__(self) -> Booking:
        self.calls += 1
        return self.booking


# ---------------------------------------------------------------- decide
def test_a_held_slot_that_is_near_is_waited_for_in_the_function():
    recipient = EMAIL | {NOT_BEFORE: NOW + 1.2, SLOT_HELD: True}

    assert decide(recipient, NOW, not_to_book) == pytest.approx(1.2)


def test_a_held_slot_that_is_due_or_just_past_is_sent_at_once():
    for not_before in (NOW, NOW - LATE):
        recipient = EMAIL | {NOT_BEFORE: not_before, SLOT_HELD: True}

        assert decide(recipient, NOW, not_to_book) == 0.0


def test_a_held_slot_that_went_by_books_afresh_rather_than_crowd_the_slots_after_it():
    # A continuation that came back late: its slot is gone, so it takes the next free one.
    recipient = EMAIL | {NOT_BEFORE: NOW - LATE - 0.01, SLOT_HELD: True}
    book_one = OneBooking(NOW + 0.3)

    assert decide(recipient, NOW, book_one) == pytest.approx(0.3)
    assert book_one.calls == 1


def test_a_held_slot_that_went_by_and_books_a_far_slot_is_paced_with_the_new_slot():
    recipient = EMAIL | {NOT_BEFORE: NOW - 3, SLOT_HELD: True}

    assert decide(recipient, NOW, OneBooking(NOW + 42)) == {NOT_BEFORE: NOW + 42, SLOT_HELD: True}


def test_a_held_slot_that_is_far_leaves_the_execution_paced_keeping_the_slot():
    recipient = EMAIL | {NOT_BEFORE: NOW + 30, SLOT_HELD: True}

    assert decide(recipient, NOW, not_to_book) == {NOT_BEFORE: NOW + 30, SLOT_HELD: True}


def test_a_time_to_come_back_that_is_far_is_paced_again_without_booking():
    recipient = EMAIL | {NOT_BEFORE: NOW + 30, SLOT_HELD: False}

    assert decide(recipient, NOW, not_to_book) == {NOT_BEFORE: NOW + 30, SLOT_HELD: False}


def test_a_turn_in_the_bulk_line_books_only_once_it_has_come():
    # Booked early, a ticket holder would take a second place in the line.
    recipient = EMAIL | {NOT_BEFORE: NOW + WAIT_IN_FUNCTION, SLOT_HELD: False}
    book_one = OneBooking(NOW + WAIT_IN_FUNCTION + 0.4)

    come_back = {NOT_BEFORE: NOW + WAIT_IN_FUNCTION, SLOT_HELD: False}
    assert decide(recipient, NOW, book_one) == come_back
    assert book_one.calls == 0
    assert decide(recipient, NOW + WAIT_IN_FUNCTION, book_one) == pytest.approx(0.4)
    assert book_one.calls == 1


def test_a_recipient_without_a_slot_books_one_and_waits_for_it_when_near():
    book_one = OneBooking(NOW + 0.25)

    assert decide(EMAIL, NOW, book_one) == pytest.approx(0.25)
    assert book_one.calls == 1


def test_a_recipient_without_a_slot_whose_booking_is_far_is_paced_with_it():
    assert decide(EMAIL, NOW, OneBooking(NOW + 42)) == {NOT_BEFORE: NOW + 42, SLOT_HELD: True}


def test_a_ticket_in_the_bulk_line_comes_back_when_its_turn_is_within_the_bulk_horizon():
    # A ticket is no slot: even a near one leaves the execution, to book when it is back.
    assert decide(EMAIL, NOW, OneBooking(NOW + 1, held=False)) == {
        NOT_BEFORE: NOW + 1 - BULK_AHEAD,
        SLOT_HELD: False,
    }


def test_a_near_slot_later_than_its_execution_waits_for_is_paced_keeping_it():
    # The Map sends one after another: waited for, this slot would hold the execution on.
    recipient = EMAIL | {NOT_BEFORE: NOW + 1.0, SLOT_HELD: True, WAIT_UNTIL: NOW + 0.5}

    assert decide(recipient, NOW, not_to_book) == {NOT_BEFORE: NOW + 1.0, SLOT_HELD: True}


def test_a_near_slot_its_execution_waits_for_is_waited_for():
    recipient = EMAIL | {NOT_BEFORE: NOW + 1.0, SLOT_HELD: True, WAIT_UNTIL: NOW + 1.5}

    assert decide(recipient, NOW, not_to_book) == pytest.approx(1.0)


def test_a_send_reached_after_its_executions_horizon_waits_for_a_near_fresh_slot():
    # A slow Map (a loaded host, cold starts) reaches this send after its horizon, its
    # planned slot gone by: the send is running, so a fresh slot near now is waited for
    # rather than paced into a continuation; a far one is paced.
    recipient = EMAIL | {NOT_BEFORE: NOW - 2.0, SLOT_HELD: True, WAIT_UNTIL: NOW - 0.5}

    assert decide(recipient, NOW, OneBooking(NOW)) == 0.0
    assert decide(recipient, NOW, OneBooking(NOW + 0.2)) == pytest.approx(0.2)
    far = NOW + FRESH_SLOT_WAIT + 0.1
    assert decide(recipient, NOW, OneBooking(far)) == {NOT_BEFORE: far, SLOT_HELD: True}


# ---------------------------------------------------------------- a provider's throttle
def test_the_first_throttle_comes_back_at_once_unheld_to_book_the_next_free_slot():
    assert throttle_backoff(EMAIL, NOW) == {
        THROTTLED: 1,
        THROTTLED_SINCE: NOW,
        NOT_BEFORE: NOW,
        SLOT_HELD: False,
    }


def test_each_throttle_in_a_row_doubles_the_backoff_up_to_five_minutes_for_fifteen_minutes():
    recipient: dict[str, Any] = dict(EMAIL)
    now, waits = NOW, []
    while (fields := throttle_backoff(recipient, now)) is not None:  # throttled every time
        waits.append(fields[NOT_BEFORE] - now)
        assert fields[SLOT_HELD] is False
        recipient |= fields
        now = fields[NOT_BEFORE]

    # At once, then 2^(n-1) s for the n-th in a row: 2, 4, ... capped at five minutes.
    assert waits == [0, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert (recipient[THROTTLED], recipient[THROTTLED_SINCE]) == (11, NOW)
    assert now - NOW >= OUTLAST_THROTTLE_SECONDS  # the last try came after 15 minutes


def test_a_throttle_is_outlasted_fifteen_minutes_then_the_recipient_is_exhausted():
    throttled = EMAIL | {THROTTLED: 9, THROTTLED_SINCE: NOW}
    just_before = NOW + OUTLAST_THROTTLE_SECONDS - 1

    assert throttle_backoff(throttled, just_before)[NOT_BEFORE] == just_before + 300
    assert throttle_backoff(throttled, NOW + OUTLAST_THROTTLE_SECONDS) is None


def test_a_redrive_starts_from_the_recipient_as_its_request_named_it():
    paced = EMAIL | throttle_backoff(EMAIL, NOW)

    assert without_pacing(paced) == EMAIL


# ---------------------------------------------------------------- lanes and budgets
@pytest.mark.parametrize(
    ("request_", "lane"),
    [
        pytest.param({}, TRANSACTIONAL, id="default"),
        pytest.param({"Priority": "transactional"}, TRANSACTIONAL, id="transactional"),
        pytest.param({"Priority": "bulk"}, BULK, id="bulk"),
        pytest.param({"Priority": None}, TRANSACTIONAL, id="none"),
    ],
)
def test_a_requests_lane_is_its_priority_transactional_unless_it_says_bulk(request_, lane):
    assert lane_of(request_) == lane


def test_a_budget_is_a_positive_rate():
    assert interval(20) == 0.05
    with pytest.raises(ValueError, match="positive number of messages per second"):
        interval(0)


# ---------------------------------------------------------------- Plan's bookings
class Budgets:
    """A `with_bookings` book: consecutive slots a second apart per budget, calls recorded."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, int]] = []
        self.next: dict[str, float] = {}

    def __call__(self, channel: str, budget: str, lane: str, count: int) -> list[Booking]:
        self.calls.append((channel, budget, lane, count))
        start = self.next.get(budget, NOW)
        self.next[budget] = start + count
        return [Booking(start + i, held=True) for i in range(count)]


def request(trace_id: str, priority: str | None = None, **messages: Any) -> RequestEntry:
    return RequestEntry(trace_id, "user:u-1", {"sub": "u-1"}, messages, priority=priority)


def step(index: int, address: str, channel: str, **fields: Any) -> DeliveryStep:
    recipient = {"Address": address, "ChannelType": channel, **fields}
    return DeliveryStep(index, f"arn:{channel.lower()}", recipient)


EMAIL_BLOCK = {"FromAddress": "alerts@example.com", "Subject": "Hi", "TextBody": "Hello"}
SMS_BLOCK = {"OriginationNumber": "pool-1", "MessageBody": "Hello"}


def test_a_requests_recipients_book_one_block_per_channel_budget_and_lane():
    plan = ExecutionPlan(
        requests=(
            request("t-1", EmailMessage=EMAIL_BLOCK, SMSMessage=SMS_BLOCK),
            request("t-2", BULK, EmailMessage=EMAIL_BLOCK),
        ),
        deliveries=(
            step(0, "a@example.com", "EMAIL"),
            step(0, "+16045550100", "SMS"),
            step(1, "c@example.com", "EMAIL"),
            step(0, "b@example.com", "EMAIL"),
            step(1, "d@example.com", "EMAIL"),
        ),
    )
    budgets = Budgets()

    booked = with_bookings(plan, budgets)

    assert budgets.calls == [
        ("EMAIL", "EMAIL", TRANSACTIONAL, 2),
        ("SMS", "SMS#pool-1", TRANSACTIONAL, 1),
        ("EMAIL", "EMAIL", BULK, 2),
    ]
    slots = {d.recipient["Address"]: d.recipient[NOT_BEFORE] for d in booked.deliveries}
    # A request's sends on one budget are contiguous, in the order of its recipients.
    assert slots == {
        "a@example.com": NOW,
        "b@example.com": NOW + 1,
        "+16045550100": NOW,
        "c@example.com": NOW + 2,
        "d@example.com": NOW + 3,
    }
    assert all(d.recipient[SLOT_HELD] is True for d in booked.deliveries)
    assert [d.recipient["Address"] for d in booked.deliveries] == [
        d.recipient["Address"] for d in plan.deliveries
    ]


def test_a_recipient_that_already_has_a_time_keeps_it_and_books_nothing():
    kept = {NOT_BEFORE: NOW + 30, SLOT_HELD: True}
    plan = ExecutionPlan(
        requests=(request("t-1", EmailMessage=EMAIL_BLOCK),),
        deliveries=(step(0, "a@example.com", "EMAIL", **kept), step(0, "b@example.com", "EMAIL")),
    )
    budgets = Budgets()

    first, second = with_bookings(plan, budgets).deliveries

    assert first == plan.deliveries[0]
    assert second.recipient[NOT_BEFORE] == NOW
    assert budgets.calls == [("EMAIL", "EMAIL", TRANSACTIONAL, 1)]


def test_a_ticket_is_booked_as_a_time_to_come_back_before_its_turn():
    plan = ExecutionPlan(
        requests=(request("t-1", BULK, EmailMessage=EMAIL_BLOCK),),
        deliveries=(step(0, "a@example.com", "EMAIL"),),
    )

    [booked] = with_bookings(plan, lambda *_: [Booking(NOW + 10, held=False)]).deliveries

    assert booked.recipient == {
        "Address": "a@example.com",
        "ChannelType": "EMAIL",
        NOT_BEFORE: NOW + 10 - BULK_AHEAD,
        SLOT_HELD: False,
    }


def test_each_first_channel_is_told_the_latest_slot_its_execution_waits_for():
    kept = {NOT_BEFORE: NOW + 30, SLOT_HELD: True}
    plan = ExecutionPlan(
        requests=(request("t-1", EmailMessage=EMAIL_BLOCK),),
        deliveries=(step(0, "a@example.com", "EMAIL", **kept), step(0, "b@example.com", "EMAIL")),
    )

    booked = with_bookings(plan, Budgets(), now=NOW)

    assert [d.recipient[WAIT_UNTIL] for d in booked.deliveries] == [NOW + WAIT_IN_FUNCTION] * 2


def test_a_continuation_back_before_its_first_slot_waits_until_past_that_slot():
    # Its request's first held slot is 3 s ahead (it came back early to wait for it); a
    # fresh request, with no slot held, waits past now.
    steps = [
        step(0, "a@example.com", "EMAIL", **{NOT_BEFORE: NOW + 4, SLOT_HELD: True}),
        step(0, "b@example.com", "EMAIL", **{NOT_BEFORE: NOW + 3, SLOT_HELD: True}),
        step(0, "+16045550100", "SMS", **{NOT_BEFORE: NOW + 30, SLOT_HELD: False}),
        step(1, "c@example.com", "EMAIL"),
    ]

    told = with_wait_until(steps, NOW)

    assert [s.recipient[WAIT_UNTIL] for s in told] == [
        NOW + 3 + WAIT_IN_FUNCTION,
        NOW + 3 + WAIT_IN_FUNCTION,
        NOW + 3 + WAIT_IN_FUNCTION,
        NOW + WAIT_IN_FUNCTION,
    ]
    assert [without_pacing(s.recipient) for s in told] == [
        without_pacing(s.recipient) for s in steps
    ]


def test_a_slot_that_went_by_waits_no_later_than_past_now():
    [told] = with_wait_until(
        [step(0, "a@example.com", "EMAIL", **{NOT_BEFORE: NOW - 10, SLOT_HELD: True})], NOW
    )

    assert told.recipient[WAIT_UNTIL] == NOW + WAIT_IN_FUNCTION


def test_a_paced_send_holding_a_slot_is_due_back_early_to_wait_for_it_in_the_function():
    held = EMAIL | {NOT_BEFORE: NOW + 30, SLOT_HELD: True}

    assert due_back(held) == NOW + 30 - COME_BACK_EARLY
    # A time to come back (a ticket's turn, a throttle's backoff) is due at that time.
    assert due_back(EMAIL | {NOT_BEFORE: NOW + 30, SLOT_HELD: False}) == NOW + 30
    assert due_back(EMAIL | {NOT_BEFORE: NOW + 30}) == NOW + 30


def test_a_plan_with_nothing_to_send_books_nothing():
    budgets = Budgets()

    assert with_bookings(ExecutionPlan(), budgets) == ExecutionPlan()
    assert budgets.calls == []


def test_a_retry_waits_for_a_fresh_slot_past_its_executions_horizon_and_never_uses_a_gone_one():
    """A retried try never leaves its execution paced (its retries would never run out),
    and never sends on a slot that went by: it books afresh and waits up to RETRY_WAIT."""
    from notify.domain.pacing import RETRY_WAIT, WAIT_UNTIL, Booking, decide

    now = 1_000.0
    gone = {NOT_BEFORE_KEY: now - 1, SLOT_HELD_KEY: True, WAIT_UNTIL: now - 0.5}
    booked: list[Booking] = []

    def book_one() -> Booking:
        booked.append(Booking(now + 10, held=True))
        return booked[-1]

    assert decide(gone, now, book_one, retry=True) == pytest.approx(10)
    assert len(booked) == 1
    far = lambda: Booking(now + RETRY_WAIT + 1, held=True)  # noqa: E731
    assert isinstance(decide({}, now, far, retry=True), dict)  # beyond even a retry's wait


NOT_BEFORE_KEY, SLOT_HELD_KEY = "NotBefore", "SlotHeld"
