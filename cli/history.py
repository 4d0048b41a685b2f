"""Step Functions execution history, read as one row per state entered (pure functions).

Events are tied to a state through `previousEventId`: parallel Map iterations
interleave their events, and Task events do not name their state. Histories without
that link (hand-written ones) fall back to the most recently entered open state.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cli.output import table
from notify.domain.recipients import channel_key

SCHEDULED = frozenset({"TaskScheduled", "LambdaFunctionScheduled", "ActivityScheduled"})
SUCCEEDED = frozenset({"TaskSucceeded", "LambdaFunctionSucceeded", "ActivitySucceeded"})
FAILED = frozenset(
    {
        "TaskFailed",
        "TaskTimedOut",
        "TaskStartFailed",
        "TaskSubmitFailed",
        "LambdaFunctionFailed",
        "LambdaFunctionTimedOut",
        "LambdaFunctionStartFailed",
        "LambdaFunctionScheduleFailed",
        "ActivityFailed",
        "ActivityTimedOut",
        "ActivityScheduleFailed",
        "MapStateFailed",
        "MapStateAborted",
        "ParallelStateFailed",
        "ParallelStateAborted",
    }
)
BRANCH_STARTS = frozenset({"MapIterationStarted", "ParallelStateStarted"})
EXECUTION_ENDS = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionTimedOut": "TIMED_OUT",
    "ExecutionAborted": "ABORTED",
}
BLOCKS = ("Map", "Parallel")


@dataclass
class StateRun:
    """One entry into a state and what happened until it was left."""

    name: str
    kind: str  # Task, Map, Choice, Pass, ...: the entered event's prefix
    depth: int = 0  # nesting inside Map iterations and Parallel branches
    retries: int = 0
    errors: list[str] = field(default_factory=list)
    exited: bool = False
    failed: bool = False  # the latest attempt failed (caught or not)
    trace_id: str | None = None  # inside a Map iteration: the request it delivers
    recipient: str | None = None  # and its recipient, as `CHANNEL#address`

    @property
    def result(self) -> str:
        if self.failed:
            return "failed"
        return "succeeded" if self.exited else "entered"

    def to_dict(self) -> dict[str, Any]:
        return {
            "State": self.name,
            "Type": self.kind,
            "Depth": self.depth,
            "Result": self.result,
            "Retries": self.retries,
            "Errors": list(self.errors),
            "Recipient": self.recipient,
        }


def details(event: dict[str, Any]) -> dict[str, Any]:
    """The event's `…EventDetails` block, whatever its type."""
    return next(
        (v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, dict)), {}
    )


def state_runs(events: Iterable[dict[str, Any]]) -> list[StateRun]:
    runs: list[StateRun] = []
    run_of: dict[int, StateRun] = {}  # event id -> the run it belongs to
    type_of: dict[int, str] = {}
    for event in events:
        kind, info, previous = event["type"], details(event), event.get("previousEventId")
        if kind.endswith("StateEntered"):
            parent = run_of.get(previous)
            nested = type_of.get(previous) in BRANCH_STARTS
            depth = parent.depth + nested if parent else 0
            run = StateRun(info.get("name", "?"), kind.removesuffix("StateEntered"), depth)
            run.trace_id = _trace_of(info) if nested else parent and parent.trace_id
            run.recipient = _recipient_of(info) if nested else parent and parent.recipient
            runs.append(run)
        else:
            run = _owner(kind, info, run_of.get(previous), runs)
            if run is not None:
                _apply(run, kind, info)
        if run is not None and "id" in event:
            run_of[event["id"]] = run
            type_of[event["id"]] = kind
    return runs


def for_trace(runs: list[StateRun], trace_id: str) -> list[StateRun]:
    """The execution's own states and the Map iterations of this TraceId's recipients.

    A batched execution delivers several requests; each iteration's input names its own.
    """
    return [run for run in runs if run.trace_id in (None, trace_id)]


def _trace_of(info: dict[str, Any]) -> str | None:
    """The TraceId of the request a Map iteration's first state was given, if any."""
    try:
        request = json.loads(info.get("input") or "{}").get("Request")
    except (ValueError, AttributeError):
        return None
    return request.get("TraceId") if isinstance(request, dict) else None


def _recipient_of(info: dict[str, Any]) -> str | None:
    """`CHANNEL#address` of the recipient a Map iteration's first state was given, if any."""
    try:
        delivery = json.loads(info.get("input") or "{}").get("Delivery")
        recipient = delivery.get("Recipient") if isinstance(delivery, dict) else None
    except (ValueError, AttributeError):
        return None
    if not isinstance(recipient, dict) or "Address" not in recipient:
        return None
    return channel_key(recipient)


def _owner(
    kind: str, info: dict[str, Any], linked: StateRun | None, runs: list[StateRun]
) -> StateRun | None:
    """The run an event (other than StateEntered) belongs to."""
    if "name" in info:  # StateExited, MapIteration*: they name their state
        if linked and linked.name == info["name"]:
            return linked
        return _latest_open(runs, lambda run: run.name == info["name"])
    if kind.startswith(BLOCKS):  # MapStateSucceeded etc. link to the last inner event
        if linked and linked.kind in BLOCKS:
            return linked
        return _latest_open(runs, lambda run: run.kind in BLOCKS)
    return linked or _latest_open(runs, lambda run: True)


def _latest_open(runs: list[StateRun], accept: Any) -> StateRun | None:
    return next((run for run in reversed(runs) if not run.exited and accept(run)), None)


def _apply(run: StateRun, kind: str, info: dict[str, Any]) -> None:
    if kind in SCHEDULED:
        if run.failed:  # an attempt failed and the same state schedules another: a retry
            run.retries += 1
        run.failed = False
    elif kind in SUCCEEDED:
        run.failed = False
    elif kind in FAILED:
        run.failed = True
        if "error" in info or not kind.startswith(BLOCKS):
            run.errors.append(info.get("error") or kind)
    elif kind in EXECUTION_ENDS and kind != "ExecutionSucceeded":
        run.failed = True
        error = info.get("error") or kind
        if error not in run.errors:
            run.errors.append(error)
    elif kind.endswith("StateExited"):
        run.exited = True


def execution_outcome(events: Iterable[dict[str, Any]]) -> tuple[str, str | None, str | None]:
    """(status, error, cause) as the history tells it; RUNNING until an end event."""
    status, error, cause = "RUNNING", None, None
    for event in events:
        if event["type"] in EXECUTION_ENDS:
            info = details(event)
            status, error, cause = (
                EXECUTION_ENDS[event["type"]],
                info.get("error"),
                info.get("cause"),
            )
        elif event["type"] in ("ExecutionStarted", "ExecutionRedriven"):
            status, error, cause = "RUNNING", None, None
    return status, error, cause


def summarise_errors(errors: list[str]) -> str:
    """'TransientError x4, States.Timeout': each name once, in order, with its count."""
    return ", ".join(
        name if count == 1 else f"{name} x{count}" for name, count in Counter(errors).items()
    )


def render_states(states: list[dict[str, Any]], indent: str = "") -> list[str]:
    """The table of `StateRun.to_dict()` rows: state, result, retries, errors."""
    rows = [
        [
            "  " * state["Depth"] + state["State"],
            state["Result"],
            str(state["Retries"]),
            summarise_errors(state["Errors"]),
        ]
        for state in states
    ]
    return table(["STATE", "RESULT", "RETRIES", "ERRORS"], rows, indent)
