"""How a send waits for its turn (`sending._on_time`), on a fake clock: a slot due soon is
slept to, a turn in the bulk line before the execution's horizon is waited for and then
booked, one beyond it leaves paced, and a send woken late for its slot books afresh."""

from __future__ import annotations

import pytest

from notify.domain.pacing import LATE, NOT_BEFORE, SLOT_HELD
from notify.handlers import sending


class Clock:
    """Time that moves only when slept; each sleep overruns by the next of `overruns`."""

    def __init__(self, now: float = 1000.0, overruns: tuple[float, ...] = ()) -> None:
        self.now, self.overruns, self.slept = now, list(overruns), []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds + (self.overruns.pop(0) if self.overruns else 0.0)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(sending, "time", fake)
    return fake


def answers(*decisions):
    """A pace that answers these decisions in turn."""
    queue = list(decisions)
    asked = []

    def pace():
        asked.append(queue[0])
        return queue.pop(0)

    pace.asked = asked
    return pace


def test_a_slot_due_soon_is_slept_to_then_sent(clock):
    assert sending._on_time(answers(0.4), horizon=clock.now + 1.5) == 0.0
    assert clock.slept == [pytest.approx(0.4)]


def test_a_turn_in_the_bulk_line_before_the_horizon_is_waited_for_then_booked(clock):
    turn = {NOT_BEFORE: clock.now + 8, SLOT_HELD: False}
    pace = answers(turn, 0.1)

    assert sending._on_time(pace, horizon=clock.now + 20) == 0.0
    assert clock.slept == [pytest.approx(8), pytest.approx(0.1)]
    assert len(pace.asked) == 2  # booked once, when its turn had come


def test_a_turn_beyond_the_horizon_leaves_the_execution_paced(clock):
    turn = {NOT_BEFORE: clock.now + 30, SLOT_HELD: False}

    assert sending._on_time(answers(turn), horizon=clock.now + 20) == turn
    assert clock.slept == []


def test_a_held_slot_far_ahead_is_never_waited_for_here(clock):
    held = {NOT_BEFORE: clock.now + 5, SLOT_HELD: True}

    assert sending._on_time(answers(held), horizon=clock.now + 20) == held


def test_a_send_woken_late_for_its_slot_books_afresh_rather_than_burst(monkeypatch):
    late = Clock(overruns=(LATE * 4,))  # a stalled host wakes it after its slot
    monkeypatch.setattr(sending, "time", late)
    pace = answers(0.2, 0.3)

    assert sending._on_time(pace, horizon=late.now + 1.5) == 0.0
    assert len(pace.asked) == 2  # the gone slot is not used: a fresh one is slept to
    assert late.slept == [pytest.approx(0.2), pytest.approx(0.3)]
