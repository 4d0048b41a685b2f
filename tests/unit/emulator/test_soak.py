"""`make soak`'s verdict: which figures fail it, and the table it prints."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from emulator.soak import SoakResult, table

CLEAN = SoakResult(
    requests=50,
    recipients=1000,
    with_fallback=117,
    throttled=0.5,
    executions=6,
    stopped=2,
    failed_executions=4,
    dead_letters=30,
    dead_lettered_recipients=194,
    requests_with_unsent=30,
    dead_letters_exactly_unsent=30,
    dead_lettered_but_sent=0,
    redriven_executions=31,
    dead_letters_after_redrive=0,
    lost=0,
    duplicated=0,
    traces_running=0,
    poison_errors_before=["InvalidMessage"],
    poison_errors_after=["InvalidMessage"],
    poison_sent=0,
    seconds=133.4,
)


def test_a_soak_that_lost_nothing_sent_nothing_twice_and_kept_the_poison_apart_passes():
    assert CLEAN.problems() == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"lost": 2}, "lost = 2"),
        ({"duplicated": 1}, "duplicated = 1"),
        ({"dead_lettered_but_sent": 3}, "dead_lettered_but_sent = 3"),
        ({"traces_running": 1}, "traces_running = 1"),
        ({"dead_letters_after_redrive": 1}, "dead_letters_after_redrive = 1"),
        ({"poison_sent": 1}, "poison_sent = 1"),
        ({"poison_errors_before": []}, "poisoned request: [] dead-lettered"),
        (
            {"poison_errors_before": ["InvalidMessage", "InvalidMessage"]},
            "poisoned request: ['InvalidMessage', 'InvalidMessage'] dead-lettered",
        ),
        (
            {"poison_errors_after": ["States.ABORTED"]},
            "poisoned request redriven: ['States.ABORTED'] dead-lettered",
        ),
    ],
    ids=[
        "lost",
        "sent-twice",
        "dead-lettered-but-sent",
        "trace-running",
        "dead-letter-left-after-redrive",
        "poison-sent",
        "poison-not-dead-lettered",
        "poison-dead-lettered-twice",
        "poison-redriven-not-invalid-message",
    ],
)
def test_each_harm_fails_the_soak_and_is_named(change, problem):
    assert replace(CLEAN, **change).problems() == [problem]


def test_the_table_shows_each_checked_figure_beside_what_it_must_be():
    lines = table(replace(CLEAN, lost=2)).splitlines()
    rows = {name: rest for name, *rest in (re.split(r"\s{2,}", line.strip()) for line in lines)}

    assert rows["lost"] == ["2", "0"]
    assert rows["traces RUNNING"] == ["0", "0"]
    assert rows["recipients"] == ["1000"]
