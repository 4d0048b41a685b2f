"""Tenant isolation through the real ASL: owners, their keys, and their allowed senders."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import dead_letters, trace_items

from emulator.local import LocalStack
from notify.domain.status import trace_view
from notify.integration.traces.reads import TraceReader

EVENTS = Path(__file__).resolve().parents[2] / "events"
WHATSAPP_SENDER = "whatsapp:+14155238886"


def example(name: str, trace_id: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text()) | {"TraceId": trace_id}


def unique(name: str) -> str:
    # A tenant id no other test uses: the send functions cache each tenant's list.
    return f"{name}-{time.monotonic_ns()}"


def status_view(local: LocalStack, trace_id: str, owner: str) -> dict[str, Any] | None:
    """What GET /messages/{TraceId} answers this owner (None: 404), from the same code."""
    table = local.session.resource("dynamodb").Table(local.stack.physical("TracesTable")["Ref"])
    return trace_view(trace_id, *TraceReader(table).read(trace_id, owner))


def allow_senders(local: LocalStack, owner: str, **senders: set[str]) -> None:
    """What `messaging senders allow` writes (its own tests are in unit/cli and e2e)."""
    table = local.session.resource("dynamodb").Table(local.stack.physical("TenantsTable")["Ref"])
    table.put_item(Item={"Tenant": owner, "Sk": "SENDERS", **senders})


# ---------------------------------------------------------------- 7: two namespaces
def test_a_sub_equal_to_a_customer_id_shares_neither_its_traces_nor_its_trace_id_claim(
    client, local, trace_id
):
    acme = unique("acme")
    customer = client.send(example("sms-inline.json", trace_id), {"sub": "u1", "customer_id": acme})
    impostor = client.send(example("sms-inline.json", trace_id), {"sub": acme})

    # The impostor's request is its own: not "already handled" by the customer's claim.
    assert (customer.status, impostor.status) == ("SUCCEEDED", "SUCCEEDED")
    assert len(impostor.sent) == 2  # the customer's message and, separately, its own
    items = trace_items(local, trace_id)
    assert {items[f"customer:{acme}"]["Status"], items[f"user:{acme}"]["Status"]} == {"COMPLETED"}
    assert items[f"user:{acme}#SMS#+16048621234"]["Status"] == "SENT"
    assert items[f"customer:{acme}"]["ExecutionArn"] == customer.arn
    assert items[f"user:{acme}"]["ExecutionArn"] == impostor.arn
    # Each reads its own trace only; a user that never sent it reads nothing (404).
    assert status_view(local, trace_id, f"customer:{acme}")["Status"] == "COMPLETED"
    assert status_view(local, trace_id, f"user:{unique('nobody')}") is None


# ---------------------------------------------------------------- 8: no "#" in a tenant
def test_a_queued_caller_with_a_hash_in_its_customer_id_reaches_no_other_tenants_keys(
    client, local, trace_id
):
    acme = unique("acme")
    # A DLQ message edited by hand: the API's authorizer would have refused this caller.
    refused = client.send(
        example("sms-inline.json", trace_id), {"sub": "u1", "customer_id": f"{acme}#eu"}
    )
    sent = client.send(example("email-only.json", trace_id), {"sub": "u1", "customer_id": acme})

    assert refused.sent == []
    assert sent.status == "SUCCEEDED"
    assert sorted(trace_items(local, trace_id)) == [
        f"customer:{acme}",
        f"customer:{acme}#EMAIL#user@example.com",
    ]
    view = status_view(local, trace_id, f"customer:{acme}")
    assert [r["Address"] for r in view["Recipients"]] == ["user@example.com"]


# ---------------------------------------------------------------- 9: allowed senders
@pytest.mark.parametrize(
    ("event", "change", "address", "detail"),
    [
        pytest.param(
            "email-only.json",
            lambda r: r["EmailMessage"].update(FromAddress="ceo@evil.example"),
            "user@example.com",
            "may not send EMAIL from 'ceo@evil.example'",
            id="email-from-an-unlisted-domain",
        ),
        pytest.param(
            "sms-inline.json",
            lambda r: r["SMSMessage"].update(OriginationNumber="someone-elses-pool"),
            "+16048621234",
            "may not send SMS from 'someone-elses-pool'",
            id="sms-from-an-unlisted-pool",
        ),
        pytest.param(
            "sms-inline.json",
            lambda r: r["SMSMessage"].pop("OriginationNumber"),
            "+16048621234",
            "lists its SMS origination identities: name one of them as "
            "SMSMessage.OriginationNumber",
            id="sms-without-an-origination-identity",
        ),
        pytest.param(
            "whatsapp-invitation.json",
            lambda r: r["WhatsAppMessage"].update(FromNumber="whatsapp:+14155550000"),
            "whatsapp:+447835065013",
            "may not send WHATSAPP from 'whatsapp:+14155550000'",
            id="whatsapp-from-an-unlisted-number",
        ),
    ],
)
def test_a_sender_off_the_tenants_list_is_rejected_unsent_and_not_dead_lettered(
    client, local, trace_id, event, change, address, detail
):
    owner = f"customer:{unique('acme')}"
    allow_senders(
        local,
        owner,
        EmailDomains={"example.com"},
        SmsOriginations={"your-pool-id"},
        WhatsAppNumbers={WHATSAPP_SENDER},
    )
    request = example(event, trace_id)
    change(request)

    execution = client.send(request, {"sub": "u1", "customer_id": owner.split(":", 1)[1]})

    assert execution.status == "SUCCEEDED"
    assert execution.sent == []
    assert len(execution.failed_attempts()) == 1  # PermanentError: caught, never retried
    item = trace_items(local, trace_id)[
        f"{owner}#{request['Addresses'][address]['ChannelType']}#{address}"
    ]
    assert item["Status"] == "REJECTED"
    assert item["Reason"] == f"SenderNotAllowed: tenant {owner} {detail}"
    assert "Attempts" not in item  # refused before any provider call
    assert dead_letters(local, trace_id) == []


@pytest.mark.parametrize(
    "event",
    ["email-only.json", "sms-inline.json", "whatsapp-invitation.json"],
)
def test_a_sender_on_the_tenants_list_sends(client, local, trace_id, event):
    owner = f"user:{unique('bob')}"
    allow_senders(
        local,
        owner,
        EmailDomains={"example.com"},
        SmsOriginations={"your-pool-id"},
        WhatsAppNumbers={WHATSAPP_SENDER},
    )

    execution = client.send(example(event, trace_id), {"sub": owner.split(":", 1)[1]})

    assert execution.status == "SUCCEEDED"
    assert len(execution.sent) == 1
    assert {item["Status"] for item in trace_items(local, trace_id).values()} == {
        "COMPLETED",
        "SENT",
    }


def test_a_tenant_without_a_list_cannot_send_as_another_tenant(client, local, trace_id):
    # UnlistedTenantSenders=defaults: only the stack's DefaultSenders, not ceo@acme.example.
    owner = f"user:{unique('mallory')}"
    request = example("email-only.json", trace_id)
    request["EmailMessage"]["FromAddress"] = "ceo@acme.example"

    execution = client.send(request, {"sub": owner.split(":", 1)[1]})

    assert (execution.status, execution.sent) == ("SUCCEEDED", [])
    item = trace_items(local, trace_id)[f"{owner}#EMAIL#user@example.com"]
    assert item["Status"] == "REJECTED"
    assert item["Reason"].startswith(
        f"SenderNotAllowed: tenant {owner} has no allowed senders, and EMAIL from "
        "'ceo@acme.example' is not one of this stack's DefaultSenders"
    )
    assert dead_letters(local, trace_id) == []


def test_a_customers_list_does_not_bind_a_user_of_the_same_id(client, local, trace_id):
    # A tenant without a list sends from the local stack's DefaultSenders (example.com).
    acme = unique("acme")
    allow_senders(local, f"customer:{acme}", EmailDomains={"other.example"})

    execution = client.send(example("email-only.json", trace_id), {"sub": acme})

    assert len(execution.sent) == 1
