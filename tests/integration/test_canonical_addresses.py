"""One recipient, one canonical address: however a request spells it, it is sent once.

The send-once record, the trace, the status API, opt-outs, a cancel and the provider all
see the same form: E.164, `whatsapp:` + E.164, an e-mail with its domain lower-cased.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import dead_letters, trace_items

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


def api(local: LocalStack, function: str, method: str, trace_id: str) -> tuple[int, dict]:
    """GET or DELETE /messages/{TraceId} as the API's proxy integration invokes the function."""
    event = {
        "resource": "/messages/{TraceId}",
        "path": f"/messages/{trace_id}",
        "httpMethod": method,
        "pathParameters": {"TraceId": trace_id},
        "requestContext": {"authorizer": {"sub": "user-1", "customer_id": ""}, "requestId": "r"},
        "headers": {},
    }
    response, error = local.runtime.invoke(f"{local.stack.name}-{function}", event)
    assert error is None, response
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.parametrize(
    ("channel", "spellings", "canonical"),
    [
        pytest.param(
            "SMS",
            ["+16045550111", "+1 604 555 0111", "+1-604-555-0111"],
            "+16045550111",
            id="three-phone-spellings-one-sms",
        ),
        pytest.param(
            "WHATSAPP",
            ["whatsapp:+44 7835 065021", "whatsapp:+447835065021"],
            "whatsapp:+447835065021",
            id="two-whatsapp-spellings-one-whatsapp",
        ),
        pytest.param(
            "EMAIL",
            ["User@Example.COM", "User@example.com"],
            "User@example.com",
            id="two-email-domain-cases-one-email",
        ),
    ],
)
def test_spellings_of_one_recipient_are_sent_once_and_traced_by_their_canonical_address(
    client, local, trace_id, channel, spellings, canonical
):
    execution = client.send(request(trace_id, channel, *spellings))

    assert execution.status == "SUCCEEDED"
    assert [(m.channel, m.to) for m in execution.sent] == [(channel, canonical)]
    assert list(recipient_items(local, trace_id)) == [f"{OWNER}#{channel}#{canonical}"]
    assert trace_items(local, trace_id)[OWNER]["Recipients"] == [[f"{channel}#{canonical}"]]
    code, view = api(local, "StatusFunction", "GET", trace_id)
    assert code == 200
    assert [(r["ChannelType"], r["Address"], r["Status"]) for r in view["Recipients"]] == [
        (channel, canonical, "SENT")
    ]
    assert dead_letters(local, trace_id) == []


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

    code, body = api(local, "CancelFunction", "DELETE", trace_id)

    assert (code, body["Status"]) == (200, "CANCELLED")
    assert body["Cancelled"] == [{"Address": "+16045550113", "ChannelType": "SMS"}]
