"""Send budgets: every send is paced to what its provider accepts, transactional mail first.

Each sender has a budget in messages per second (its channel's default, or an operator's
rate for that sender). A budget is a timeline of send slots `interval` apart (a generic
cell-rate algorithm): a send reserves the next free slot, so the provider never sees more
than the budget over any window, and a burst never exceeds one slot per interval.

What a send does with its slot:
- within `WAIT_IN_FUNCTION` seconds, of now and of when Plan planned its execution
  (`WaitUntil`): it waits in the send function, then sends; a slot booked in the send
  function itself (its planned one gone by, a fallback, a HELP reply) is waited for
  within `FRESH_SLOT_WAIT` of now: the send is running, and a continuation costs more;
- later: it leaves the execution *paced*: Record keeps it on the trace with the time of
  its slot (`NotBefore`), and queues it again for then. Waiting is not failing: a paced
  send uses up none of its retries and holds no other recipient or request.
The Map starts each send when an earlier one ends, so measured from the send alone every
slot would look near and an execution would last as long as its sends take at the
budget; measured from Plan, it lasts `WAIT_IN_FUNCTION` at most, whatever it carries.

Lanes: a `transactional` send (the default) reserves its slot however far ahead it is; a
`bulk` send reserves only within `BULK_AHEAD` seconds, so at most that much bulk is ever
booked before a transactional send: bulk takes what transactional leaves. A bulk send
over that horizon takes a *ticket* (a place in the bulk line, not a slot) and comes back
when its turn is near.

A provider's own throttle (a shared account, a quota lowered under us) is outlasted the
same way: the send leaves the execution and comes back with a growing backoff, for at
least `OUTLAST_THROTTLE_SECONDS`, before the recipient counts as exhausted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from notify.domain.channels import CHANNELS
from notify.domain.steps import DeliveryStep, ExecutionPlan, RequestEntry

TRANSACTIONAL, BULK = "transactional", "bulk"
LANES = (TRANSACTIONAL, BULK)
# The outcome of a send that left its execution to wait for its slot or a throttle.
PACED = "PACED"
# On a recipient of a queued request: not to be sent before this time (epoch seconds)...
NOT_BEFORE = "NotBefore"
# ... holding the slot it reserved then (True), or only a ticket in the bulk line.
SLOT_HELD = "SlotHeld"
# How often the provider throttled this recipient, and since when (epoch seconds).
THROTTLED = "Throttled"
THROTTLED_SINCE = "ThrottledSince"
# On each recipient Plan lists: the latest slot its execution waits for (epoch seconds).
WAIT_UNTIL = "WaitUntil"
PACING_FIELDS = (NOT_BEFORE, SLOT_HELD, THROTTLED, THROTTLED_SINCE, WAIT_UNTIL)

# A slot this close is waited for in the send function (the Map's slot is held meanwhile).
WAIT_IN_FUNCTION = 1.5
# A job's row waits this long in the function for its slot or its turn in the bulk line:
# a job's executions are its own (a Distributed Map's children), sized to its budget, so
# waiting there holds no other request; paced out, each row would cost an execution.
# Under the send functions' 30 s timeout.
JOB_WAIT_IN_FUNCTION = 20.0
# A held slot this far gone is not used: it would crowd the slots after it.
LATE = 0.05
# A slot booked in the send function (its planned one gone by: a cold start, a slow Map) is
# waited for this long at most: ten sends' slots at 20/s, so a Map's late sends still go.
FRESH_SLOT_WAIT = 0.5
# A retry of a failed try waits in the function this long at most for its slot (its
# task's timeout is 60 s); only failed sends are retried, so this is rare.
RETRY_WAIT = 30.0
# How far ahead a bulk send may book (a block of bulk slots at most this long, from at most
# this far ahead): a transactional send waits at most twice this for bulk.
BULK_AHEAD = 0.5
# A paced send holding a slot comes back this much before it, to wait for its slot in the
# function rather than miss it. The way back (SQS's whole-second delay, the pipe, a new
# execution, Plan, the Map) takes about a second warm and more cold; a missed slot is
# booked again at the end of the timeline, another round trip. Measured on the local
# stack (10 x 20 e-mails at 20/s): back 1 s early, utilisation 0.27 and 13.3 DynamoDB
# writes and 5.4 transitions a message; 2.5 s early, 0.38, 8.5 and 3.5 (docs/cost.md).
COME_BACK_EARLY = 2.5
# The furthest a paced send is queued ahead in one go (SQS's longest DelaySeconds).
LONGEST_DELAY = 900.0
# A provider that throttles is retried this long before its recipient is exhausted...
OUTLAST_THROTTLE_SECONDS = 15 * 60
# ... with this backoff: at once, then 2, 4, 8, ... seconds, at most 5 minutes apart.
THROTTLE_BACKOFF_BASE, THROTTLE_BACKOFF_MAX = 2.0, 300.0


def lane_of(request: Mapping[str, Any]) -> str:
    """The request's lane: its `Priority`, transactional unless it says bulk."""
    return BULK if request.get("Priority") == BULK else TRANSACTIONAL


def interval(rate: float) -> float:
    """Seconds between two slots of a budget of `rate` messages per second."""
    if rate <= 0:
        raise ValueError(f"a send budget is a positive number of messages per second, not {rate}")
    return 1.0 / rate


@dataclass(frozen=True)
class Booking:
    """What the budget gave a send: a slot at `at` (`held`), or a ticket to come back `at`."""

    at: float
    held: bool


def next_step(booking: Booking, now: float, until: float | None = None) -> float | None:
    """Seconds to wait in the function before sending, or None: leave the execution paced.

    `until`: the latest slot this execution waits for (`WAIT_UNTIL`, set by Plan); without
    one, a slot within `WAIT_IN_FUNCTION` of now.
    """
    latest = _latest(now, until)
    if booking.held and booking.at <= latest:
        return max(0.0, booking.at - now)
    return None


def horizon(recipient: Mapping[str, Any], now: float, retry: bool = False) -> float:
    """The latest a send of `recipient` waits for in the function (epoch seconds)."""
    until = recipient.get(WAIT_UNTIL)
    return _latest(now, None if until is None else float(until), retry)


def _latest(now: float, until: float | None, retry: bool = False) -> float:
    """The latest slot a send waits for in the function. A slot due now is always taken:
    sending at once holds the execution no longer, however late in it the send runs."""
    if retry:
        return now + RETRY_WAIT
    if until is None:
        return now + WAIT_IN_FUNCTION
    return max(float(until), now + LATE)


def due_back(recipient: Mapping[str, Any]) -> float:
    """When a paced recipient's continuation should run: before its slot, or at its time."""
    early = COME_BACK_EARLY if recipient.get(SLOT_HELD) else 0.0
    return float(recipient[NOT_BEFORE]) - early


def come_back_at(booking: Booking) -> float:
    """When a paced send is queued for: its slot, or a ticket's turn minus the bulk horizon."""
    return booking.at if booking.held else booking.at - BULK_AHEAD


def decide(
    recipient: Mapping[str, Any], now: float, book_one: Callable[[], Booking], retry: bool = False
) -> float | dict[str, Any]:
    """Seconds to wait before sending; or the pacing fields to leave the execution with.

    A recipient holding a slot keeps it, unless the slot went by (a continuation that came
    back late): sending then would crowd the slots after it, so it books afresh. One told
    to come back (a ticket: a place in the bulk line) books once that time has come, never
    before: booking early would take a second place in the line. One with neither (a
    fallback channel, a HELP reply) books now. A `retry` (of a try that failed in this
    execution) waits for its slot, or a fresh one, up to `RETRY_WAIT`, whatever its
    execution's horizon: paced, it would leave the execution with its retries unspent, in
    every execution, never to be exhausted.
    """
    not_before = recipient.get(NOT_BEFORE)
    until = recipient.get(WAIT_UNTIL)
    latest = _latest(now, until, retry)
    held = not_before is not None and recipient.get(SLOT_HELD)
    if held and float(not_before) >= now - LATE:
        booking = Booking(float(not_before), held=True)
    elif not_before is not None and not recipient.get(SLOT_HELD) and float(not_before) > now:
        return {NOT_BEFORE: not_before, SLOT_HELD: False}  # its turn is to come: then
    else:
        booking = book_one()
        # Booked here (late for its slot, a fallback, a HELP reply), the send is running:
        # a slot that near is waited for, cheaper than a continuation.
        latest = max(latest, now + FRESH_SLOT_WAIT)
    wait = next_step(booking, now, latest)
    if wait is not None:
        return wait
    return {NOT_BEFORE: round(come_back_at(booking), 6), SLOT_HELD: booking.held}


def throttle_backoff(recipient: Mapping[str, Any], now: float) -> dict[str, Any] | None:
    """The recipient's pacing fields after a provider throttle, or None: it is exhausted.

    The first throttle books the next free slot at once: at a budget equal to the
    provider's quota, a send that landed a moment early (network jitter) was refused, not
    the budget. The n-th throttle in a row after it waits 2^(n-1) seconds (at most five
    minutes); once the first was `OUTLAST_THROTTLE_SECONDS` ago, retrying has lasted long
    enough.
    """
    times = int(recipient.get(THROTTLED, 0)) + 1
    since = float(recipient.get(THROTTLED_SINCE, now))
    if now - since >= OUTLAST_THROTTLE_SECONDS:
        return None
    wait = 0.0 if times == 1 else min(THROTTLE_BACKOFF_BASE ** (times - 1), THROTTLE_BACKOFF_MAX)
    return {THROTTLED: times, THROTTLED_SINCE: since, NOT_BEFORE: now + wait, SLOT_HELD: False}


def without_pacing(recipient: Mapping[str, Any]) -> dict[str, Any]:
    """The recipient as its request names it, without what pacing added."""
    return {k: v for k, v in recipient.items() if k not in PACING_FIELDS}


# (channel, budget, lane, count) -> that many consecutive bookings.
Book = Callable[[str, str, str, int], Sequence[Booking]]


def with_bookings(
    plan: ExecutionPlan, book: Book, now: float | None = None, wait: float = WAIT_IN_FUNCTION
) -> ExecutionPlan:
    """The plan with a send slot (or a time to come back) on each recipient's first channel.

    The recipients of one request that spend one budget book their slots together
    (`book(channel, budget, lane, count)`), so a request's sends are contiguous: a request paced
    out of its execution comes back once, when its first slot is near, not once per slot.
    A continuation's recipient keeps the slot or time it already has; a fallback channel
    books when it is tried. Given the time of planning (`now`), every first channel is told
    the latest slot its execution waits for (`WAIT_UNTIL`).
    """
    groups: dict[tuple[str, str, str], list[int]] = {}
    for index, step in enumerate(plan.deliveries):
        if NOT_BEFORE in step.recipient:
            continue
        request = plan.requests[step.request]
        channel = CHANNELS[step.recipient["ChannelType"]]
        budget = channel.budget_key(request.messages.get(channel.block, {}))
        key = (channel.name, budget, _lane(request))
        groups.setdefault(key, []).append(index)
    steps = list(plan.deliveries)
    for (channel_name, budget, lane), indexes in groups.items():
        bookings = book(channel_name, budget, lane, len(indexes))
        for index, booking in zip(indexes, bookings, strict=True):
            steps[index] = replace(steps[index], recipient=booked(steps[index].recipient, booking))
    if now is not None:
        steps = with_wait_until(steps, now, wait)
    return replace(plan, deliveries=tuple(steps))


def with_wait_until(
    steps: list[DeliveryStep], now: float, wait: float = WAIT_IN_FUNCTION
) -> list[DeliveryStep]:
    """Each first channel told the latest slot its execution waits for: `wait` past now,
    or past its request's first slot when a continuation came back early."""
    first_slot: dict[int, float] = {}
    for step in steps:
        if step.recipient.get(SLOT_HELD):
            at = float(step.recipient[NOT_BEFORE])
            first_slot[step.request] = min(first_slot.get(step.request, at), at)
    return [
        replace(
            step,
            recipient=dict(step.recipient) | {WAIT_UNTIL: _until(step, first_slot, now, wait)},
        )
        for step in steps
    ]


def _until(step: DeliveryStep, first_slot: Mapping[int, float], now: float, wait: float) -> float:
    return round(max(now, first_slot.get(step.request, now)) + wait, 6)


def booked(recipient: Mapping[str, Any], booking: Booking) -> dict[str, Any]:
    """The recipient with its booking: sent at `NotBefore`, or come back to book then."""
    return dict(recipient) | {NOT_BEFORE: round(come_back_at(booking), 6), SLOT_HELD: booking.held}


def _lane(request: RequestEntry) -> str:
    return BULK if request.priority == BULK else TRANSACTIONAL
