"""`messaging senders allow|revoke|clear|list` against a tenants table in moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from cli.main import main
from cli.target import Context, Target
from notify.integration.tenant_store import TenantStore

TABLE = "cli-tenants"


@pytest.fixture
def tenants(mocked_aws, table_from_template, monkeypatch) -> Iterator[Any]:
    table = table_from_template("TenantsTable", TABLE)
    outputs = {"TenantsTableName": TABLE, "UnlistedTenantSenders": "any"}
    target = Target("messaging", mocked_aws, outputs)
    monkeypatch.setattr(Context, "target", lambda self: target)
    yield table
    table.delete()


def senders_of(mocked_aws: Any, owner: str) -> Any:
    return TenantStore(mocked_aws.client("dynamodb"), TABLE, 0).senders(owner)


def test_allow_creates_the_list_in_the_form_the_send_functions_compare(tenants, mocked_aws, capsys):
    status = main(
        [
            "senders",
            "allow",
            "--tenant",
            "customer:acme",
            "--email-domain",
            "Example.COM",
            "--email",
            "Ops@Other.example",
            "--sms-origination",
            "pool-acme",
            "--whatsapp",
            "+1 415 523 8886",
        ]
    )

    assert status == 0
    assert capsys.readouterr().out == (
        "customer:acme may send from: email domains example.com; emails ops@other.example; "
        "SMS origination identities pool-acme; WhatsApp numbers whatsapp:+14155238886; "
        "voice origination identities -\n"
    )
    allowed = senders_of(mocked_aws, "customer:acme")
    assert allowed.listed("EmailDomains") == frozenset({"example.com"})
    assert allowed.listed("WhatsAppNumbers") == frozenset({"whatsapp:+14155238886"})


def test_allow_adds_to_the_list_and_revoke_removes_leaving_a_list_in_force(
    tenants, mocked_aws, capsys
):
    main(["senders", "allow", "--tenant", "user:bob", "--email-domain", "a.example"])
    main(["senders", "allow", "--tenant", "user:bob", "--email-domain", "b.example"])
    assert senders_of(mocked_aws, "user:bob").listed("EmailDomains") == {"a.example", "b.example"}

    main(["senders", "revoke", "--tenant", "user:bob", "--email-domain", "a.example"])
    main(["senders", "revoke", "--tenant", "user:bob", "--email-domain", "b.example"])

    assert (
        senders_of(mocked_aws, "user:bob").listed("EmailDomains") == frozenset()
    )  # allows nothing
    assert capsys.readouterr().out.splitlines()[-1] == (
        "user:bob may send from: email domains -; emails -; "
        "SMS origination identities -; WhatsApp numbers -; voice origination identities -"
    )


def test_clear_deletes_the_list_so_the_stack_default_applies(tenants, mocked_aws, capsys):
    main(["senders", "allow", "--tenant", "user:bob", "--sms-origination", "pool-1"])

    assert main(["senders", "clear", "--tenant", "user:bob"]) == 0

    assert senders_of(mocked_aws, "user:bob") is None
    assert capsys.readouterr().out.splitlines()[-1] == (
        "user:bob: sender list removed; it may now use any sender (UnlistedTenantSenders=any)"
    )


def test_list_shows_every_tenant_and_what_unlisted_tenants_may_use(tenants, capsys):
    main(["senders", "allow", "--tenant", "customer:acme", "--email-domain", "example.com"])
    main(["senders", "allow", "--tenant", "user:bob", "--sms-origination", "pool-1"])
    capsys.readouterr()

    assert main(["senders", "list"]) == 0

    assert capsys.readouterr().out.splitlines() == [
        "TENANT         EMAIL DOMAIN  EMAIL  SMS ORIGINATION  WHATSAPP  VOICE ORIGINATION",
        "customer:acme  example.com   -      -                -         -",
        "user:bob       -             -      pool-1           -         -",
        "tenants not listed may use any sender (UnlistedTenantSenders=any)",
    ]


def test_list_of_one_tenant_as_json_and_of_an_unlisted_one(tenants, capsys):
    main(["senders", "allow", "--tenant", "customer:acme", "--email", "a@example.com"])
    capsys.readouterr()

    main(["senders", "list", "--tenant", "customer:acme", "--json"])
    assert json.loads(capsys.readouterr().out) == [
        {
            "Tenant": "customer:acme",
            "EmailDomains": [],
            "Emails": ["a@example.com"],
            "SmsOriginations": [],
            "WhatsAppNumbers": [],
            "VoiceOriginations": [],
        }
    ]
    main(["senders", "list", "--tenant", "customer:other"])
    assert capsys.readouterr().out == (
        "customer:other has no sender list: it may use any sender (UnlistedTenantSenders=any)\n"
    )


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        pytest.param(
            ["allow", "--tenant", "acme", "--email-domain", "example.com"],
            "messaging: a tenant is customer:<customer_id>, user:<sub> or key:<api key id>, "
            "not 'acme'",
            id="tenant-without-kind",
        ),
        pytest.param(
            ["allow", "--tenant", "customer:acme#eu", "--email-domain", "example.com"],
            "messaging: the id after customer: must be 1-128 characters of A-Z a-z 0-9 . _ @ + -",
            id="tenant-outside-the-charset",
        ),
        pytest.param(
            ["allow", "--tenant", "customer:acme"],
            "messaging: name at least one sender: --email-domain, --email, --sms-origination, "
            "--whatsapp, --voice-origination",
            id="no-sender",
        ),
        pytest.param(
            ["allow", "--tenant", "customer:acme", "--whatsapp", "whatsapp:123"],
            "messaging: WhatsApp number 'whatsapp:123': phone number '123': "
            "not a +country number of digits",
            id="bad-whatsapp-number",
        ),
        pytest.param(
            ["revoke", "--tenant", "customer:nobody", "--email", "a@example.com"],
            "messaging: customer:nobody has no sender list",
            id="revoke-without-a-list",
        ),
        pytest.param(
            ["clear", "--tenant", "customer:nobody"],
            "messaging: customer:nobody has no sender list",
            id="clear-without-a-list",
        ),
    ],
)
def test_a_mistake_is_one_clear_line_and_changes_nothing(tenants, capsys, argv, error):
    assert main(["senders", *argv]) == 1

    assert capsys.readouterr().err == error + "\n"
    assert tenants.scan()["Items"] == []


@pytest.mark.parametrize(
    ("mode", "may_use"),
    [
        ("defaults", "only the stack's DefaultSenders"),
        ("any", "any sender"),
        ("none", "no sender"),
    ],
)
def test_an_unlisted_tenant_is_told_what_the_stacks_mode_lets_it_use(
    tenants, monkeypatch, capsys, mode, may_use
):
    target = Context.target(Context.__new__(Context))
    monkeypatch.setitem(target.outputs, "UnlistedTenantSenders", mode)

    main(["senders", "list", "--tenant", "customer:other"])

    assert capsys.readouterr().out == (
        f"customer:other has no sender list: it may use {may_use} (UnlistedTenantSenders={mode})\n"
    )
