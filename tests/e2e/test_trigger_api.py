"""POST /trigger (the registration bot's contract) and named triggers, against the local stack."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from conftest import finished, outbox, wait_until

from emulator.local import LOCAL_JWT_SECRET, LocalStack
from notify.domain.tenants import key_owner
from notify.domain.tokens import mint_token

RECORD = json.loads(
    (Path(__file__).resolve().parents[2] / "examples/registration-bot/payload.json").read_text()
)
INVITATION = (
    "Hi Jane, Alex Johnson has invited John Smith to join Urmston Town Panthers u11s for the "
    "2025-26 season. Membership is £40 and the monthly subscription £26. Reply REGISTER to "
    "start, or STOP to opt out."
)


@pytest.fixture(scope="module")
def owner(local: LocalStack) -> str:
    return key_owner(local.stack.physical("ApiKey")["Ref"])


def trigger(
    local: LocalStack, record: Any, name: str | None = None, key: str | None = ""
) -> requests.Response:
    path = "/trigger" if name is None else f"/trigger/{name}"
    headers = {} if key is None else {"x-api-key": key or local.api_key}
    return requests.post(local.http.url + path, json=record, headers=headers, timeout=30)


def request_status(local: LocalStack, request_id: str, key: str | None = "") -> requests.Response:
    headers = {} if key is None else {"x-api-key": key or local.api_key}
    url = f"{local.http.url}/requests/{quote(request_id, safe='')}"
    return requests.get(url, headers=headers, timeout=30)


def test_post_trigger_invites_the_parent_on_whatsapp_and_the_key_reads_its_status(local, owner):
    parent = "+447911123456"

    response = trigger(local, RECORD | {"parent_tel": parent})

    assert response.status_code == 202
    body = response.json()
    request_id = body.pop("request_id")
    assert body == {
        "message": "Registration data received successfully",
        "player": "John Smith",
        "parent": "Jane Smith",
        "team": "Panthers u11s",
        "status": "pending",
    }
    assert finished(local, request_id, owner) == "COMPLETED"
    [sent] = outbox(local, request_id)
    assert (sent["channel"], sent["to"], sent["sender"]) == (
        "WHATSAPP",
        f"whatsapp:{parent}",
        "whatsapp:+14155238886",
    )
    assert sent["body"] == INVITATION

    status = request_status(local, request_id)
    assert status.status_code == 200
    assert status.json()["Status"] == "COMPLETED"
    [recipient] = status.json()["Recipients"]
    assert (recipient["Address"], recipient["Status"]) == (f"whatsapp:{parent}", "SENT")
    assert request_status(local, request_id, key=None).status_code == 403


def test_the_key_scoped_status_and_the_jwt_one_never_read_each_others_traces(
    local, owner, post, token
):
    request_id = trigger(local, RECORD).json()["request_id"]
    finished(local, request_id, owner)
    jwt_trace = f"e2e-{uuid.uuid4()}"
    sms = {"MessageBody": "hi", "OriginationNumber": "+16045550000"}
    assert (
        post(
            {
                "TraceId": jwt_trace,
                "SMSMessage": sms,
                "Addresses": {"+16048621234": {"ChannelType": "SMS"}},
            }
        ).status_code
        == 202
    )
    # A token whose sub is the key's id is a user, not the key.
    key_id = owner.split(":", 1)[1]
    impostor = mint_token(LOCAL_JWT_SECRET, key_id)

    assert request_status(local, jwt_trace).status_code == 404
    answer = requests.get(
        f"{local.http.url}/messages/{request_id}",
        headers={"Authorization": f"Bearer {impostor}"},
        timeout=30,
    )
    assert answer.status_code == 404
    assert answer.json() == {
        "message": "Not Found",
        "reason": f"no trace {request_id!r} was sent by this caller",
    }


def test_a_record_carrying_its_trace_id_is_sent_once_however_often_it_is_posted(local, owner):
    trace_id = f"reg-{uuid.uuid4()}"
    record = RECORD | {"TraceId": trace_id, "parent_email": "jane@example.org"}

    answers = [trigger(local, record) for _ in range(3)]

    assert [a.status_code for a in answers] == [202, 202, 202]
    assert {a.json()["request_id"] for a in answers} == {trace_id}
    assert finished(local, trace_id, owner) == "COMPLETED"
    sent = wait_until(lambda: len(m := outbox(local, trace_id)) == 2 and m, "two messages sent")
    assert sorted((m["channel"], m["to"]) for m in sent) == [
        ("EMAIL", "jane@example.org"),
        ("WHATSAPP", "whatsapp:+447835065013"),
    ]
    [email] = [m for m in sent if m["channel"] == "EMAIL"]
    assert email["subject"] == "John is invited to Urmston Town Panthers u11s"
    assert email["text"] == INVITATION


@pytest.mark.parametrize(
    ("name", "record", "key", "status", "reason"),
    [
        pytest.param(None, RECORD, None, 403, "A valid x-api-key header is required", id="no-key"),
        pytest.param(
            None, RECORD, "wrong", 403, "A valid x-api-key header is required", id="bad-key"
        ),
        pytest.param(
            None,
            {k: v for k, v in RECORD.items() if k != "parent_tel"},
            "",
            400,
            '[object has missing required properties (["parent_tel"])]',
            id="model-missing-field",
        ),
        pytest.param(
            None,
            RECORD | {"parent_tel": "07835065013"},
            "",
            400,
            '[ECMA 262 regex "^\\+[1-9][0-9]{6,14}$" does not match input string "07835065013"]',
            id="model-not-e164",
        ),
        pytest.param(
            "registration-invitation",
            {k: v for k, v in RECORD.items() if k != "team_name"},
            "",
            400,
            "the record has no team_name (needed by trigger registration-invitation)",
            id="trigger-missing-field",
        ),
        pytest.param(
            "no-such-trigger", RECORD, "", 404, "no trigger 'no-such-trigger'", id="unknown"
        ),
    ],
)
def test_a_refused_trigger_call_says_why(local, name, record, key, status, reason):
    response = trigger(local, record, name, key)

    assert response.status_code == status
    assert reason in response.json()["reason"]
    assert "request_id" not in response.json()


def test_a_named_trigger_is_managed_with_the_cli_and_addresses_two_channels(
    local, owner, messaging, tmp_path
):
    definition = {
        "SMSMessage": {"MessageBody": "Order {order} has shipped, {name}."},
        "EmailMessage": {
            "FromAddress": "orders@example.com",
            "Subject": "Order {order} shipped",
            "TextBody": "Hello {name}, order {order} ({items} items) is on its way.",
        },
        "Recipients": [
            {"ChannelType": "SMS", "AddressField": "phone"},
            {"ChannelType": "EMAIL", "AddressField": "email", "Optional": True},
        ],
        "TraceIdField": "order",
        "Substitutions": ["name", "order", "items"],
    }
    path = tmp_path / "order-shipped.json"
    path.write_text(json.dumps(definition))

    code, out, err = messaging("triggers", "put", "order-shipped", "--file", str(path))
    assert code == 0, err
    assert out.startswith(f"stored trigger order-shipped for {owner}: SMS to phone (inline body)")
    assert f"{owner}  order-shipped" in messaging("triggers", "list")[1]
    assert json.loads(messaging("triggers", "get", "order-shipped")[1]) == definition

    order = f"A-{uuid.uuid4().hex[:8]}"
    record = {
        "name": "Sam",
        "order": order,
        "items": 3,
        "phone": "+1 604 862 1234",
        "email": "sam@example.org",
    }
    response = trigger(local, record, "order-shipped")
    assert response.status_code == 202
    assert response.json() == {
        "message": "Accepted",
        "trigger": "order-shipped",
        "status": "pending",
        "request_id": order,
    }
    assert finished(local, order, owner) == "COMPLETED"
    sent = {m["channel"]: m for m in outbox(local, order)}
    assert sent["SMS"]["to"] == "+16048621234"
    assert sent["SMS"]["body"] == f"Order {order} has shipped, Sam."
    assert sent["EMAIL"]["text"] == f"Hello Sam, order {order} (3 items) is on its way."

    assert messaging("triggers", "delete", "order-shipped")[0] == 0
    # The function caches a trigger briefly (1 s locally, 60 s in AWS).
    wait_until(
        lambda: trigger(local, record | {"order": "B-1"}, "order-shipped").status_code == 404,
        "the deleted trigger answered 404",
    )
