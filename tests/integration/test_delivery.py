"""The Delivery state machine, run from the real ASL with the real handlers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import all_dead_letters, dead_letters, put_template, reconciled, trace_items

from emulator.providers import Fault

EVENTS = Path(__file__).resolve().parents[2] / "events"
CHEQUING = "Alert: Your CHEQUING account ending in ****5493 has a low balance of $100.00"


def example(name: str, trace_id: str) -> dict:
    return json.loads((EVENTS / name).read_text()) | {"TraceId": trace_id}


def sent_as_tuples(execution) -> list[tuple]:
    return sorted((m.channel, m.to, m.sender, m.subject, m.text or m.body) for m in execution.sent)


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        pytest.param(
            "email-only.json",
            [("EMAIL", "user@example.com", "alerts@example.com", "Low Balance Alert", CHEQUING)],
            id="email-only",
        ),
        pytest.param(
            "sms-template.json",
            [
                (
                    "SMS",
                    "+16048621234",
                    "your-pool-id",
                    None,
                    "Alert: Your SAVINGS account ending in ****7303 has a low balance of $50.00",
                )
            ],
            id="sms-with-template",
        ),
        pytest.param(
            "sms-inline.json",
            [("SMS", "+16048621234", "your-pool-id", None, "Your payment of $50 is due tomorrow")],
            id="sms-inline",
        ),
        pytest.param(
            "email-and-sms.json",
            [
                ("EMAIL", "user@example.com", "alerts@example.com", "Account Alert", CHEQUING),
                (
                    "SMS",
                    "+16048621234",
                    "your-pool-id",
                    None,
                    "Alert: Your CHEQUING account ending in ****7303 has a low balance of $100.00",
                ),
            ],
            id="email-and-sms",
        ),
    ],
)
def test_each_readme_example_sends_exactly_the_expected_messages(client, trace_id, event, expected):
    execution = client.send(example(event, trace_id))

    assert execution.status == "SUCCEEDED"
    assert sent_as_tuples(execution) == expected
    assert {item["Status"] for item in trace_items(client.local, trace_id).values()} == {
        "COMPLETED",
        "SENT",
    }


def test_a_single_recipient_message_takes_four_state_transitions(client, trace_id):
    execution = client.send(example("sms-inline.json", trace_id))

    assert execution.states_entered() == ["Plan", "Deliver", "Send", "Record"]


@pytest.mark.parametrize("recipients", [2, 10])
def test_n_recipients_take_n_plus_three_state_transitions(client, trace_id, recipients):
    request = example("sms-inline.json", trace_id)
    request["Addresses"] = {f"+1604862{n:04d}": {"ChannelType": "SMS"} for n in range(recipients)}

    execution = client.send(request)

    assert execution.status == "SUCCEEDED"
    assert len(execution.states_entered()) == recipients + 3
    assert len(execution.sent) == recipients


def test_ten_queued_requests_share_one_execution_of_thirteen_transitions(client, local, trace_id):
    # The pipe's default batch (PipeBatchSize 10): the fixed Plan, Deliver and Record are
    # spread over every request in it, 1.3 transitions a one-recipient request.
    trace_ids = [f"{trace_id}-{n}" for n in range(10)]
    for each in trace_ids:
        client.queue(example("sms-inline.json", each))

    execution = client.wait(client.start_next())

    assert execution.status == "SUCCEEDED"
    assert len(execution.states_entered()) == 10 + 3
    assert all(len(local.providers.sent(each)) == 1 for each in trace_ids)


def test_recipient_substitutions_override_message_ones_in_either_form(client, local, trace_id):
    put_template(local, "greeting", MessageBody="Hi {name}, your code is {code}.")
    execution = client.send(
        {
            "TraceId": trace_id,
            "SMSMessage": {
                "TemplateName": "greeting",
                "Substitutions": {"name": ["Team"], "code": "0"},
            },
            "Addresses": {
                "+16048621234": {"ChannelType": "SMS", "Substitutions": {"name": ["Ana"]}},
                "+16048621235": {"ChannelType": "SMS", "Substitutions": {"code": "42"}},
            },
        }
    )

    assert sorted((m.to, m.body) for m in execution.sent) == [
        ("+16048621234", "Hi Ana, your code is 0."),
        ("+16048621235", "Hi Team, your code is 42."),
    ]


def test_inline_html_email_escapes_values_and_derives_the_text_part(client, trace_id):
    execution = client.send(
        {
            "TraceId": trace_id,
            "EmailMessage": {
                "FromAddress": "alerts@example.com",
                "Subject": "Hello {name}",
                "HtmlBody": "<p>Dear {name},</p><p>Balance: ${balance}</p>",
            },
            "Addresses": {
                "user@example.com": {
                    "ChannelType": "EMAIL",
                    "Substitutions": {"name": "Tom & <Jerry>", "balance": "5.00"},
                }
            },
        }
    )

    [email] = execution.sent
    assert email.subject == "Hello Tom & <Jerry>"
    assert email.html == "<p>Dear Tom &amp; &lt;Jerry&gt;,</p><p>Balance: $5.00</p>"
    assert email.text == "Dear Tom & <Jerry>,\n\nBalance: $5.00"


def test_a_transient_error_is_retried_and_the_message_sent_once(client, providers, trace_id):
    # A provider's throttle is no such error: it is paced (test_send_budgets.py).
    providers.add_fault(Fault(channel="SMS", error="5xx", address="+16048621234", times=1))

    execution = client.send(example("sms-inline.json", trace_id))

    assert execution.status == "SUCCEEDED"
    assert [m.to for m in execution.sent] == ["+16048621234"]
    [failure] = execution.failed_attempts()
    assert failure["taskFailedEventDetails"]["error"] == "TransientError"
    assert "ProviderUnavailable" in failure["taskFailedEventDetails"]["cause"]


@reconciled
def test_a_recipient_that_always_fails_is_dead_lettered_without_stopping_the_others(
    client, local, providers, trace_id
):
    providers.add_fault(Fault(channel="EMAIL", error="5xx", address="user@example.com"))

    execution = client.send(example("email-and-sms.json", trace_id))

    assert execution.status == "FAILED"
    assert [(m.channel, m.to) for m in execution.sent] == [("SMS", "+16048621234")]
    # 1 try + 3 retries in Deliver, then one more in RetryExhausted, where it fails.
    assert providers.attempts.count(("EMAIL", "user@example.com")) >= 5
    items = trace_items(local, trace_id)
    assert items["user:user-1#EMAIL#user@example.com"]["Status"] == "FAILED"
    assert items["user:user-1#SMS#+16048621234"]["Status"] == "SENT"
    assert items["user:user-1"]["Status"] == "FAILED"

    [message] = dead_letters(local, trace_id)
    body = json.loads(message["Body"])
    assert body["Caller"] == {"sub": "user-1"}
    assert body["Request"]["Addresses"] == {"user@example.com": {"ChannelType": "EMAIL"}}
    assert body["Request"]["EmailMessage"]["Subject"] == "Account Alert"
    attributes = {key: value["StringValue"] for key, value in message["MessageAttributes"].items()}
    assert attributes["ExecutionArn"] == execution.arn
    assert attributes["Error"] == "TransientError"
    assert "user@example.com: ProviderUnavailable" in attributes["Cause"]


@reconciled
def test_redriving_the_dead_letter_sends_the_failed_recipient_once_and_nobody_twice(
    client, local, providers, trace_id
):
    providers.add_fault(Fault(channel="EMAIL", error="5xx", address="user@example.com"))
    first = client.send(example("email-and-sms.json", trace_id))
    assert first.status == "FAILED"
    [message] = dead_letters(local, trace_id)
    providers.clear_faults()

    # What an SQS DLQ redrive does: the same body goes back to the main queue.
    sqs = local.client("sqs")
    sqs.send_message(QueueUrl=client.queue_url, MessageBody=message["Body"])
    second = client.wait(client.start_next(), trace_id=trace_id)
    # And a duplicate of the original request arrives too: it re-sends nothing.
    third = client.send(example("email-and-sms.json", trace_id))

    assert second.status == "SUCCEEDED"
    assert third.status == "SUCCEEDED"
    assert third.already_handled() == [trace_id]
    assert sorted((m.channel, m.to) for m in local.providers.sent(trace_id)) == [
        ("EMAIL", "user@example.com"),
        ("SMS", "+16048621234"),
    ]
    assert trace_items(local, trace_id)["user:user-1#EMAIL#user@example.com"]["Status"] == "SENT"


@pytest.mark.parametrize(
    ("address", "fault", "reason"),
    [
        pytest.param("+1604", None, "InvalidAddress", id="invalid-number"),
        pytest.param("+16048620000", "reject", "ProviderRejected", id="provider-rejects"),
    ],
)
def test_a_permanent_error_is_rejected_with_its_reason_and_not_retried(
    client, local, providers, trace_id, address, fault, reason
):
    if fault:
        providers.add_fault(Fault(channel="SMS", error=fault, address=address))
    request = example("sms-inline.json", trace_id)
    request["Addresses"] = {address: {"ChannelType": "SMS"}, "+16048621234": {"ChannelType": "SMS"}}

    execution = client.send(request)

    assert execution.status == "SUCCEEDED"
    assert [m.to for m in execution.sent] == ["+16048621234"]
    assert len(execution.failed_attempts()) == 1
    rejected = trace_items(local, trace_id)[f"user:user-1#SMS#{address}"]
    assert rejected["Status"] == "REJECTED"
    assert rejected["Reason"].startswith(reason)


def test_an_unknown_template_or_missing_variable_is_rejected_by_name(client, local, trace_id):
    request = example("sms-template.json", trace_id)
    request["Addresses"]["+16048621235"] = {"ChannelType": "SMS"}  # no substitutions
    request["SMSMessage"]["TemplateName"] = "alert-template"

    execution = client.send(request)

    reasons = {sk: item.get("Reason") for sk, item in trace_items(local, trace_id).items()}
    assert reasons["user:user-1#SMS#+16048621235"] == (
        "MissingVariable: no value for: accountBalance, membershipNumber, productName"
    )
    assert len(execution.sent) == 1


def test_the_same_trace_id_twice_sends_once(client, trace_id):
    first = client.send(example("sms-inline.json", trace_id))
    second = client.send(example("sms-inline.json", trace_id))

    assert first.status == second.status == "SUCCEEDED"
    assert second.already_handled() == [trace_id]
    assert "Send" not in second.states_entered()
    assert len(client.local.providers.sent(trace_id)) == 1


def test_the_same_trace_id_from_another_caller_is_its_own_request(client, trace_id):
    client.send(example("sms-inline.json", trace_id), caller={"sub": "a"})
    client.send(example("sms-inline.json", trace_id), caller={"sub": "b", "customer_id": "c"})

    assert len(client.local.providers.sent(trace_id)) == 2


@pytest.mark.both_workflows("a duplicate of a running request is handed back on EXPRESS")
@pytest.mark.parametrize(
    ("event", "recipients"),
    [
        pytest.param(
            "email-and-sms.json",
            [("EMAIL", "user@example.com"), ("SMS", "+16048621234")],
            id="email-and-sms",
        ),
        pytest.param(
            "whatsapp-invitation.json", [("WHATSAPP", "whatsapp:+447835065013")], id="whatsapp"
        ),
    ],
)
def test_the_same_queue_message_delivered_twice_at_once_sends_once(
    client, local, trace_id, event, recipients
):
    client.queue(example(event, trace_id))
    message = client.sqs.receive_message(
        QueueUrl=client.queue_url, AttributeNames=["All"], MessageAttributeNames=["All"]
    )["Messages"][0]
    # At-least-once delivery: the pipe hands the same record to two executions.
    pipe = local.pipe["QueueToStateMachinePipe"]
    arns = [pipe.start(message), pipe.start(message)]

    executions = [client.wait(arn) for arn in arns]

    assert [e.status for e in executions] == ["SUCCEEDED", "SUCCEEDED"]
    assert sorted((m.channel, m.to) for m in local.providers.sent(trace_id)) == recipients


@pytest.mark.both_workflows("a record dead-lettered out of its batch, which EXPRESS deletes")
def test_an_unreadable_queue_message_is_dead_lettered_alone_and_its_batch_delivered(
    client, local, trace_id
):
    body = json.dumps({"Caller": {"sub": "x"}, "Unreadable": trace_id})
    client.sqs.send_message(QueueUrl=client.queue_url, MessageBody=body)
    client.queue(example("sms-inline.json", trace_id))

    execution = client.wait(client.start_next(), trace_id=trace_id)

    assert execution.status == "SUCCEEDED"
    assert [m.channel for m in execution.sent] == ["SMS"]
    [letter] = [m for m in all_dead_letters(local) if m["Body"] == body]
    attributes = {key: value["StringValue"] for key, value in letter["MessageAttributes"].items()}
    assert attributes["ExecutionArn"] == execution.arn
    assert attributes["Error"] == "InvalidMessage"
    assert "no Request object" in attributes["Cause"]


@pytest.mark.parametrize("recipients", [1, 10])
def test_dynamodb_writes_are_two_per_recipient_and_three_per_request(
    client, local, trace_id, recipients
):
    # Per recipient: claim the attempt, mark it SENT. Per request: claim the TraceId, book
    # its recipients' send slots together (one write while the budget has room), and
    # complete it, with one read of every opt-out. A function environment also reads the
    # tenant's senders (and templates) once per cache period: not counted here.
    request = example("sms-inline.json", trace_id)
    request["Addresses"] = {f"+1604863{n:04d}": {"ChannelType": "SMS"} for n in range(recipients)}
    # Plan guesses which booking to try from the budget's last answer: a request first, so
    # that answer is "room" (after a busy second, the first booking takes two writes).
    client.send(example("sms-inline.json", f"{trace_id}-first"))
    local.aws_requests.clear()

    execution = client.send(request)

    assert execution.status == "SUCCEEDED"
    dynamodb = {
        op: n for (service, op), n in local.aws_requests.calls.items() if service == "dynamodb"
    }
    # A send that starts more than pacing.LATE (50 ms) after the slot Plan booked for it
    # books afresh, one more write: none on an idle machine, a few on a loaded one (open:
    # on AWS, where a Map's sends start 50-200 ms after Plan, this could be most of them).
    assert 2 * recipients + 3 <= dynamodb["UpdateItem"] <= 3 * recipients + 3
    assert dynamodb["BatchGetItem"] == 1
    assert set(dynamodb) <= {"UpdateItem", "BatchGetItem", "GetItem"}
