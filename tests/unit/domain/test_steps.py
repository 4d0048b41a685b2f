"""The payloads between the Delivery state machine's states: their JSON, and the ASL's."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from notify.domain.plan import execution_plan, plan
from notify.domain.steps import (
    DeliveryStep,
    ExecutionPlan,
    GivenUp,
    Outcome,
    Planned,
    RequestEntry,
    Tried,
)

ASL = Path(__file__).resolve().parents[3] / "statemachine" / "delivery.asl.json"

WHATSAPP = {"Address": "whatsapp:+16048621234", "ChannelType": "WHATSAPP"}
SMS = {"Address": "+16048621234", "ChannelType": "SMS", "AwaitDeliverySeconds": 60}
EMAIL = {"Address": "jane@example.com", "ChannelType": "EMAIL", "Substitutions": {"n": "Jane"}}
REQUEST = RequestEntry(
    "t-1",
    "customer:acme",
    {"sub": "user-1", "customer_id": "acme"},
    {"SMSMessage": {"MessageBody": "Hi"}, "EmailMessage": {"Subject": "Hi", "TextBody": "Hi"}},
    fallback_after_seconds=60,
)
STEP = DeliveryStep(0, "arn:sms", SMS, DeliveryStep(0, "arn:email", EMAIL))
OUTSIDE_WINDOW = GivenUp(WHATSAPP, "PermanentError", "OutsideSessionWindow: 63016")
CAUGHT = {
    "Error": "PermanentError",
    "Cause": json.dumps({"errorMessage": "InvalidAddress: +1604", "errorType": "PermanentError"}),
}
# A Deliver Map iteration as its Pass states see it: the request and delivery the
# ItemSelector picked, the channels given up on so far, and the error a Catch put beside.
ITERATION = {
    "Request": REQUEST.to_json(),
    "Delivery": STEP.to_json(),
    "Tried": Tried((OUTSIDE_WINDOW,)).to_json(),
    "Error": CAUGHT,
}


def load_asl() -> dict[str, Any]:
    """The ASL as JSON: a substitution outside quotes (a number) becomes 0."""
    return json.loads(re.sub(r'(?<!")\$\{\w+\}(?!")', "0", ASL.read_text()))


def states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every state by name, those inside a Map's ItemProcessor too."""
    found = {}
    for name, state in definition["States"].items():
        found[name] = state
        if "ItemProcessor" in state:
            found |= states(state["ItemProcessor"])
    return found


def outcome_states() -> dict[str, dict[str, Any]]:
    """The Pass states that build an outcome: those that set its Status."""
    return {
        name: state
        for name, state in states(load_asl()).items()
        if state["Type"] == "Pass" and "Status" in state.get("Parameters", {})
    }


def evaluate(expression: str, data: dict[str, Any]) -> Any:
    """A JsonPath (`$.A.B`) or States.Array of them, as Step Functions reads it from `data`."""
    if expression.startswith("States.Array(") and expression.endswith(")"):
        arguments = expression.removeprefix("States.Array(").removesuffix(")")
        return [evaluate(argument.strip(), data) for argument in arguments.split(",")]
    assert re.fullmatch(r"\$(\.\w+)+", expression), f"not a plain path: {expression}"
    value: Any = data
    for name in expression.split(".")[1:]:
        value = value[name]
    return value


def parameters(template: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """A state's Parameters with each `Key.$` replaced by `Key` and the value it selects."""
    built = {}
    for key, value in template.items():
        if key.endswith(".$"):
            built[key.removesuffix(".$")] = evaluate(value, data)
        elif isinstance(value, dict):
            built[key] = parameters(value, data)
        else:
            built[key] = value
    return built


# ---------------------------------------------------------------- the ASL's outcomes
def test_the_asl_builds_outcomes_in_its_awaiting_rejected_and_exhausted_states() -> None:
    assert sorted(outcome_states()) == ["AwaitingReceipt", "Exhausted", "Rejected", "RejectedAgain"]


@pytest.mark.parametrize("name", sorted(outcome_states()))
def test_each_outcome_the_asl_builds_reads_as_an_outcome_and_writes_back_the_same(name) -> None:
    built = parameters(outcome_states()[name]["Parameters"], ITERATION)

    outcome = Outcome.from_json(built)

    assert outcome.to_json() == built
    assert (outcome.trace_id, outcome.recipient, outcome.delivery) == ("t-1", SMS, STEP)


def test_the_rejected_outcome_carries_the_caught_error_and_the_channels_given_up_on() -> None:
    built = parameters(outcome_states()["Rejected"]["Parameters"], ITERATION)

    outcome = Outcome.from_json(built)

    assert (outcome.status, outcome.error, outcome.cause) == ("REJECTED", *CAUGHT.values())
    assert outcome.tried == Tried((OUTSIDE_WINDOW,))


def test_the_next_channel_state_hands_the_send_its_fallback_and_what_it_gave_up_on() -> None:
    next_channel = states(load_asl())["NextChannel"]

    built = parameters(next_channel["Parameters"], ITERATION)

    assert DeliveryStep.from_json(built["Delivery"]) == STEP.next
    given_up = Tried.from_json(built["Tried"]).given_up
    assert given_up == (GivenUp(SMS, *CAUGHT.values()), OUTSIDE_WINDOW)  # the latest first
    assert Tried(given_up).to_json() == built["Tried"]


def test_every_key_the_asl_reads_from_plans_answer_is_in_the_execution_plan() -> None:
    definition = load_asl()
    later = {name: state for name, state in definition["States"].items() if name != "Plan"}
    for state in later.values():
        # What an iteration reads is its own input; a selector reads a task's result.
        for field in ("ItemProcessor", "ResultSelector", "OutputPath", "Comment"):
            state.pop(field, None)
    text = json.dumps(later)
    written = {path.split(".")[1] for path in re.findall(r'"ResultPath": "(\$\.\w+)"', text)}

    read = set(re.findall(r"(?<!\$)\$\.(\w+)", text)) - written

    assert read <= set(ExecutionPlan().to_json())


# ---------------------------------------------------------------- outcomes
FULL = Outcome(
    "t-1",
    "customer:acme",
    SMS,
    "FAILED",
    error="TransientError",
    cause="Throttled: slow down",
    provider_message_id="sms-1",
    sent_at="2026-12-01T09:00:00+00:00",
    segments=2,
    encoding="UCS-2",
    delivery=STEP,
    tried=Tried((OUTSIDE_WINDOW,)),
    fell_back=True,
)


def test_an_outcome_with_every_field_round_trips_under_the_names_the_asl_uses() -> None:
    written = FULL.to_json()

    assert sorted(written) == sorted(
        [
            "TraceId",
            "Owner",
            "Recipient",
            "Status",
            "Error",
            "Cause",
            "ProviderMessageId",
            "SentAt",
            "Segments",
            "Encoding",
            "Delivery",
            "Tried",
            "FellBack",
        ]
    )
    assert Outcome.from_json(written) == FULL
    assert json.loads(json.dumps(written)) == written  # plain JSON, nothing else


def test_an_outcome_leaves_out_what_it_does_not_have() -> None:
    sent = Outcome("t-1", "customer:acme", EMAIL, "SENT", provider_message_id="ses-1")

    assert sent.to_json() == {
        "TraceId": "t-1",
        "Owner": "customer:acme",
        "Recipient": EMAIL,
        "Status": "SENT",
        "ProviderMessageId": "ses-1",
    }
    assert Outcome.from_json(sent.to_json()) == sent


def test_the_empty_tried_of_a_first_channel_reads_as_nothing_tried_and_is_left_out() -> None:
    first = {"TraceId": "t-1", "Owner": "customer:acme", "Recipient": SMS, "Status": "AWAITING"}

    outcome = Outcome.from_json(first | {"Tried": []})

    assert outcome.tried == Tried()
    assert outcome.to_json() == first


def test_tried_nests_each_earlier_channel_inside_the_later_one_as_the_asl_does() -> None:
    timed_out = GivenUp(SMS, "States.Timeout")
    tried = Tried((timed_out, OUTSIDE_WINDOW))

    assert tried.to_json() == [
        SMS,
        {"Error": "States.Timeout"},
        [WHATSAPP, {"Error": "PermanentError", "Cause": "OutsideSessionWindow: 63016"}, []],
    ]
    assert Tried.from_json(tried.to_json()) == tried


def test_a_delivery_step_nests_its_fallbacks_and_lists_them_in_order() -> None:
    assert STEP.to_json() == {
        "Request": 0,
        "Function": "arn:sms",
        "Recipient": SMS,
        "Next": {"Request": 0, "Function": "arn:email", "Recipient": EMAIL},
    }
    assert DeliveryStep.from_json(STEP.to_json()) == STEP
    assert STEP.chain() == [SMS, EMAIL]


# ---------------------------------------------------------------- plans
def test_a_request_entry_keeps_its_fallback_settings_only_when_it_waits_for_receipts() -> None:
    waiting = REQUEST.to_json()
    settings = ("FallbackAfterSeconds", "FallbackOnOptOut")

    assert (waiting["FallbackAfterSeconds"], waiting["FallbackOnOptOut"]) == (60, False)
    assert not set(settings) & set(RequestEntry("t-1", "o", {}, {}).to_json())
    assert RequestEntry.from_json(waiting) == REQUEST


def test_a_planned_request_and_its_execution_plan_round_trip() -> None:
    request = {
        "TraceId": "t-1",
        "SMSMessage": {"MessageBody": "Hi"},
        "EmailMessage": {"Subject": "Hi", "TextBody": "Hi"},
        "Addresses": {
            "+16048621234": {"ChannelType": "SMS", "Fallback": [EMAIL]},
            "+16048620000": {"ChannelType": "SMS"},
        },
        "SendAt": "2026-12-01T09:00:00Z",
        "FallbackAfterSeconds": 60,
        "AwaitedReceipts": {"SMS#+16048621234": "WHATSAPP#whatsapp:+16048621234"},
    }
    planned = plan(json.dumps({"Caller": {"sub": "user-1"}, "Request": request}))
    functions = {"SMS": "arn:sms", "EMAIL": "arn:email"}

    executed = execution_plan([planned], functions, {("+16048620000", "SMS")})

    assert Planned.from_json(planned.to_json()) == planned
    assert ExecutionPlan.from_json(executed.to_json()) == executed
    assert [len(executed.rejected), len(executed.deliveries)] == [1, 1]
    assert executed.deliveries[0].next is not None


# ---------------------------------------------------------------- what is refused
REQUIRED = {"TraceId": "t-1", "Owner": "o", "Recipient": SMS, "Status": "SENT"}


@pytest.mark.parametrize(
    ("read", "data", "message"),
    [
        pytest.param(Outcome.from_json, REQUIRED | {"Extra": 1}, r"\['Extra'\]", id="outcome"),
        pytest.param(
            DeliveryStep.from_json,
            STEP.to_json() | {"Fallback": []},
            r"\['Fallback'\]",
            id="delivery-step",
        ),
        pytest.param(
            RequestEntry.from_json,
            REQUEST.to_json() | {"Deliveries": []},
            r"\['Deliveries'\]",
            id="request-entry",
        ),
        pytest.param(
            Planned.from_json,
            Planned("t-1", "o", {}, {}, ()).to_json() | {"Rejected": []},
            r"\['Rejected'\]",
            id="planned",
        ),
        pytest.param(
            ExecutionPlan.from_json,
            ExecutionPlan().to_json() | {"Outcomes": []},
            r"\['Outcomes'\]",
            id="execution-plan",
        ),
        pytest.param(
            Tried.from_json, [SMS, {"Error": "E", "Retry": 1}, []], r"\['Retry'\]", id="tried"
        ),
    ],
)
def test_a_key_a_payload_does_not_know_is_refused_naming_it(read, data, message) -> None:
    # The ASL and the functions are deployed together: an unknown key means they drifted.
    with pytest.raises(ValueError, match=message):
        read(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param({"TraceId": "t-1"}, "lacks \\['Owner', 'Recipient', 'Status'\\]", id="keys"),
        pytest.param(["not", "an", "object"], "must be a JSON object", id="not-an-object"),
        pytest.param(REQUIRED | {"Tried": [SMS, {}]}, "Tried must nest", id="tried-not-a-triple"),
    ],
)
def test_an_outcome_missing_what_it_needs_is_refused(data, message) -> None:
    with pytest.raises(ValueError, match=message):
        Outcome.from_json(data)
