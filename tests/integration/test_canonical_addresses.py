"""One recipient, one canonical address: however a request spells it, it is sent once.

The send-once record, the trace, the status API, opt-outs, a cancel and the provider all
see the same form: E.164, `whatsapp:` + E.164, an e-mail with its domain lower-cased.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from conftest import messages_api, trace_items

from emulator.local import LocalStack

OWNER = "user:user-1"
SANDBOX = "whatsapp:+14155238886"


def request(trace_id: str, channel: str, *spellings: str, **fields: Any) -> dict[str, Any]:
    return {
        "TraceId": trace_id,
        "SMSMessage": {"MessageBody": "Your code is 1234"},
        "WhatsAppMessage": {"FromNumber": SANDBOX, "MessageBody": "Your code is 1234"},
        "EmailMessage": {"FromAddress": "alerts@example.com", "Subject": "Hi", "TextBody": "Hi"},
        "Addresses": {spelling: {"ChannelType": channel} for spelling in spellings},
    } | fields


def recipient_items(local: LocalStack, trace_id: str) -> dict[str, dict[str, Any]]:
    return {sk: item for sk, item in trace_items(local, trace_id).items() if sk != OWNER}


def test_an_opt_out_stored_in_canonical_form_stops_a_differently_spelled_recipient(
    client, local, providers, trace_id
):
    local.client("dynamodb").put_item(
        TableName=local.stack.physical("OptOutsTable")["Ref"],
        Item={"Address": {"S": "+16045550112"}, "Channel": {"S": "SMS"}},
    )

    execution = client.send(request(trace_id, "SMS", "+1 (604) 555-0112"))

    assert execution.status == "SUCCEEDED"
    assert execution.sent == []
    assert ("SMS", "+16045550112") not in providers.attempts
    item = recipient_items(local, trace_id)[f"{OWNER}#SMS#+16045550112"]
    assert (item["Status"], item["Reason"]) == (
        "REJECTED",
        "OptedOut: +16045550112 has opted out of SMS",
    )


def test_a_cancel_names_and_stops_the_recipient_by_its_canonical_address(client, local, trace_id):
    send_at = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    client.send(request(trace_id, "SMS", "+1 604 555 0113", "+16045550113", SendAt=send_at))

    code, body = messages_api(local, "CancelFunction", "DELETE", trace_id)

    assert (code, body["Status"]) == (200, "CANCELLED")
    assert body["Cancelled"] == [{"Address": "+16045550113", "ChannelType": "SMS"}]
