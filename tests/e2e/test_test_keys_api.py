"""A test key's request over HTTP: it runs through the stack and reaches no provider."""

from __future__ import annotations

import time
from urllib.parse import quote

import requests
import test_callbacks_api as callbacks
from conftest import E2E_OWNER, example, finished, outbox, trace_header, wait_until

from emulator.local import LOCAL_JWT_SECRET
from notify.domain.tokens import mint_token

TENANT_ID = "e2e-test-keys"
DELIVERED, BOUNCES = "user@example.com", "bounce@simulator.example.com"
# A receiver registered with the CLI for the tenant, as test_callbacks_api registers one.
register = callbacks.register


def test_a_test_key_request_is_delivered_or_bounced_with_nothing_sent(local, register):
    receiver = register(TENANT_ID, "t" * 40)
    token = mint_token(LOCAL_JWT_SECRET, "e2e-user", customer_id=TENANT_ID, test=True)
    request = example("email-only.json")
    request["Addresses"] = {address: {"ChannelType": "EMAIL"} for address in (DELIVERED, BOUNCES)}
    headers = {"Authorization": f"Bearer {token}", "x-api-key": local.api_key}

    response = requests.post(local.http.url + "/", json=request, headers=headers, timeout=30)

    assert response.status_code == 202, response.text
    trace_id = request["TraceId"]
    assert finished(local, trace_id, f"customer:{TENANT_ID}") == "COMPLETED"
    assert outbox(local, trace_id) == []
    status = requests.get(
        f"{local.http.url}/messages/{quote(trace_id, safe='')}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()
    assert status["Test"] is True
    ended = {
        r["Address"]: (r["Status"], r["DeliveryStatus"], r["Test"]) for r in status["Recipients"]
    }
    assert ended == {DELIVERED: ("SENT", "delivered", True), BOUNCES: ("SENT", "bounced", True)}
    # The callbacks say the same, marked as test traffic.
    events = wait_until(
        lambda: len(got := receiver.accepted(trace_id)) == 4 and got, "four status callbacks"
    )
    for address in (DELIVERED, BOUNCES):
        sent, ended = sorted((e for e in events if e["Address"] == address), key=lambda e: e["At"])
        assert (sent["Kind"], ended["Kind"]) == ("Outcome", "Delivery")
    assert {(e["Address"], e["Status"], e["Test"]) for e in events} == {
        (DELIVERED, "SENT", True),
        (DELIVERED, "delivered", True),
        (BOUNCES, "SENT", True),
        (BOUNCES, "bounced", True),
    }


def test_a_test_key_request_beside_a_live_one_in_its_batch_leaves_the_live_one_sent(local, post):
    # One execution holds both: the provider is chosen per request, by its own Caller.
    token = mint_token(LOCAL_JWT_SECRET, "e2e-user", customer_id=TENANT_ID, test=True)
    simulated, live = example("email-only.json"), example("email-only.json")
    with local.pipe.paused():
        time.sleep(1.5)  # a long poll already under way (1 s) would take the first one alone
        assert post(simulated, bearer=token).status_code == 202
        assert post(live).status_code == 202

    assert finished(local, simulated["TraceId"], f"customer:{TENANT_ID}") == "COMPLETED"
    assert finished(local, live["TraceId"]) == "COMPLETED"
    test_header = trace_header(local, simulated["TraceId"], f"customer:{TENANT_ID}")
    live_header = trace_header(local, live["TraceId"], E2E_OWNER)
    assert test_header["ExecutionArn"] == live_header["ExecutionArn"]  # batch-mates
    assert outbox(local, simulated["TraceId"]) == []
    assert [m["to"] for m in outbox(local, live["TraceId"])] == list(live["Addresses"])
    assert "Test" not in live_header
