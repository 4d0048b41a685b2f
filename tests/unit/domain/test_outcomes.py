"""Recipients' outcomes: their reasons, counts, and the dead-letter message for the exhausted."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from notify.domain.outcomes import (
    FAILED,
    MAX_CAUSE_CHARS,
    REJECTED,
    SENT,
    as_it_arrived,
    count_by_channel,
    dead_letter,
    exhausted,
    failure_reason,
    sqs_text,
    with_tried,
)
from notify.domain.plan import plan
from notify.domain.steps import GivenUp, Outcome, Tried

TRACE_ID = "12348"
OWNER = "customer:cust456"
EXECUTION_ARN = "arn:aws:states:us-east-1:123456789012:execution:Delivery:run-1"
CALLER = {"sub": "user123", "customer_id": "cust456"}
MESSAGES = {
    "EmailMessage": {
        "FromAddress": "alerts@example.com",
        "Subject": "Account Alert",
        "Substitutions": {"productName": "CHEQUING", "accountBalance": "100.00"},
    },
    "SMSMessage": {
        "MessageType": "TRANSACTIONAL",
        "OriginationNumber": "your-pool-id",
        "TemplateName": "alert-template",
    },
}
SMS_SUBSTITUTIONS = {"productName": "SAVINGS", "membershipNumber": ["****7303"]}


def lambda_cause(message: str, error_type: str = "TransientError") -> str:
    """The Cause Step Functions records for a Lambda function's unhandled exception."""
    return json.dumps(
        {
            "errorMessage": message,
            "errorType": error_type,
            "requestId": "5e1f8d4b-0000-0000-0000-000000000000",
            "stackTrace": ['  File "/var/task/notify/handlers/send_email.py", line 31'],
        }
    )


def sent_outcome(address: str, channel: str) -> Outcome:
    recipient = {"Address": address, "ChannelType": channel}
    return Outcome(
        TRACE_ID,
        OWNER,
        recipient,
        SENT,
        provider_message_id="msg-1",
        sent_at="2026-11-24T10:00:00+00:00",
    )


def caught_outcome(
    status: str, recipient: dict[str, Any], error: str | None, cause: str | None
) -> Outcome:
    # As the state machine's Rejected and Exhausted Pass states build it.
    return Outcome(TRACE_ID, OWNER, recipient, status, error=error, cause=cause)


# One of each: sent, rejected, and two that exhausted their retries.
OUTCOMES = [
    sent_outcome("sent@example.com", "EMAIL"),
    caught_outcome(
        REJECTED,
        {"Address": "bad@example.com", "ChannelType": "EMAIL"},
        "PermanentError",
        lambda_cause("InvalidAddress: email 'bad@example.com'", "PermanentError"),
    ),
    caught_outcome(
        FAILED,
        {"Address": "slow@example.com", "ChannelType": "EMAIL"},
        "TransientError",
        lambda_cause("Throttled: TooManyRequestsException: Maximum sending rate exceeded."),
    ),
    caught_outcome(
        FAILED,
        {"Address": "+16048621234", "ChannelType": "SMS", "Substitutions": SMS_SUBSTITUTIONS},
        "States.Timeout",
        "Task timed out after 60.00 seconds",
    ),
]


@pytest.mark.parametrize(
    ("outcome", "reason"),
    [
        pytest.param(
            {"Error": "PermanentError", "Cause": lambda_cause("MissingVariable: no value for: x")},
            "MissingVariable: no value for: x",
            id="lambda-error-cause",
        ),
        pytest.param(
            {"Error": "States.Timeout", "Cause": "Task timed out after 60.00 seconds"},
            "Task timed out after 60.00 seconds",
            id="plain-text-cause",
        ),
        pytest.param(
            {"Error": "States.TaskFailed", "Cause": '{"message": "no errorMessage here"}'},
            '{"message": "no errorMessage here"}',
            id="json-cause-without-error-message",
        ),
        pytest.param(
            {"Error": "States.TaskFailed", "Cause": '["a list"]'},
            '["a list"]',
            id="json-cause-not-an-object",
        ),
        pytest.param({"Error": "Sandbox.Timedout", "Cause": ""}, "Sandbox.Timedout", id="empty"),
        pytest.param({"Error": "Sandbox.Timedout", "Cause": None}, "Sandbox.Timedout", id="null"),
        pytest.param({"Error": "Sandbox.Timedout"}, "Sandbox.Timedout", id="no-cause"),
        pytest.param({}, "", id="neither"),
    ],
)
def test_the_failure_reason_is_the_lambda_error_message_else_the_cause_else_the_error(
    outcome, reason
) -> None:
    failed = {"TraceId": TRACE_ID, "Owner": OWNER, "Recipient": {}, "Status": FAILED}

    assert failure_reason(Outcome.from_json(failed | outcome)) == reason


def test_exhausted_names_only_the_failed_recipients_as_they_were() -> None:
    assert exhausted(OUTCOMES) == [
        {"Address": "slow@example.com", "ChannelType": "EMAIL"},
        {"Address": "+16048621234", "ChannelType": "SMS", "Substitutions": SMS_SUBSTITUTIONS},
    ]


def test_outcomes_are_counted_by_channel_and_status() -> None:
    assert count_by_channel(OUTCOMES) == {
        ("EMAIL", SENT): 1,
        ("EMAIL", REJECTED): 1,
        ("EMAIL", FAILED): 1,
        ("SMS", FAILED): 1,
    }


@pytest.mark.parametrize(
    "outcomes",
    [
        pytest.param([], id="no-outcomes"),
        pytest.param(OUTCOMES[:1], id="all-sent"),
        pytest.param(OUTCOMES[:2], id="sent-and-rejected"),
    ],
)
def test_there_is_no_dead_letter_when_nothing_failed(outcomes) -> None:
    assert dead_letter(TRACE_ID, CALLER, MESSAGES, outcomes, EXECUTION_ARN) is None


def test_the_dead_letter_request_resends_only_the_failed_recipients() -> None:
    letter = dead_letter(TRACE_ID, CALLER, MESSAGES, OUTCOMES, EXECUTION_ARN)

    assert letter is not None
    assert json.loads(letter["MessageBody"]) == {
        "Caller": CALLER,
        "Request": {
            "TraceId": TRACE_ID,
            **MESSAGES,
            "Addresses": {
                "slow@example.com": {"ChannelType": "EMAIL"},
                "+16048621234": {"ChannelType": "SMS", "Substitutions": SMS_SUBSTITUTIONS},
            },
        },
    }


def test_the_dead_letter_attributes_name_the_error_each_failure_and_the_execution() -> None:
    letter = dead_letter(TRACE_ID, CALLER, MESSAGES, OUTCOMES, EXECUTION_ARN)

    assert letter is not None
    assert letter["MessageAttributes"] == {
        "Error": {"DataType": "String", "StringValue": "TransientError"},
        "Cause": {
            "DataType": "String",
            "StringValue": (
                "slow@example.com: Throttled: TooManyRequestsException: "
                "Maximum sending rate exceeded.; "
                "+16048621234: Task timed out after 60.00 seconds"
            ),
        },
        "ExecutionArn": {"DataType": "String", "StringValue": EXECUTION_ARN},
    }


def test_the_dead_letter_body_plans_back_into_just_the_failed_deliveries() -> None:
    letter = dead_letter(TRACE_ID, CALLER, MESSAGES, OUTCOMES, EXECUTION_ARN)

    assert letter is not None
    replanned = plan(letter["MessageBody"])
    assert replanned.owner == "customer:cust456"
    assert replanned.messages == MESSAGES
    assert list(replanned.deliveries) == exhausted(OUTCOMES)


def test_building_the_dead_letter_leaves_the_outcomes_untouched() -> None:
    before = json.dumps([outcome.to_json() for outcome in OUTCOMES])

    dead_letter(TRACE_ID, CALLER, MESSAGES, OUTCOMES, EXECUTION_ARN)

    assert json.dumps([outcome.to_json() for outcome in OUTCOMES]) == before


@pytest.mark.parametrize(
    ("error", "cause", "execution_arn"),
    [
        pytest.param(None, None, EXECUTION_ARN, id="no-error-or-cause"),
        pytest.param("", "", EXECUTION_ARN, id="empty-error-and-cause"),
        pytest.param("TransientError", lambda_cause(""), "", id="empty-message-and-arn"),
    ],
)
def test_every_dead_letter_attribute_has_a_value_because_sqs_refuses_empty_ones(
    error, cause, execution_arn
) -> None:
    failed = caught_outcome(FAILED, {"Address": "", "ChannelType": "EMAIL"}, error, cause)

    letter = dead_letter(TRACE_ID, CALLER, MESSAGES, [failed], execution_arn)

    assert letter is not None
    values = {name: a["StringValue"] for name, a in letter["MessageAttributes"].items()}
    assert all(values.values()), values
    assert values["Error"] == (error or "States.TaskFailed")


def test_the_dead_letter_cause_is_capped() -> None:
    failed = [
        caught_outcome(
            FAILED,
            {"Address": f"user{n}@example.com", "ChannelType": "EMAIL"},
            "TransientError",
            lambda_cause("Throttled: " + "x" * 500),
        )
        for n in range(10)
    ]

    letter = dead_letter(TRACE_ID, CALLER, MESSAGES, failed, EXECUTION_ARN)

    assert letter is not None
    cause = letter["MessageAttributes"]["Cause"]["StringValue"]
    assert len(cause) == MAX_CAUSE_CHARS
    assert cause.startswith("user0@example.com: Throttled: xxx")
    # The body is not capped: every failed recipient is still re-sent.
    assert len(json.loads(letter["MessageBody"])["Request"]["Addresses"]) == 10


# What SQS accepts (XML 1.0's characters): #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD |
# #x10000-#x10FFFF. Anything else makes SendMessage answer 400: the letter would be lost.
SQS_TEXT = re.compile("[\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")
POISON = "p\ud800@example.com"


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        ("p\ud800@example.com", "p\\ud800@example.com"),
        ("NUL\x00 VT\x0b", "NUL\\u0000 VT\\u000b"),
        ("\ufffe\uffff", "\\ufffe\\uffff"),
        ("tab\t é 日本 \U0001f600 \ufffd", "tab\t é 日本 \U0001f600 \ufffd"),
    ],
    ids=["lone-surrogate", "control-characters", "non-characters", "allowed-unchanged"],
)
def test_text_sqs_refuses_is_written_as_json_escapes(text, sent) -> None:
    assert sqs_text(text) == sent


def test_a_dead_letter_whose_request_and_cause_hold_a_lone_surrogate_holds_only_sqs_text():
    failed = caught_outcome(
        FAILED,
        {"Address": POISON, "ChannelType": "EMAIL"},
        "TransientError",
        lambda_cause(f"cannot encode {POISON}"),
    )

    letter = dead_letter(TRACE_ID, CALLER, MESSAGES, [failed], EXECUTION_ARN + "\ud800")

    assert letter is not None
    values = [a["StringValue"] for a in letter["MessageAttributes"].values()]
    assert all(SQS_TEXT.fullmatch(text) for text in [letter["MessageBody"], *values])
    assert letter["MessageAttributes"]["Cause"]["StringValue"] == (
        "p\\ud800@example.com: cannot encode p\\ud800@example.com"
    )
    assert list(json.loads(letter["MessageBody"])["Request"]["Addresses"]) == [POISON]


def test_a_body_dead_lettered_as_it_arrived_holds_only_sqs_text_and_the_same_json() -> None:
    body = json.dumps({"Request": {"Addresses": {POISON: {}}}}, ensure_ascii=False)

    letter = as_it_arrived(body, "InvalidMessage", f"bad {POISON}", EXECUTION_ARN)

    assert SQS_TEXT.fullmatch(letter["MessageBody"])
    assert json.loads(letter["MessageBody"]) == json.loads(body)
    assert letter["MessageAttributes"]["Cause"]["StringValue"] == "bad p\\ud800@example.com"


def test_the_channels_fallen_back_from_are_recorded_and_never_count_as_exhausted():
    whatsapp = {"Address": "whatsapp:+447835065013", "ChannelType": "WHATSAPP"}
    email = {"Address": "jane@example.com", "ChannelType": "EMAIL"}
    sms = {"Address": "+447835065013", "ChannelType": "SMS"}
    timed_out = GivenUp(sms, "States.Timeout", "timed out")
    rejected = GivenUp(whatsapp, "PermanentError", "OutsideSessionWindow: 63016")
    sent = Outcome("t", "o", email, SENT, tried=Tried((timed_out, rejected)))

    flat = with_tried([sent])

    assert [(o.recipient["ChannelType"], o.status, o.fell_back) for o in flat] == [
        ("EMAIL", "SENT", False),
        ("SMS", "FAILED", True),
        ("WHATSAPP", "REJECTED", True),
    ]
    assert flat[1].cause == "timed out"
    assert flat[0].tried == Tried()
    assert exhausted(flat) == []
