"""Channel fallback through the real ASL: WhatsApp first, then SMS, each channel at most once."""

from __future__ import annotations

import pytest
from conftest import cancel, dead_letters, end_the_wait, trace_items

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


@pytest.mark.both_workflows("a duplicate of a running request is handed back on EXPRESS")
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


def continue_after_the_wait(client, local, trace_id: str):
    """The wait is over: the trace's continuation runs."""
    end_the_wait(local, trace_id, OWNER)
    return client.wait(client.start_next(), trace_id=trace_id)


@pytest.mark.both_workflows("the request comes back through the queue and the pipe")
def test_whatsapp_not_delivered_within_fallback_after_seconds_falls_back_to_sms(
    client, local, trace_id
):
    # The local Twilio's delivery callbacks reach no API here: no receipt ever comes.
    number = "+447835065107"

    execution = client.send(request(trace_id, number, FallbackAfterSeconds=30))

    # Sent, and nothing waits in the execution: the SMS is scheduled on the trace.
    assert execution.status == "SUCCEEDED"
    assert [m.channel for m in execution.sent] == ["WHATSAPP"]
    assert execution.states_entered() == ["Plan", "Deliver", "Send", "AwaitingReceipt", "Record"]
    assert trace_items(local, trace_id)[OWNER]["Status"] == "SCHEDULED"

    continued = continue_after_the_wait(client, local, trace_id)

    assert continued.status == "SUCCEEDED"
    assert [m.channel for m in local.providers.sent(trace_id)] == ["WHATSAPP", "SMS"]
    # The WhatsApp message was sent (and may still arrive): its item stays SENT.
    assert statuses(local, trace_id) == {
        f"WHATSAPP#whatsapp:{number}": "SENT",
        f"SMS#{number}": "SENT",
    }
    assert trace_items(local, trace_id)[OWNER]["Status"] == "COMPLETED"


@pytest.mark.both_workflows("the request comes back through the queue and the pipe")
def test_whatsapp_delivered_within_fallback_after_seconds_is_not_sent_again_by_sms(
    client, local, trace_id
):
    number = "+447835065108"
    sk = f"{OWNER}#WHATSAPP#whatsapp:{number}"
    client.send(request(trace_id, number, FallbackAfterSeconds=30))
    # What the inbound function writes when Twilio reports the message delivered.
    table = local.session.resource("dynamodb").Table(local.stack.physical("TracesTable")["Ref"])
    table.update_item(
        Key={"TraceId": trace_id, "Sk": sk},
        UpdateExpression="SET DeliveryStatus = :delivered",
        ExpressionAttributeValues={":delivered": "delivered"},
    )

    continued = continue_after_the_wait(client, local, trace_id)

    assert continued.status == "SUCCEEDED"
    assert [m.channel for m in local.providers.sent(trace_id)] == ["WHATSAPP"]
    assert statuses(local, trace_id) == {f"WHATSAPP#whatsapp:{number}": "SENT"}
    assert trace_items(local, trace_id)[OWNER]["Status"] == "COMPLETED"


def test_a_fallback_wait_past_a_day_is_refused_with_the_reason(client, local, trace_id):
    # Past the API's schema (which allows a day at most): as a hand-edited dead letter.
    execution = client.send(request(trace_id, "+447835065109", FallbackAfterSeconds=86401))

    assert execution.status == "SUCCEEDED"
    assert execution.sent == []
    [item] = [i for sk, i in trace_items(local, trace_id).items() if sk != OWNER]
    assert item["Status"] == "REJECTED"
    assert item["Reason"].startswith("FallbackAfterOutOfRange")
    assert dead_letters(local, trace_id) == []


def test_a_cancel_during_the_wait_stops_the_fallback(client, local, trace_id):
    number = "+447835065110"
    client.send(request(trace_id, number, FallbackAfterSeconds=30))
    code, _ = cancel(local, trace_id)

    assert code == 200
    assert trace_items(local, trace_id)[OWNER]["Status"] == "CANCELLED"
    # Its continuation, delayed on the queue, still comes back: it finds nothing to send.
    end_the_wait(local, trace_id, OWNER)
    continued = client.wait(client.start_next(), trace_id=trace_id)
    assert continued.status == "SUCCEEDED"
    assert continued.already_handled() == [trace_id]
    assert [m.channel for m in local.providers.sent(trace_id)] == ["WHATSAPP"]
    assert trace_items(local, trace_id)[OWNER]["Status"] == "CANCELLED"
    assert dead_letters(local, trace_id) == []
