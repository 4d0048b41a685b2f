"""Channel fallback through the real ASL: WhatsApp first, then SMS, each channel at most once."""

from __future__ import annotations

import pytest
from conftest import dead_letters, trace_items

from emulator.providers import Fault

OWNER = "user:user-1"


def request(trace_id: str, number: str, **fields) -> dict:
    """A WhatsApp invitation that falls back to an SMS to the same number."""
    return {
        "TraceId": trace_id,
        "WhatsAppMessage": {"FromNumber": "whatsapp:+14155238886", "MessageBody": "Hi {name}"},
        "SMSMessage": {"MessageBody": "Hi {name}, by SMS"},
        "Addresses": {
            f"whatsapp:{number}": {
                "ChannelType": "WHATSAPP",
                "Substitutions": {"name": "Jane"},
                "Fallback": [{"ChannelType": "SMS", "Address": number}],
            }
        },
    } | fields


def statuses(local, trace_id: str) -> dict[str, str]:
    return {
        sk.removeprefix(f"{OWNER}#"): item.get("Status")
        for sk, item in trace_items(local, trace_id).items()
        if sk != OWNER
    }


def test_whatsapp_outside_its_session_window_falls_back_to_one_sms(
    client, local, providers, trace_id
):
    number = "+447835065101"
    providers.add_fault(
        Fault(channel="WHATSAPP", error="outside-window", address=f"whatsapp:{number}")
    )

    execution = client.send(request(trace_id, number))

    assert execution.status == "SUCCEEDED"
    assert [(m.channel, m.to, m.body) for m in execution.sent] == [
        ("SMS", number, "Hi Jane, by SMS")
    ]
    assert statuses(local, trace_id) == {
        f"WHATSAPP#whatsapp:{number}": "REJECTED",
        f"SMS#{number}": "SENT",
    }
    whatsapp = trace_items(local, trace_id)[f"{OWNER}#WHATSAPP#whatsapp:{number}"]
    assert whatsapp["Reason"].startswith("OutsideSessionWindow")
    # Only the failure path gained states: the fallback's Choice and Pass, then Send again.
    assert execution.states_entered() == [
        "Plan",
        "Deliver",
        "Send",
        "FallBackAfterRejection",
        "NextChannel",
        "Send",
        "Record",
    ]
    assert trace_items(local, trace_id)[OWNER]["Status"] == "COMPLETED"


def test_whatsapp_that_exhausts_its_retries_falls_back_to_sms_and_nothing_is_dead_lettered(
    client, local, providers, trace_id
):
    number = "+447835065102"
    providers.add_fault(Fault(channel="WHATSAPP", error="5xx", address=f"whatsapp:{number}"))

    execution = client.send(request(trace_id, number))

    assert execution.status == "SUCCEEDED"
    assert [(m.channel, m.to) for m in execution.sent] == [("SMS", number)]
    assert statuses(local, trace_id) == {
        f"WHATSAPP#whatsapp:{number}": "FAILED",
        f"SMS#{number}": "SENT",
    }
    assert "RetryExhausted" not in execution.states_entered()
    assert dead_letters(local, trace_id) == []


@pytest.mark.parametrize(
    ("fields", "sent"),
    [({}, []), ({"FallbackOnOptOut": True}, ["SMS"])],
    ids=["no-fallback-by-default", "fallback-when-the-request-allows-it"],
)
def test_a_recipient_who_opted_out_of_whatsapp_is_not_tried_on_sms_unless_allowed(
    client, local, providers, trace_id, fields, sent
):
    number = "+447835065103" if not fields else "+447835065104"
    local.client("dynamodb").put_item(
        TableName=local.stack.physical("OptOutsTable")["Ref"],
        Item={"Address": {"S": number}, "Channel": {"S": "WHATSAPP"}},
    )

    execution = client.send(request(trace_id, number, **fields))

    assert execution.status == "SUCCEEDED"
    assert [m.channel for m in execution.sent] == sent
    assert ("WHATSAPP", f"whatsapp:{number}") not in providers.attempts
    assert statuses(local, trace_id)[f"WHATSAPP#whatsapp:{number}"] == "REJECTED"


def test_the_same_request_delivered_twice_sends_each_channel_at_most_once(
    client, local, providers, trace_id
):
    number = "+447835065105"
    providers.add_fault(
        Fault(channel="WHATSAPP", error="outside-window", address=f"whatsapp:{number}")
    )
    client.queue(request(trace_id, number))
    message = client.sqs.receive_message(
        QueueUrl=client.queue_url, AttributeNames=["All"], MessageAttributeNames=["All"]
    )["Messages"][0]
    # At-least-once delivery: the pipe hands the same record to two executions, then a third
    # time after both ended (a redelivery once the visibility timed out).
    pipe = local.pipe["QueueToStateMachinePipe"]
    executions = [client.wait(arn) for arn in [pipe.start(message), pipe.start(message)]]
    executions.append(client.wait(pipe.start(message)))

    assert [e.status for e in executions] == ["SUCCEEDED"] * 3
    assert [(m.channel, m.to) for m in local.providers.sent(trace_id)] == [("SMS", number)]
    assert providers.attempts.count(("WHATSAPP", f"whatsapp:{number}")) == 1
