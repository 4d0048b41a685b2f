"""The WhatsApp invitation posted to the running local stack, as an application posts it."""

from __future__ import annotations

from conftest import example, finished, outbox, wait_until

from cli.main import main

PARENT = "whatsapp:+447835065013"
INVITATION = (
    "Hi Jane, Alex Johnson has invited John Smith to join Urmston Town Panthers u11s for the "
    "2025-26 season. Membership is £40 and the monthly subscription £26. "
    "Reply REGISTER to start, or STOP to opt out."
)


def test_the_whatsapp_invitation_posted_to_the_api_lands_in_the_outbox(local, post):
    request = example("whatsapp-invitation.json")

    response = post(request)

    assert response.status_code == 202, response.text
    [message] = wait_until(lambda: outbox(local, request["TraceId"]), "the invitation sent")
    assert (message["channel"], message["to"], message["sender"], message["body"]) == (
        "WHATSAPP",
        PARENT,
        "whatsapp:+14155238886",
        INVITATION,
    )
    assert message["message_id"].startswith("SM")
    assert finished(local, request["TraceId"]) == "COMPLETED"
    # The local Twilio API's signed callbacks pass POST /webhook's signature check and end
    # as the recipient's delivery status.
    wait_until(
        lambda: (
            recipient(local, request["TraceId"]).get("DeliveryStatus", {}).get("S") == "delivered"
        ),
        "the delivered status callback recorded",
    )


def test_a_whatsapp_fault_added_with_the_cli_makes_the_send_rejected(
    local, post, monkeypatch, capsys
):
    monkeypatch.setenv("MESSAGING_LOCAL_URL", local.http.url)
    request = example("whatsapp-invitation.json")
    fault = ["--channel", "WHATSAPP", "--address", "+447835065013", "--error", "reject"]
    assert main(["faults", "add", *fault]) == 0
    try:
        assert post(request).status_code == 202
        assert finished(local, request["TraceId"]) == "COMPLETED"
    finally:
        assert main(["faults", "clear"]) == 0
    capsys.readouterr()

    assert outbox(local, request["TraceId"]) == []
    item = recipient(local, request["TraceId"])
    assert item["Status"]["S"] == "REJECTED"
    assert item["Reason"]["S"].startswith("InvalidAddress: Twilio 21211")


def recipient(local, trace_id: str) -> dict:
    """The parent's item on the trace, as DynamoDB holds it."""
    return local.client("dynamodb").get_item(
        TableName=local.stack.physical("TracesTable")["Ref"],
        Key={"TraceId": {"S": trace_id}, "Sk": {"S": f"customer:e2e-customer#WHATSAPP#{PARENT}"}},
        ConsistentRead=True,
    )["Item"]
