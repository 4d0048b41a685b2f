"""Tenant-owned templates over HTTP against the local stack: another tenant's is invisible
(404; a send naming it REJECTED), versions pinned by a send and shown by the status API,
a preview that answers what the send renders, an archive, the shared templates beside, and
locale variants chosen per recipient."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import requests
from conftest import finished, outbox

from emulator.local import LOCAL_JWT_SECRET, LocalStack
from notify.domain.tokens import mint_token

SMS = {"MessageType": "TRANSACTIONAL", "OriginationNumber": "your-pool-id"}
PHONE = "+16048625555"


def tenant() -> tuple[str, str]:
    """A tenant of its own (its owner id, its token): no other test sees its templates."""
    customer = f"tpl-{uuid.uuid4().hex[:10]}"
    return f"customer:{customer}", mint_token(LOCAL_JWT_SECRET, "someone", customer_id=customer)


def call(local: LocalStack, method: str, path: str, token: str, body: Any = None):
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{local.http.url}/templates{path}"
    return requests.request(method, url, json=body, headers=headers, timeout=30)


def send(local: LocalStack, token: str, block: dict[str, Any], subs: dict[str, str]) -> str:
    """An SMS to PHONE rendered from `block`'s template; its TraceId."""
    trace_id = f"e2e-tpl-{uuid.uuid4()}"
    request = {
        "TraceId": trace_id,
        "SMSMessage": SMS | block | {"Substitutions": subs},
        "Addresses": {PHONE: {"ChannelType": "SMS"}},
    }
    headers = {"Authorization": f"Bearer {token}", "x-api-key": local.api_key}
    answer = requests.post(local.http.url + "/", json=request, headers=headers, timeout=30)
    assert answer.status_code == 202, answer.text
    return trace_id


def recipient(local: LocalStack, token: str, trace_id: str) -> dict[str, Any]:
    answer = requests.get(
        f"{local.http.url}/messages/{trace_id}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    (found,) = answer.json()["Recipients"]
    return found


def delivered(local: LocalStack, owner: str, token: str, trace_id: str) -> dict[str, Any]:
    """The recipient once its trace has finished."""
    assert finished(local, trace_id, owner) == "COMPLETED"
    return recipient(local, token, trace_id)


@pytest.fixture
def acme() -> tuple[str, str]:
    return tenant()


def test_a_tenants_template_is_invisible_to_another_and_a_send_naming_it_is_rejected(local, acme):
    _, token_a = acme
    owner_b, token_b = tenant()
    name = f"reminder-{uuid.uuid4().hex[:6]}"
    assert call(local, "PUT", f"/{name}", token_a, {"MessageBody": "Hi {n}"}).status_code == 201

    assert call(local, "GET", f"/{name}", token_b).status_code == 404
    assert name not in [t["Name"] for t in call(local, "GET", "", token_b).json()["Templates"]]
    trace_id = send(local, token_b, {"TemplateName": name}, {"n": "Bea"})
    refused = delivered(local, owner_b, token_b, trace_id)
    assert (refused["Status"], refused["Reason"]) == (
        "REJECTED",
        f"TemplateNotFound: no template named {name!r}",
    )
    assert outbox(local, trace_id) == []


def test_a_send_pinned_to_version_1_renders_it_and_the_status_api_says_so(local, acme):
    owner, token = acme
    name = "balance"
    first = call(local, "PUT", f"/{name}", token, {"MessageBody": "v1: balance {amount}"})
    second = call(local, "PUT", f"/{name}", token, {"MessageBody": "v2: you owe {amount}"})
    assert (first.status_code, first.json()) == (201, {"Name": name, "Version": 1})
    assert (second.status_code, second.json()) == (200, {"Name": name, "Version": 2})
    latest = call(local, "GET", f"/{name}", token).json()
    assert (latest["Version"], latest["Versions"], latest["MessageBody"]) == (
        2,
        [1, 2],
        "v2: you owe {amount}",
    )
    assert call(local, "GET", f"/{name}/versions/1", token).json()["MessageBody"] == (
        "v1: balance {amount}"
    )

    pinned = send(local, token, {"TemplateName": name, "TemplateVersion": 1}, {"amount": "$5"})
    unpinned = send(local, token, {"TemplateName": name}, {"amount": "$7"})

    sent = delivered(local, owner, token, pinned)
    assert (sent["Status"], sent["TemplateName"], sent["TemplateVersion"]) == ("SENT", name, 1)
    assert [m["body"] for m in outbox(local, pinned)] == ["v1: balance $5"]
    sent = delivered(local, owner, token, unpinned)
    assert (sent["TemplateName"], sent["TemplateVersion"]) == (name, 2)
    assert [m["body"] for m in outbox(local, unpinned)] == ["v2: you owe $7"]


def test_a_preview_answers_what_the_send_renders_and_names_every_missing_variable(local, acme):
    owner, token = acme
    body = "Cześć {first}, your code is {code}."
    call(local, "PUT", "/code", token, {"MessageBody": body})
    values = {"first": "Ana", "code": "123 456"}

    preview = call(local, "POST", "/code/preview", token, {"Substitutions": values})
    trace_id = send(local, token, {"TemplateName": "code"}, values)

    assert preview.status_code == 200, preview.text
    assert delivered(local, owner, token, trace_id)["Status"] == "SENT"
    [message] = outbox(local, trace_id)
    assert preview.json() == {
        "Name": "code",
        "Version": 1,
        "Shared": False,
        "ChannelType": "SMS",
        "Body": message["body"],
        "Segments": 1,
        "Encoding": "UCS-2",  # "ś" and "ć" are not in the GSM-7 alphabet
        "Characters": len(message["body"]),
    }
    missing = call(local, "POST", "/code/preview", token, {"Substitutions": {}})
    assert missing.status_code == 400
    assert missing.json()["reason"] == "MissingVariable: no value for: code, first"
    assert missing.json()["Missing"] == ["code", "first"]


def french_hello(local: LocalStack, token: str) -> None:
    """Template `hello`: version 1 its default, version 2 adds a `fr` variant."""
    call(local, "PUT", "/hello", token, {"MessageBody": "Hello {n}"})
    call(local, "PUT", "/hello", token, {"Locale": "fr", "MessageBody": "Bonjour {n}"})


def test_a_locale_put_is_a_new_version_listed_by_get_and_a_tag_that_is_none_is_400(local, acme):
    _, token = acme
    call(local, "PUT", "/hello", token, {"MessageBody": "Hello {n}"})
    french = call(local, "PUT", "/hello", token, {"Locale": "fr", "MessageBody": "Bonjour {n}"})
    bad = call(local, "PUT", "/hello", token, {"Locale": "fr_CA", "MessageBody": "x"})

    assert (french.status_code, french.json()) == (
        200,
        {"Name": "hello", "Version": 2, "Locale": "fr"},
    )
    assert (bad.status_code, bad.json()["reason"]) == (
        400,
        '[ECMA 262 regex "^[a-z]{2,3}(-[A-Z]{2}|-[0-9]{3})?$" does not match input string "fr_CA"]',
    )
    latest = call(local, "GET", "/hello", token).json()
    assert (latest["MessageBody"], latest["Locales"]) == ("Hello {n}", ["fr"])
    assert "Locales" not in call(local, "GET", "/hello/versions/1", token).json()


def test_each_recipient_gets_its_locales_variant_and_the_status_api_says_which(local, acme):
    owner, token = acme
    french_hello(local, token)
    canadian, belgian, german = "+15145550101", "+3225550102", "+4930555010"
    trace_id = f"e2e-tpl-{uuid.uuid4()}"
    request = {
        "TraceId": trace_id,
        "Locale": "fr-CA",  # a recipient without its own: fr-CA, of which only fr exists
        "SMSMessage": SMS | {"TemplateName": "hello", "Substitutions": {"n": "Ana"}},
        "Addresses": {
            canadian: {"ChannelType": "SMS"},
            belgian: {"ChannelType": "SMS", "Locale": "fr"},
            german: {"ChannelType": "SMS", "Locale": "de"},  # no de variant: the default
        },
    }
    headers = {"Authorization": f"Bearer {token}", "x-api-key": local.api_key}
    answer = requests.post(local.http.url + "/", json=request, headers=headers, timeout=30)
    assert answer.status_code == 202, answer.text

    assert finished(local, trace_id, owner) == "COMPLETED"
    sent = {m["to"]: m["body"] for m in outbox(local, trace_id)}
    assert sent == {canadian: "Bonjour Ana", belgian: "Bonjour Ana", german: "Hello Ana"}
    status = requests.get(
        f"{local.http.url}/messages/{trace_id}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()
    used = {r["Address"]: (r["TemplateVersion"], r.get("Locale")) for r in status["Recipients"]}
    assert used == {canadian: (2, "fr"), belgian: (2, "fr"), german: (2, None)}
    values = {"Locale": "fr-CA", "Substitutions": {"n": "Ana"}}
    preview = call(local, "POST", "/hello/preview", token, values).json()
    assert (preview["Locale"], preview["Body"]) == ("fr", sent[canadian])


def test_a_template_deleted_is_archived_and_a_later_send_naming_it_is_rejected(local, acme):
    owner, token = acme
    call(local, "PUT", "/old-offer", token, {"MessageBody": "Offer {x}"})

    deleted = call(local, "DELETE", "/old-offer", token)
    trace_id = send(local, token, {"TemplateName": "old-offer"}, {"x": "1"})

    assert (deleted.status_code, deleted.json()) == (200, {"Name": "old-offer", "Archived": True})
    assert call(local, "GET", "/old-offer", token).status_code == 404
    refused = delivered(local, owner, token, trace_id)
    assert (refused["Status"], refused["Reason"]) == (
        "REJECTED",
        "TemplateNotFound: no template named 'old-offer'",
    )


def test_a_shared_template_serves_every_tenant_and_a_tenants_own_of_its_name_wins(local, acme):
    owner, token = acme
    other_owner, other_token = tenant()
    listed = call(local, "GET", "", token).json()["Templates"]
    assert {"Name": "alert-template", "Shared": True} in listed
    assert call(local, "DELETE", "/alert-template", token).status_code == 403
    call(local, "PUT", "/alert-template", token, {"MessageBody": "Own alert: {productName}"})
    values = {"productName": "Gold", "membershipNumber": "42", "accountBalance": "1.00"}

    own = send(local, token, {"TemplateName": "alert-template"}, values)
    shared = send(local, other_token, {"TemplateName": "alert-template"}, values)

    assert delivered(local, owner, token, own)["TemplateVersion"] == 1
    assert [m["body"] for m in outbox(local, own)] == ["Own alert: Gold"]
    used = delivered(local, other_owner, other_token, shared)
    assert (used["TemplateName"], used["TemplateVersion"]) == ("alert-template", None)
    assert [m["body"] for m in outbox(local, shared)] == [
        "Alert: Your Gold account ending in 42 has a low balance of $1.00"
    ]


def test_the_operator_writes_and_previews_a_tenants_template_with_the_cli(local, acme, messaging):
    owner, token = acme

    assert messaging("templates", "put", "notice", "--body", "v1 {x}", "--tenant", owner)[:2] == (
        0,
        f"stored template notice version 1 of {owner}\n",
    )
    messaging("templates", "put", "notice", "--body", "v2 {x}", "--tenant", owner)
    assert messaging("templates", "versions", "notice", "--tenant", owner)[1] == "1\n2\n"
    code, out, _ = messaging(
        "templates", "preview", "notice", "--tenant", owner, "--version", "1", "--sub", "x=ok"
    )
    assert (code, json.loads(out)["Body"]) == (0, "v1 ok")
    assert call(local, "GET", "/notice", token).json()["MessageBody"] == "v2 {x}"
    put_fr = ("templates", "put", "notice", "--body", "fr {x}", "--tenant", owner, "--locale", "fr")
    assert messaging(*put_fr)[1] == f"stored template notice (fr) version 3 of {owner}\n"
    code, out, _ = messaging(
        "templates", "preview", "notice", "--tenant", owner, "--locale", "fr-CA", "--sub", "x=ok"
    )
    assert (code, json.loads(out)["Body"], json.loads(out)["Locale"]) == (0, "fr ok", "fr")
    code, _, err = messaging("templates", "preview", "notice", "--tenant", owner)
    assert (code, err.strip()) == (1, "messaging: MissingVariable: no value for: x")
    assert messaging("templates", "delete", "notice", "--tenant", owner)[0] == 0
    assert call(local, "GET", "/notice", token).status_code == 404
    code, out, _ = messaging("templates", "list", "--tenant", owner)
    assert "notice" not in out
    assert "alert-template  (shared)" in out
