"""Which senders a tenant may use: its list, else the stack's UnlistedTenantSenders."""

from __future__ import annotations

import pytest

from notify.domain.channels.email import email_address, email_domain
from notify.domain.channels.phone_senders import origination_identity as sms_origination
from notify.domain.channels.phone_senders import whatsapp_number
from notify.domain.errors import SENDER_NOT_ALLOWED, PermanentError
from notify.domain.senders import (
    ANY,
    DEFAULTS,
    NONE,
    AllowedSenders,
    InvalidSender,
    check_sender,
    default_senders,
)

OWNER = "customer:acme"
ACME = AllowedSenders.from_lists(
    {
        "EmailDomains": {"Example.COM"},
        "Emails": {"Ops@Other.example"},
        "SmsOriginations": {"pool-acme"},
        "WhatsAppNumbers": {"+14155238886"},
    }
)


@pytest.mark.parametrize(
    ("channel", "sender"),
    [
        pytest.param("EMAIL", "alerts@example.com", id="email-in-a-listed-domain"),
        pytest.param("EMAIL", "Alerts <ALERTS@Example.com>", id="display-name-and-case"),
        pytest.param("EMAIL", "ops@other.example", id="listed-address"),
        pytest.param("SMS", "pool-acme", id="listed-pool"),
        pytest.param("WHATSAPP", "whatsapp:+14155238886", id="listed-number"),
    ],
)
def test_a_listed_sender_is_allowed(channel, sender):
    check_sender(OWNER, channel, sender, ACME, NONE)


@pytest.mark.parametrize(
    ("channel", "sender", "detail"),
    [
        pytest.param(
            "EMAIL",
            "alerts@evil.example",
            "tenant customer:acme may not send EMAIL from 'alerts@evil.example'",
            id="another-domain",
        ),
        pytest.param(
            "EMAIL",
            "alerts@mail.example.com",
            "tenant customer:acme may not send EMAIL from 'alerts@mail.example.com'",
            id="a-subdomain-is-listed-on-its-own",
        ),
        pytest.param(
            "EMAIL",
            "someone@other.example",
            "tenant customer:acme may not send EMAIL from 'someone@other.example'",
            id="another-address-of-a-listed-address-domain",
        ),
        pytest.param(
            "EMAIL",
            "example.com",
            "tenant customer:acme may not send EMAIL from 'example.com'",
            id="not-an-address",
        ),
        pytest.param(
            "SMS",
            "pool-other",
            "tenant customer:acme may not send SMS from 'pool-other'",
            id="another-pool",
        ),
        pytest.param(
            "SMS",
            None,
            "tenant customer:acme lists its SMS origination identities: "
            "name one of them as SMSMessage.OriginationNumber",
            id="sms-without-origination-under-a-list",
        ),
        pytest.param(
            "WHATSAPP",
            "whatsapp:+14155550000",
            "tenant customer:acme may not send WHATSAPP from 'whatsapp:+14155550000'",
            id="another-whatsapp-number",
        ),
    ],
)
def test_an_unlisted_sender_is_a_permanent_sender_not_allowed(channel, sender, detail):
    with pytest.raises(PermanentError) as raised:
        check_sender(OWNER, channel, sender, ACME, ANY)

    assert (raised.value.reason, raised.value.detail) == (SENDER_NOT_ALLOWED, detail)


def test_a_channel_with_nothing_listed_has_no_sender_for_a_listed_tenant():
    email_only = AllowedSenders.from_lists({"EmailDomains": {"example.com"}})

    with pytest.raises(PermanentError, match=SENDER_NOT_ALLOWED):
        check_sender(OWNER, "SMS", "pool-acme", email_only, ANY)


def test_an_empty_list_allows_nothing():
    with pytest.raises(PermanentError, match=SENDER_NOT_ALLOWED):
        check_sender(OWNER, "EMAIL", "alerts@example.com", AllowedSenders(), ANY)


@pytest.mark.parametrize(
    ("channel", "sender"),
    [
        pytest.param("EMAIL", "anyone@anywhere.example", id="email"),
        pytest.param("SMS", None, id="sms-without-origination"),
        pytest.param("WHATSAPP", "whatsapp:+14155550000", id="whatsapp"),
    ],
)
def test_a_tenant_without_a_list_may_use_any_sender_in_any_mode(channel, sender):
    check_sender("user:bob", channel, sender, None, ANY)


def test_a_tenant_without_a_list_may_use_no_sender_in_none_mode():
    with pytest.raises(PermanentError) as raised:
        check_sender("user:bob", "EMAIL", "alerts@example.com", None, NONE)

    assert raised.value.reason == SENDER_NOT_ALLOWED
    assert raised.value.detail == (
        "tenant user:bob has no allowed senders (this stack allows none by default); "
        "an operator lists them with `messaging senders allow --tenant user:bob ...`"
    )


STACK_DEFAULTS = default_senders(
    [
        "@Example.com",
        " Notices@Stack.example",
        "whatsapp:+14155238886",
        "pool-stack",
        "voice:+16045550100",
        "",
    ]
)


def test_default_senders_are_read_by_the_form_of_each_entry():
    read = STACK_DEFAULTS

    assert read == AllowedSenders(
        {
            "EmailDomains": frozenset({"example.com"}),
            "Emails": frozenset({"notices@stack.example"}),
            "SmsOriginations": frozenset({"pool-stack"}),
            "WhatsAppNumbers": frozenset({"whatsapp:+14155238886"}),
            "VoiceOriginations": frozenset({"+16045550100"}),
        }
    )


def test_a_voice_sender_is_allowed_only_from_the_voice_list():
    assert check_sender(OWNER, "VOICE", "+16045550100", None, DEFAULTS, STACK_DEFAULTS) is None
    with pytest.raises(PermanentError, match=SENDER_NOT_ALLOWED):
        # An SMS origination identity is not a voice sender: each channel has its own list.
        check_sender(OWNER, "VOICE", "pool-stack", None, DEFAULTS, STACK_DEFAULTS)
    with pytest.raises(PermanentError, match=SENDER_NOT_ALLOWED):
        check_sender(OWNER, "VOICE", "+16045550100", ACME, DEFAULTS, STACK_DEFAULTS)


@pytest.mark.parametrize(
    "entry",
    ["@not a domain", "nobody@", "whatsapp:123", "two words"],
    ids=["domain", "email", "whatsapp", "sms"],
)
def test_a_default_sender_in_no_form_is_refused(entry):
    with pytest.raises(InvalidSender):
        default_senders([entry])


@pytest.mark.parametrize(
    ("channel", "sender"),
    [
        pytest.param("EMAIL", "alerts@example.com", id="email-in-a-default-domain"),
        pytest.param("EMAIL", "Notices <notices@stack.example>", id="a-default-address"),
        pytest.param("SMS", "pool-stack", id="a-default-identity"),
        pytest.param("SMS", None, id="sms-without-origination-the-accounts-own"),
        pytest.param("WHATSAPP", "whatsapp:+14155238886", id="a-default-number"),
    ],
)
def test_in_defaults_mode_a_tenant_without_a_list_uses_the_stacks_senders(channel, sender):
    check_sender("user:bob", channel, sender, None, DEFAULTS, STACK_DEFAULTS)


@pytest.mark.parametrize(
    ("channel", "sender"),
    [
        pytest.param("EMAIL", "ceo@acme.example", id="another-tenants-address"),
        pytest.param("EMAIL", "alerts@mail.example.com", id="a-subdomain"),
        pytest.param("SMS", "pool-acme", id="another-identity"),
        pytest.param("WHATSAPP", "whatsapp:+14155550000", id="another-number"),
    ],
)
def test_in_defaults_mode_a_tenant_without_a_list_cannot_borrow_another_sender(channel, sender):
    with pytest.raises(PermanentError) as raised:
        check_sender("user:bob", channel, sender, None, DEFAULTS, STACK_DEFAULTS)

    assert raised.value.reason == SENDER_NOT_ALLOWED
    assert raised.value.detail == (
        f"tenant user:bob has no allowed senders, and {channel} from {sender!r} is not one "
        "of this stack's DefaultSenders; an operator lists the tenant's own with "
        "`messaging senders allow --tenant user:bob ...`"
    )


def test_in_defaults_mode_without_default_senders_an_unlisted_tenant_names_none():
    with pytest.raises(PermanentError, match=SENDER_NOT_ALLOWED):
        check_sender("user:bob", "EMAIL", "alerts@example.com", None, DEFAULTS)


def test_in_defaults_mode_a_listed_tenant_keeps_to_its_own_list():
    with pytest.raises(PermanentError, match=SENDER_NOT_ALLOWED):
        check_sender(OWNER, "EMAIL", "notices@stack.example", ACME, DEFAULTS, STACK_DEFAULTS)


def test_listed_values_in_no_canonical_form_match_nothing_and_break_nothing():
    allowed = AllowedSenders.from_lists({"EmailDomains": {"not a domain", "example.com"}})

    assert allowed.lists["EmailDomains"] == frozenset({"example.com"})


@pytest.mark.parametrize(
    ("canonical", "text", "expected"),
    [
        pytest.param(email_domain, " Example.COM ", "example.com", id="domain"),
        pytest.param(email_address, "Ops@Example.com", "ops@example.com", id="email"),
        pytest.param(whatsapp_number, "+1 415 523 8886", "whatsapp:+14155238886", id="whatsapp"),
        pytest.param(sms_origination, " pool-abc ", "pool-abc", id="sms"),
    ],
)
def test_senders_are_listed_in_the_form_the_send_functions_compare(canonical, text, expected):
    assert canonical(text) == expected


@pytest.mark.parametrize(
    ("canonical", "text"),
    [
        pytest.param(email_domain, "not a domain", id="domain"),
        pytest.param(email_address, "nobody", id="email"),
        pytest.param(whatsapp_number, "whatsapp:123", id="whatsapp"),
        pytest.param(sms_origination, "two words", id="sms"),
    ],
)
def test_a_sender_that_cannot_be_listed_is_refused(canonical, text):
    with pytest.raises(InvalidSender):
        canonical(text)
