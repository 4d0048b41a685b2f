"""VOICE, the fourth channel, through the running local stack: calls, fallback, opt-out, senders."""

from __future__ import annotations

import copy
import uuid
from typing import Any
from urllib.parse import quote

import requests
from conftest import example, finished, outbox, wait_until

from emulator.local import LOCAL_JWT_SECRET
from notify.domain.tokens import mint_token

CALLER = "+18005550100"


def voice_request(number: str, **fields: Any) -> dict[str, Any]:
    """The one-time code call of events/voice-code.json, to `number`, with its own TraceId."""
    request = copy.deepcopy(example("voice-code.json"))
    request["TraceId"] = f"voice-{uuid.uuid4().hex[:12]}"
    request["Addresses"] = {number: request["Addresses"].pop("+16048621234")}
    return request | fields


def recipients(local, trace_id: str, bearer: str) -> list[dict[str, Any]]:
    url = f"{local.http.url}/messages/{quote(trace_id, safe='')}"
    response = requests.get(url, headers={"Authorization": f"Bearer {bearer}"}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["Recipients"]


def test_a_voice_call_with_a_substitution_is_placed_once_rendered(local, post):
    request = voice_request("+16048625001")

    assert post(request).status_code == 202
    assert post(request).status_code == 202  # the same TraceId again: nothing twice

    [call] = wait_until(lambda: outbox(local, request["TraceId"]), "the call placed")
    assert finished(local, request["TraceId"]) == "COMPLETED"
    assert (call["channel"], call["to"], call["sender"]) == ("VOICE", "+16048625001", CALLER)
    assert call["body"] == (
        '<speak><lang xml:lang="en-US">Your verification code is 4 7 1 9. Again: 4 7 1 9.'
        "</lang></speak>"
    )
    assert len(outbox(local, request["TraceId"])) == 1


def test_an_sms_that_exhausts_its_retries_falls_back_to_a_call(local, post, messaging, token):
    number = "+16048625002"
    request = voice_request(number)
    request["SMSMessage"] = {"OriginationNumber": "pool-1", "MessageBody": "Code {code}"}
    request["Addresses"] = {
        number: {
            "ChannelType": "SMS",
            "Substitutions": {"code": "55"},
            "Fallback": [{"ChannelType": "VOICE", "Address": number}],
        }
    }
    assert (
        messaging("faults", "add", "--channel", "SMS", "--address", number, "--error", "5xx")[0]
        == 0
    )
    try:
        assert post(request).status_code == 202
        assert finished(local, request["TraceId"]) == "COMPLETED"
    finally:
        assert messaging("faults", "clear")[0] == 0

    [call] = outbox(local, request["TraceId"])
    assert (call["channel"], call["to"]) == ("VOICE", number)
    assert "Your verification code is 55." in call["body"]
    assert {
        r["ChannelType"]: r["Status"] for r in recipients(local, request["TraceId"], token)
    } == {
        "SMS": "FAILED",
        "VOICE": "SENT",
    }


def test_a_stop_texted_to_the_number_also_stops_its_calls(local, post, messaging, token):
    number = "+16048625003"
    code, out, err = messaging("inbound", number, "STOP")
    assert code == 0, err
    assert f"opt-out stored: {number} no longer receives SMS and VOICE messages" in out
    try:
        request = voice_request(number)
        assert post(request).status_code == 202
        assert finished(local, request["TraceId"]) == "COMPLETED"
    finally:
        assert messaging("inbound", number, "START")[0] == 0

    assert outbox(local, request["TraceId"]) == []
    [refused] = recipients(local, request["TraceId"], token)
    assert (refused["Status"], refused["Reason"]) == (
        "REJECTED",
        f"OptedOut: {number} has opted out of VOICE",
    )


def test_a_tenant_calls_only_from_its_listed_voice_numbers(local, post, messaging):
    acme = f"acme-{uuid.uuid4().hex[:8]}"
    bearer = mint_token(LOCAL_JWT_SECRET, "e2e-user", customer_id=acme)
    code, out, err = messaging(
        "senders", "allow", "--tenant", f"customer:{acme}", "--voice-origination", "+16045550177"
    )
    assert (code, err) == (0, ""), err
    assert "voice origination identities +16045550177" in out

    listed = voice_request("+16048625004")
    listed["VoiceMessage"]["OriginationNumber"] = "+16045550177"
    unlisted = voice_request("+16048625005")  # the stack's own number: not acme's
    for request in (listed, unlisted):
        assert post(request, bearer=bearer).status_code == 202
        assert finished(local, request["TraceId"], f"customer:{acme}") == "COMPLETED"

    assert [r["Status"] for r in recipients(local, listed["TraceId"], bearer)] == ["SENT"]
    [refused] = recipients(local, unlisted["TraceId"], bearer)
    assert (refused["Status"], refused["Reason"]) == (
        "REJECTED",
        f"SenderNotAllowed: tenant customer:{acme} may not send VOICE from '{CALLER}'",
    )
    assert outbox(local, unlisted["TraceId"]) == []
