"""An execution history read as one row per state entered: results, retries, errors."""

from __future__ import annotations

import json
from typing import Any

from cli.history import (
    execution_outcome,
    for_trace,
    render_states,
    state_runs,
    summarise_errors,
)


class History:
    """Builds a history the way Step Functions links it: each event names its previous one."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def add(self, kind: str, after: int | None = None, **details: Any) -> int:
        event_id = len(self.events) + 1
        previous = self.events[-1]["id"] if after is None and self.events else after or 0
        event: dict[str, Any] = {"id": event_id, "previousEventId": previous, "type": kind}
        if details:
            event[_details_key(kind)] = details
        self.events.append(event)
        return event_id

    def task(self, name: str, *errors: str) -> None:
        """A Task state: one failed attempt per error, then one that succeeds."""
        self.add("TaskStateEntered", name=name)
        for error in errors:
            self.add("TaskScheduled")
            self.add("TaskFailed", error=error, cause="boom")
        self.add("TaskScheduled")
        self.add("TaskSucceeded")
        self.add("TaskStateExited", name=name)


def _details_key(kind: str) -> str:
    # TaskStateEntered -> stateEnteredEventDetails; TaskFailed -> taskFailedEventDetails
    for suffix in ("StateEntered", "StateExited"):
        if kind.endswith(suffix):
            return f"state{suffix.removeprefix('State')}EventDetails"
    return kind[0].lower() + kind[1:] + "EventDetails"


def rows(events: list[dict[str, Any]]) -> list[tuple[str, str, int, list[str]]]:
    return [(r.name, r.result, r.retries, r.errors) for r in state_runs(events)]


def test_a_failed_attempt_followed_by_a_new_schedule_is_a_retry():
    history = History()
    history.add("ExecutionStarted")
    history.task("SendSms", "TransientError", "TransientError")
    history.add("ExecutionSucceeded")

    assert rows(history.events) == [
        ("SendSms", "succeeded", 2, ["TransientError", "TransientError"])
    ]


def test_a_caught_failure_is_failed_and_its_last_attempt_is_not_a_retry():
    history = History()
    entered = history.add("TaskStateEntered", name="SendEmail")
    for _ in range(4):
        history.add("TaskScheduled")
        history.add("TaskFailed", error="TransientError")
    history.add("TaskStateExited", name="SendEmail")
    history.add("PassStateEntered", name="Exhausted")
    history.add("PassStateExited", name="Exhausted")

    assert entered == 1
    assert rows(history.events) == [
        ("SendEmail", "failed", 3, ["TransientError"] * 4),
        ("Exhausted", "succeeded", 0, []),
    ]


def test_a_state_never_left_is_entered():
    history = History()
    history.add("TaskStateEntered", name="Plan")
    history.add("TaskScheduled")

    assert rows(history.events) == [("Plan", "entered", 0, [])]


def test_interleaved_map_iterations_are_told_apart_by_their_previous_event():
    # Two iterations run at once: their events interleave, as in a real history.
    h = History()
    h.add("MapStateEntered", name="Deliver")
    started = h.add("MapStateStarted")
    first = h.add("MapIterationStarted", after=started, name="Deliver", index=0)
    second = h.add("MapIterationStarted", after=started, name="Deliver", index=1)
    email = h.add("TaskStateEntered", after=first, name="SendEmail")
    sms = h.add("TaskStateEntered", after=second, name="SendSms")
    email_try = h.add("TaskScheduled", after=email)
    sms_try = h.add("TaskScheduled", after=sms)
    sms_failed = h.add("TaskFailed", after=sms_try, error="TransientError")
    email_ok = h.add("TaskSucceeded", after=email_try)
    sms_retry = h.add("TaskScheduled", after=sms_failed)
    h.add("TaskStateExited", after=email_ok, name="SendEmail")
    sms_ok = h.add("TaskSucceeded", after=sms_retry)
    last = h.add("TaskStateExited", after=sms_ok, name="SendSms")
    h.add("MapStateSucceeded", after=last)
    h.add("MapStateExited", after=last, name="Deliver")
    h.add("SucceedStateEntered", name="Delivered")
    h.add("SucceedStateExited", name="Delivered")

    runs = state_runs(h.events)

    assert [(r.name, r.depth, r.result, r.retries) for r in runs] == [
        ("Deliver", 0, "succeeded", 0),
        ("SendEmail", 1, "succeeded", 0),
        ("SendSms", 1, "succeeded", 1),
        ("Delivered", 0, "succeeded", 0),
    ]


def test_a_failed_map_and_the_execution_failure_name_the_error():
    h = History()
    h.add("MapStateEntered", name="RetryExhausted")
    h.add("MapStateStarted")
    h.add("MapIterationStarted", name="RetryExhausted", index=0)
    h.add("TaskStateEntered", name="RetrySendEmail")
    h.add("TaskScheduled")
    failed = h.add("TaskFailed", error="TransientError")
    h.add("MapIterationFailed", name="RetryExhausted", index=0)
    h.add("MapStateFailed", after=failed)
    h.add("ExecutionFailed", error="TransientError", cause='{"errorMessage": "5xx"}')

    assert rows(h.events) == [
        ("RetryExhausted", "failed", 0, ["TransientError"]),
        ("RetrySendEmail", "failed", 0, ["TransientError"]),
    ]
    assert execution_outcome(h.events) == ("FAILED", "TransientError", '{"errorMessage": "5xx"}')


def test_a_fail_state_takes_the_execution_error():
    h = History()
    h.add("FailStateEntered", name="NotProcessed")
    h.add("ExecutionFailed", error="RequestNotProcessed", cause="see the DLQ")

    assert rows(h.events) == [("NotProcessed", "failed", 0, ["RequestNotProcessed"])]


def test_an_execution_without_an_end_event_is_running():
    h = History()
    h.add("ExecutionStarted")
    h.add("TaskStateEntered", name="Plan")

    assert execution_outcome(h.events) == ("RUNNING", None, None)


def test_a_history_without_event_links_falls_back_to_the_latest_open_state():
    events = [
        {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "Plan"}},
        {"type": "TaskScheduled"},
        {"type": "TaskFailed", "taskFailedEventDetails": {"error": "Lambda.ServiceException"}},
        {"type": "TaskScheduled"},
        {"type": "TaskSucceeded"},
        {"type": "TaskStateExited", "stateExitedEventDetails": {"name": "Plan"}},
    ]

    assert rows(events) == [("Plan", "succeeded", 1, ["Lambda.ServiceException"])]


def test_errors_are_summarised_once_each_with_their_count():
    assert summarise_errors(["A", "A", "B", "A"]) == "A x3, B"
    assert summarise_errors([]) == ""


def test_the_table_has_fixed_width_columns_and_indents_map_iterations():
    h = History()
    h.add("TaskStateEntered", name="Plan")
    h.add("TaskScheduled")
    h.add("TaskSucceeded")
    h.add("TaskStateExited", name="Plan")
    h.add("MapStateEntered", name="Deliver")
    started = h.add("MapStateStarted")
    iteration = h.add("MapIterationStarted", after=started, name="Deliver", index=0)
    h.add("TaskStateEntered", after=iteration, name="SendEmail")
    for _ in range(4):
        h.add("TaskScheduled")
        h.add("TaskFailed", error="TransientError")
    h.add("TaskStateExited", name="SendEmail")
    h.add("MapIterationSucceeded", name="Deliver", index=0)
    h.add("MapStateSucceeded")
    h.add("MapStateExited", name="Deliver")

    lines = render_states([run.to_dict() for run in state_runs(h.events)], indent="  ")

    assert lines == [
        "  STATE        RESULT     RETRIES  ERRORS",
        "  Plan         succeeded  0",
        "  Deliver      succeeded  0",
        "    SendEmail  failed     3        TransientError x4",
    ]


def test_a_batched_execution_shows_a_trace_only_its_own_iterations():
    history = History()
    history.add("ExecutionStarted")
    history.task("Plan")
    history.add("MapStateEntered", name="Deliver")
    history.add("MapStateStarted", length=2)
    for index, trace_id in enumerate(["mine", "theirs"]):
        started = history.add("MapIterationStarted", name="Deliver", index=index)
        entered = history.add(
            "TaskStateEntered",
            after=started,
            name="Send",
            input=json.dumps({"Request": {"TraceId": trace_id}, "Delivery": {}}),
        )
        history.add("TaskScheduled", after=entered)
        history.add("TaskFailed", error="PermanentError", cause="no")
        history.add("TaskStateExited", name="Send")
        history.add("PassStateEntered", name="Rejected")
        history.add("PassStateExited", name="Rejected")
        history.add("MapIterationSucceeded", name="Deliver", index=index)
    history.add("MapStateExited", name="Deliver")
    history.task("Record")
    history.add("ExecutionSucceeded")

    runs = for_trace(state_runs(history.events), "mine")

    assert [(run.name, run.depth) for run in runs] == [
        ("Plan", 0),
        ("Deliver", 0),
        ("Send", 1),
        ("Rejected", 1),
        ("Record", 0),
    ]
