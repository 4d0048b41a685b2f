"""WhatsApp through the real ASL and handlers, sent to the local Twilio API over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import dead_letters, reconciled, trace_items

from emulator.providers import Fault

EVENTS = Path(__file__).resolve().parents[2] / "events"
PARENT = "whatsapp:+447835065013"
SANDBOX = "whatsapp:+14155238886"
INVITATION = (
    "Hi Jane, Alex Johnson has invited John Smith to join Urmston Town Panthers u11s for the "
    "2025-26 season. Membership is £40 and the monthly subscription £26. "
    "Reply REGISTER to start, or STOP to opt out."
)


def invitation(trace_id: str, *more_parents: str) -> dict:
    """The example invitation, also to `more_parents` (each with the example's family names)."""
    request = json.loads((EVENTS / "whatsapp-invitation.json").read_text()) | {"TraceId": trace_id}
    family = request["Addresses"][PARENT]
    request["Addresses"] |= {parent: family for parent in more_parents}
    return request


def test_the_registration_invitation_is_rendered_and_sent_exactly(client, local, trace_id):
    execution = client.send(invitation(trace_id))

    assert execution.status == "SUCCEEDED"
    assert "Send" in execution.states_entered()
    [message] = execution.sent
    assert (message.channel, message.to, message.sender, message.body) == (
        "WHATSAPP",
        PARENT,
        SANDBOX,
        INVITATION,
    )
    item = trace_items(local, trace_id)[f"user:user-1#WHATSAPP#{PARENT}"]
    assert item["Status"] == "SENT"
    assert item["ProviderMessageId"] == message.message_id


def test_an_approved_template_is_sent_with_each_recipients_variables(client, trace_id):
    request = invitation(trace_id)
    request["Addresses"] = {
        PARENT: {"ChannelType": "WHATSAPP", "Substitutions": {"p": "Jane"}},
        "+447835065014": {"ChannelType": "WHATSAPP", "Substitutions": {"p": "Sam"}},
    }
    request["WhatsAppMessage"] = {
        "FromNumber": "+14155238886",
        "ContentSid": "HX" + "ab" * 16,
        "ContentVariables": {"1": "{p}", "2": "{team_name}"},
        "Substitutions": {"team_name": "Panthers"},
    }

    execution = client.send(request)

    assert sorted(
        (m.to, m.content_sid, json.dumps(m.content_variables)) for m in execution.sent
    ) == [
        (PARENT, "HX" + "ab" * 16, '{"1": "Jane", "2": "Panthers"}'),
        ("whatsapp:+447835065014", "HX" + "ab" * 16, '{"1": "Sam", "2": "Panthers"}'),
    ]
    assert {m.body for m in execution.sent} == {None}


def test_a_transient_error_is_retried_and_sent_once(client, providers, trace_id):
    # Twilio's throttle (429 / 20429) is no such error: it is paced (test_send_budgets.py).
    providers.add_fault(Fault(channel="WHATSAPP", error="5xx", address=PARENT, times=1))

    execution = client.send(invitation(trace_id))

    assert execution.status == "SUCCEEDED"
    assert [m.to for m in execution.sent] == [PARENT]
    [failure] = execution.failed_attempts()
    assert failure["taskFailedEventDetails"]["error"] == "TransientError"
    assert "ProviderUnavailable: Twilio 20500" in failure["taskFailedEventDetails"]["cause"]


def test_a_rejected_number_is_rejected_without_retry_and_the_others_sent(
    client, local, providers, trace_id
):
    rejected = "whatsapp:+447835065099"
    providers.add_fault(Fault(channel="WHATSAPP", error="reject", address=rejected))

    execution = client.send(invitation(trace_id, rejected))

    assert execution.status == "SUCCEEDED"
    assert [m.to for m in execution.sent] == [PARENT]
    assert len(execution.failed_attempts()) == 1
    assert providers.attempts.count(("WHATSAPP", rejected)) == 1
    item = trace_items(local, trace_id)[f"user:user-1#WHATSAPP#{rejected}"]
    assert item["Status"] == "REJECTED"
    assert item["Reason"].startswith("InvalidAddress: Twilio 21211")


def test_an_opted_out_parent_is_rejected_without_calling_twilio(client, local, providers, trace_id):
    opted_out = "whatsapp:+447835065077"
    local.client("dynamodb").put_item(
        TableName=local.stack.physical("OptOutsTable")["Ref"],
        Item={"Address": {"S": "+447835065077"}, "Channel": {"S": "WHATSAPP"}},
    )

    execution = client.send(invitation(trace_id, opted_out))

    assert [m.to for m in execution.sent] == [PARENT]
    assert ("WHATSAPP", opted_out) not in providers.attempts
    item = trace_items(local, trace_id)[f"user:user-1#WHATSAPP#{opted_out}"]
    assert (item["Status"], item["Reason"]) == (
        "REJECTED",
        f"OptedOut: {opted_out} has opted out of WHATSAPP",
    )


def test_an_invalid_number_is_rejected_before_twilio_is_called(client, local, providers, trace_id):
    execution = client.send(invitation(trace_id, "whatsapp:+4478"))

    assert [m.to for m in execution.sent] == [PARENT]
    assert ("WHATSAPP", "whatsapp:+4478") not in providers.attempts
    reason = trace_items(local, trace_id)["user:user-1#WHATSAPP#whatsapp:+4478"]["Reason"]
    assert reason.startswith("InvalidAddress: phone number '+4478'")


@reconciled
def test_a_whatsapp_recipient_that_always_fails_is_dead_lettered_and_retried_once_more(
    client, local, providers, trace_id
):
    providers.add_fault(Fault(channel="WHATSAPP", error="crash", address=PARENT))
    earlier = len(providers.attempts)

    execution = client.send(invitation(trace_id))

    assert execution.status == "FAILED"
    assert execution.states_entered().count("SendAgain") == 1
    # 1 try + 3 retries in Deliver, then one more in RetryExhausted, where it fails.
    assert providers.attempts[earlier:] == [("WHATSAPP", PARENT)] * 5
    [message] = dead_letters(local, trace_id)
    body = json.loads(message["Body"])
    assert body["Request"]["Addresses"] == invitation(trace_id)["Addresses"]
    assert body["Request"]["WhatsAppMessage"]["FromNumber"] == SANDBOX
    assert "ProviderUnavailable" in message["MessageAttributes"]["Cause"]["StringValue"]


def test_the_send_function_invoked_twice_for_a_recipient_sends_once(local, trace_id):
    event = json.loads((EVENTS / "send-whatsapp-delivery.json").read_text())
    event["Request"]["TraceId"] = trace_id

    first, error = local.runtime.invoke("messaging-SendWhatsAppFunction", event)
    again, again_error = local.runtime.invoke("messaging-SendWhatsAppFunction", event)

    assert (error, again_error) == (None, None)
    assert first["Status"] == "SENT"
    assert again["ProviderMessageId"] == first["ProviderMessageId"]
    assert [m.message_id for m in local.providers.sent(trace_id)] == [first["ProviderMessageId"]]
