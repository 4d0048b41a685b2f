"""Tenants over HTTP and the CLI: safe ids (401), separate namespaces (404), allowed senders."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import pytest
import requests
from conftest import example, finished, outbox

from emulator.local import LOCAL_JWT_SECRET, LocalStack
from notify.domain.tokens import mint_token

UNAUTHORIZED = {
    "message": "Unauthorized",
    "reason": "A valid Bearer JWT is required: HS256, signed with the stack secret, "
    "iss messaging-api, not expired, with sub and customer_id (if any) of 1-128 characters "
    "A-Z a-z 0-9 . _ @ + -",
}


def status(local: LocalStack, trace_id: str, bearer: str) -> requests.Response:
    url = f"{local.http.url}/messages/{quote(trace_id, safe='')}"
    return requests.get(url, headers={"Authorization": f"Bearer {bearer}"}, timeout=30)


def recipients(local: LocalStack, trace_id: str, bearer: str) -> list[dict[str, Any]]:
    response = status(local, trace_id, bearer)
    assert response.status_code == 200, response.text
    return response.json()["Recipients"]


@pytest.mark.parametrize(
    ("sub", "customer_id"),
    [
        pytest.param("e2e-user", "acme#eu", id="hash-in-customer-id"),
        pytest.param("acme#eu", None, id="hash-in-sub"),
        pytest.param("e2e-user", "customer:acme", id="colon-in-customer-id"),
    ],
)
def test_a_token_whose_tenant_id_leaves_the_safe_charset_gets_401_with_the_rule(
    local, post, sub, customer_id
):
    bearer = mint_token(LOCAL_JWT_SECRET, sub, customer_id=customer_id)

    sent = post(example("sms-inline.json"), bearer=bearer)
    read = status(local, "any-trace", bearer)

    assert (sent.status_code, sent.json()) == (401, UNAUTHORIZED)
    assert (read.status_code, read.json()) == (401, UNAUTHORIZED)


def test_a_sub_equal_to_a_customer_id_reads_404_and_sends_its_own_trace(local, post):
    acme = f"acme-{uuid.uuid4().hex[:8]}"
    customer = mint_token(LOCAL_JWT_SECRET, "e2e-user", customer_id=acme)
    impostor = mint_token(LOCAL_JWT_SECRET, acme)
    request = example("sms-inline.json")
    trace_id = request["TraceId"]
    assert post(request, bearer=customer).status_code == 202
    assert finished(local, trace_id, f"customer:{acme}") == "COMPLETED"

    assert status(local, trace_id, impostor).status_code == 404
    # The same TraceId is the impostor's own (not "already handled" by the customer's claim).
    assert post(request, bearer=impostor).status_code == 202
    assert finished(local, trace_id, f"user:{acme}") == "COMPLETED"
    assert len(outbox(local, trace_id)) == 2
    assert [r["Status"] for r in recipients(local, trace_id, customer)] == ["SENT"]


def test_senders_allowed_with_the_cli_bind_the_tenants_sends(local, post, messaging):
    acme = f"acme-{uuid.uuid4().hex[:8]}"
    bearer = mint_token(LOCAL_JWT_SECRET, "e2e-user", customer_id=acme)

    code, out, err = messaging(
        "senders", "allow", "--tenant", f"customer:{acme}", "--email-domain", "example.com"
    )
    assert (code, err) == (0, "")
    assert out.startswith(f"customer:{acme} may send from: email domains example.com;")
    code, out, _ = messaging("senders", "list")
    assert code == 0
    assert f"customer:{acme}  example.com" in out
    assert out.endswith(
        "tenants not listed may use only the stack's DefaultSenders "
        "(UnlistedTenantSenders=defaults)\n"
    )

    listed, unlisted = example("email-only.json"), example("email-only.json")
    unlisted["EmailMessage"]["FromAddress"] = "ceo@evil.example"
    for request in (listed, unlisted):
        assert post(request, bearer=bearer).status_code == 202
        assert finished(local, request["TraceId"], f"customer:{acme}") == "COMPLETED"

    assert [r["Status"] for r in recipients(local, listed["TraceId"], bearer)] == ["SENT"]
    [refused] = recipients(local, unlisted["TraceId"], bearer)
    assert (refused["Status"], refused["Reason"]) == (
        "REJECTED",
        f"SenderNotAllowed: tenant customer:{acme} may not send EMAIL from 'ceo@evil.example'",
    )
    assert outbox(local, unlisted["TraceId"]) == []
