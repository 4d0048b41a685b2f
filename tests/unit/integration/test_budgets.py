"""The send budgets table: a timeline of send slots per sender, booked with conditional writes.

Against moto's DynamoDB, the table as template.yaml declares it. Each test books on a
budget of its own, at times it chooses (`now` is an argument of every booking).
"""

from __future__ import annotations

import math
import random
import uuid
from bisect import bisect_left
from itertools import pairwise
from typing import Any

import pytest

from notify.domain.pacing import BULK, BULK_AHEAD, LONGEST_DELAY, TRANSACTIONAL, Booking
from notify.integration.budgets import BudgetStore
from notify.integration.dynamodb_table import DynamoTable

TABLE = "unit-send-budgets"
NOW = 1_800_000_000.0  # an epoch second of 2027, as time.time() gives it
TENTH = 0.1  # a default budget of 10 messages per second


class CountingTable:
    """The budgets table, counting the UpdateItem requests made through it."""

    def __init__(self, table: DynamoTable) -> None:
        self._table = table
        self.updates = 0

    def update_item(self, **params: Any) -> dict[str, Any]:
        self.updates += 1
        return self._table.update_item(**params)


@pytest.fixture(scope="module")
def table(mocked_aws, table_from_template) -> DynamoTable:
    table_from_template("SendBudgetsTable", TABLE)
    return DynamoTable(mocked_aws.client("dynamodb"), TABLE)


@pytest.fixture
def counted(table) -> CountingTable:
    return CountingTable(table)


@pytest.fixture
def store(counted) -> BudgetStore:
    """A send function's store (it keeps its guesses between bookings, as a warm one does)."""
    return BudgetStore(counted)


@pytest.fixture
def operator(table) -> BudgetStore:
    """The operator's CLI: a store of its own, sharing nothing with the send functions'."""
    return BudgetStore(table)


@pytest.fixture
def budget() -> str:
    return f"EMAIL#{uuid.uuid4()}"


def times(bookings: list[Booking]) -> list[float]:
    return [booking.at for booking in bookings]


def after_now(*seconds: float) -> Any:
    """The times `seconds` after NOW, to the microsecond the table keeps."""
    return pytest.approx([NOW + s for s in seconds], abs=1e-6)


def test_consecutive_bookings_are_one_interval_apart(store, budget):
    bookings = [store.book(budget, TRANSACTIONAL, NOW, TENTH)[0] for _ in range(3)]

    assert times(bookings) == after_now(0, 0.1, 0.2)
    assert all(booking.held for booking in bookings)


def test_a_block_of_slots_is_contiguous_and_the_next_booking_follows_it(store, budget):
    block = store.book(budget, TRANSACTIONAL, NOW, TENTH, count=5)
    after = store.book(budget, TRANSACTIONAL, NOW + 0.05, TENTH)

    assert times(block) == after_now(0, 0.1, 0.2, 0.3, 0.4)
    assert all(booking.held for booking in block)
    assert times(after) == after_now(0.5)


def test_an_idle_budget_starts_again_from_now(store, budget):
    store.book(budget, TRANSACTIONAL, NOW, TENTH, count=3)

    [later] = store.book(budget, TRANSACTIONAL, NOW + 60, TENTH)

    assert times([later]) == after_now(60)
    assert later.held


def test_a_booking_is_one_update_when_the_store_guessed_whether_the_timeline_is_busy(
    store, counted, budget
):
    def updates_for(now: float) -> int:
        before = counted.updates
        store.book(budget, TRANSACTIONAL, now, TENTH)
        return counted.updates - before

    # A new budget is guessed idle; a burst makes it busy; a minute later it is idle again.
    arrivals = [NOW, NOW, NOW, NOW, NOW + 60, NOW + 120]

    assert [updates_for(now) for now in arrivals] == [
        1,  # idle, as guessed
        2,  # busy: the idle guess refused, then booked after the last slot
        1,  # busy, as guessed
        1,
        2,  # idle: the busy guess refused
        1,  # idle, as guessed
    ]


def test_an_operators_rate_is_noticed_on_the_next_booking_and_none_restores_the_default(
    store, operator, budget
):
    store.book(budget, TRANSACTIONAL, NOW, TENTH)  # the timeline at the default: 10/s

    operator.set_rate(budget, 2)
    slowed = store.book(budget, TRANSACTIONAL, NOW, TENTH, count=2)
    operator.set_rate(budget, None)
    restored = store.book(budget, TRANSACTIONAL, NOW, TENTH, count=2)

    # The send function's condition names the interval it assumed: refused, it rebooks.
    assert times(slowed) == after_now(0.1, 0.6)
    assert times(restored) == after_now(1.1, 1.2)
    [item] = [item for item in operator.budgets() if item["Budget"] == budget]
    assert "Interval" not in item
    assert "Rate" not in item


def test_an_operators_rate_is_listed_with_its_budget(operator, budget):
    operator.set_rate(budget, 4)

    [item] = [item for item in operator.budgets() if item["Budget"] == budget]

    assert (item["Rate"], item["Interval"]) == (4, pytest.approx(0.25))


def in_the_line(tickets: list[Booking], after: float) -> bool:
    """Places in the bulk line: unheld, after `after`, one interval apart in the order taken."""
    line = times(tickets)
    spacing = [b - a for a, b in pairwise(line)]
    return (
        not any(ticket.held for ticket in tickets)
        and line[0] > after
        and spacing == pytest.approx([TENTH] * len(spacing), abs=1e-6)
    )


def test_bulk_books_only_within_its_horizon_and_takes_tickets_for_the_rest(store, budget):
    bookings = store.book(budget, BULK, NOW, TENTH, count=8)

    # Half a second of slots at 10/s: five held, then three places in the line after them.
    held, tickets = bookings[:5], bookings[5:]
    assert times(held) == after_now(0, 0.1, 0.2, 0.3, 0.4)
    assert all(slot.held for slot in held)
    assert held[-1].at < NOW + BULK_AHEAD
    assert in_the_line(tickets, after=held[-1].at)


def test_bulk_behind_a_busy_timeline_only_takes_tickets_and_a_later_one_queues_behind(
    store, budget
):
    store.book(budget, TRANSACTIONAL, NOW, TENTH, count=10)  # booked a second ahead

    first = store.book(budget, BULK, NOW, TENTH, count=3)
    second = store.book(budget, BULK, NOW, TENTH, count=2)

    assert in_the_line(first + second, after=NOW + 0.9)  # after what is booked
    # The timeline itself is untouched: a transactional send still books right after it.
    [transactional] = store.book(budget, TRANSACTIONAL, NOW, TENTH)
    assert times([transactional]) == after_now(1.0)
    assert transactional.held


def test_a_transactional_send_beyond_the_longest_delay_is_told_to_come_back_unheld(store, budget):
    slots = int(LONGEST_DELAY / TENTH) + 10  # booked past the longest delay
    store.book(budget, TRANSACTIONAL, NOW, TENTH, count=slots)

    assert (
        store.book(budget, TRANSACTIONAL, NOW, TENTH, count=2)
        == [Booking(NOW + LONGEST_DELAY, held=False)] * 2
    )


def test_no_booking_is_made_for_no_sends(store, counted, budget):
    assert store.book(budget, TRANSACTIONAL, NOW, TENTH, count=0) == []
    assert counted.updates == 0


# The property's clock: where a float resolves a nanosecond (near today's epoch it resolves
# a quarter of a microsecond), so that the slots' spacing is checked to the nanosecond.
START = 2.0**20


def arrivals(rng: random.Random, rate: float, count: int) -> list[float]:
    """Send times of a busy sender: bursts, a steady stream above the budget, idle spells."""
    now, found = START + rng.random(), []
    for _ in range(count):
        found.append(now)
        pattern = rng.random()
        if pattern < 0.3:
            continue  # a burst: at the same moment
        if pattern < 0.95:
            now += rng.uniform(0, 1.5 / rate)  # on average somewhat above the budget
        else:
            now += rng.uniform(2, 20) / rate  # quiet for a while: the timeline goes idle
    return found


def most_in_a_window(slots: list[float], seconds: float) -> int:
    """The most slots any half-open window [t, t + seconds) holds."""
    return max(bisect_left(slots, start + seconds) - i for i, start in enumerate(slots))


@pytest.mark.parametrize("rate", [1, 3, 7, 14, 20, 80], ids=lambda rate: f"{rate}-per-second")
def test_no_window_holds_more_than_the_budget_whatever_the_arrivals(store, budget, rate):
    rng = random.Random(rate)
    step = 1 / rate

    slots = []
    for now in arrivals(rng, rate, 300):
        [booking] = store.book(budget, TRANSACTIONAL, now, step)
        assert booking.held
        assert booking.at >= now - 1e-6
        slots.append(booking.at)

    assert slots == sorted(slots)
    assert min(b - a for a, b in pairwise(slots)) >= step - 1e-9
    assert most_in_a_window(slots, 1.0) <= rate
    assert most_in_a_window(slots, 5.0) <= 5 * rate


@pytest.mark.parametrize("rate", [3, 7, 0.3], ids=lambda rate: f"{rate}-per-second")
def test_an_operators_rate_is_not_exceeded_by_its_rounding(store, operator, budget, rate):
    operator.set_rate(budget, rate)

    slots = times([store.book(budget, TRANSACTIONAL, START, TENTH)[0] for _ in range(12)])

    # Exactly spaced: at most ceil(w * rate) slots in any window of w seconds.
    assert most_in_a_window(slots, 1.0) == math.ceil(rate)  # the budget, all of it
    assert most_in_a_window(slots, 5.0) <= math.ceil(5 * rate)
