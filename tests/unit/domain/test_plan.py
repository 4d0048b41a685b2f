"""Expanding a queued request into the deliveries the state machine maps over."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from notify.domain.errors import INVALID_MESSAGE, PermanentError
from notify.domain.plan import (
    check_fallback_after,
    execution_plan,
    opt_out_key,
    plan,
    recipient_keys,
)
from notify.domain.steps import ExecutionPlan
from notify.domain.tenants import api_key_caller
from notify.domain.tokens import Caller

EVENTS = Path(__file__).parents[3] / "events"
CALLER = {"sub": "user123", "customer_id": "cust456"}

EMAIL_MESSAGE = {
    "FromAddress": "alerts@example.com",
    "Subject": "Low Balance Alert",
    "Substitutions": {
        "productName": "CHEQUING",
        "membershipNumber": "****5493",
        "accountBalance": "100.00",
    },
}
SMS_TEMPLATE_MESSAGE = {
    "MessageType": "TRANSACTIONAL",
    "OriginationNumber": "your-pool-id",
    "TemplateName": "alert-template",
}


def readme_payload(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def queued(request: Any, caller: Any = CALLER) -> str:
    return json.dumps({"Caller": caller, "Request": request})


@pytest.mark.parametrize(
    ("payload", "trace_id", "messages", "deliveries"),
    [
        pytest.param(
            "email-only.json",
            "12345",
            {"EmailMessage": EMAIL_MESSAGE},
            [{"Address": "user@example.com", "ChannelType": "EMAIL"}],
            id="email-only",
        ),
        pytest.param(
            "sms-template.json",
            "12346",
            {"SMSMessage": SMS_TEMPLATE_MESSAGE},
            [
                {
                    "Address": "+16048621234",
                    "ChannelType": "SMS",
                    "Substitutions": {
                        "productName": "SAVINGS",
                        "membershipNumber": "****7303",
                        "accountBalance": "50.00",
                    },
                }
            ],
            id="sms-template",
        ),
        pytest.param(
            "sms-inline.json",
            "12347",
            {
                "SMSMessage": {
                    "MessageType": "TRANSACTIONAL",
                    "OriginationNumber": "your-pool-id",
                    "MessageBody": "Your payment of $50 is due tomorrow",
                }
            },
            [{"Address": "+16048621234", "ChannelType": "SMS"}],
            id="sms-inline",
        ),
        pytest.param(
            "email-and-sms.json",
            "12348",
            {
                "EmailMessage": {**EMAIL_MESSAGE, "Subject": "Account Alert"},
                "SMSMessage": SMS_TEMPLATE_MESSAGE,
            },
            [
                {"Address": "user@example.com", "ChannelType": "EMAIL"},
                {
                    "Address": "+16048621234",
                    "ChannelType": "SMS",
                    "Substitutions": {
                        "productName": "CHEQUING",
                        "membershipNumber": "****7303",
                        "accountBalance": "100.00",
                    },
                },
            ],
            id="email-and-sms",
        ),
    ],
)
def test_each_readme_payload_becomes_one_delivery_per_recipient(
    payload, trace_id, messages, deliveries
) -> None:
    assert plan(queued(readme_payload(payload))).to_json() == {
        "TraceId": trace_id,
        "Owner": "customer:cust456",
        "Caller": CALLER,
        "Messages": messages,
        "Deliveries": deliveries,
        "FallbackOnOptOut": False,
    }


@pytest.mark.parametrize(
    ("caller", "owner"),
    [
        pytest.param(
            {"sub": "user123", "customer_id": "cust456"}, "customer:cust456", id="customer"
        ),
        pytest.param({"sub": "user123"}, "user:user123", id="no-customer-id"),
        pytest.param(
            {"sub": "user123", "email": "u@example.com"}, "user:user123", id="with-an-email"
        ),
        pytest.param({"sub": "k1", "api_key_id": "k1"}, "key:k1", id="an-api-key"),
        pytest.param({"sub": "cust456"}, "user:cust456", id="a-sub-never-owns-a-customers-traces"),
    ],
)
def test_the_owner_is_the_customer_else_the_user(caller, owner) -> None:
    planned = plan(queued(readme_payload("email-only.json"), caller))

    assert planned.owner == owner
    assert planned.caller == caller


@pytest.mark.parametrize(
    "caller",
    [
        pytest.param({"sub": "user123", "customer_id": "acme#eu"}, id="hash-in-customer"),
        pytest.param({"sub": "user:123"}, id="colon-in-sub"),
        pytest.param({"sub": "user#1", "customer_id": "acme"}, id="bad-sub-beside-a-customer"),
        pytest.param({"sub": "x" * 129}, id="too-long"),
    ],
)
def test_a_queued_caller_with_an_id_outside_the_tenant_charset_is_refused(caller) -> None:
    # A DLQ message can be edited by hand; its Caller must not reach another tenant's keys.
    with pytest.raises(PermanentError) as raised:
        plan(queued(readme_payload("email-only.json"), caller))

    assert raised.value.reason == INVALID_MESSAGE
    assert "1-128 characters of A-Z a-z 0-9 . _ @ + -" in raised.value.detail


def test_other_request_fields_are_not_carried_into_the_messages() -> None:
    request = {**readme_payload("sms-inline.json"), "Extra": {"x": 1}, "PushMessage": {"y": 2}}

    assert plan(queued(request)).messages == {"SMSMessage": request["SMSMessage"]}


def test_the_planned_deliveries_are_in_the_order_the_addresses_were_given() -> None:
    request = readme_payload("email-only.json")
    request["Addresses"] = {
        "c@example.com": {"ChannelType": "EMAIL"},
        "a@example.com": {"ChannelType": "EMAIL"},
        "b@example.com": {"ChannelType": "EMAIL"},
    }

    addresses = [d["Address"] for d in plan(queued(request)).deliveries]

    assert addresses == ["c@example.com", "a@example.com", "b@example.com"]


EMAIL_ONLY = {
    "TraceId": "12345",
    "EmailMessage": EMAIL_MESSAGE,
    "Addresses": {"user@example.com": {"ChannelType": "EMAIL"}},
}


def without(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k != key}


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        pytest.param("not json {", "the queued body is not JSON", id="not-json"),
        pytest.param("", "the queued body is not JSON", id="empty-string"),
        pytest.param(None, "the queued body is not JSON", id="none"),
        pytest.param(json.dumps([EMAIL_ONLY]), "not a JSON object", id="a-list"),
        pytest.param(json.dumps("hello"), "not a JSON object", id="a-string"),
        pytest.param(json.dumps({"Request": EMAIL_ONLY}), "no Caller.sub", id="no-caller"),
        pytest.param(queued(EMAIL_ONLY, "user123"), "no Caller.sub", id="caller-not-object"),
        pytest.param(queued(EMAIL_ONLY, {"customer_id": "c"}), "no Caller.sub", id="no-sub"),
        pytest.param(queued(EMAIL_ONLY, {"sub": ""}), "no Caller.sub", id="empty-sub"),
        pytest.param(queued(EMAIL_ONLY, {"sub": 123}), "no Caller.sub", id="sub-not-string"),
        pytest.param(json.dumps({"Caller": CALLER}), "no Request object", id="no-request"),
        pytest.param(queued("a request"), "no Request object", id="request-not-object"),
        pytest.param(
            queued(without(EMAIL_ONLY, "TraceId")),
            "Request.TraceId must be a non-empty string",
            id="trace-id-missing",
        ),
        pytest.param(
            queued({**EMAIL_ONLY, "TraceId": ""}),
            "Request.TraceId must be a non-empty string",
            id="trace-id-empty",
        ),
        pytest.param(
            queued({**EMAIL_ONLY, "TraceId": 12345}),
            "Request.TraceId must be a non-empty string",
            id="trace-id-number",
        ),
        pytest.param(
            queued(without(EMAIL_ONLY, "Addresses")),
            "Request.Addresses must name at least one recipient",
            id="addresses-missing",
        ),
        pytest.param(
            queued({**EMAIL_ONLY, "Addresses": {}}),
            "Request.Addresses must name at least one recipient",
            id="addresses-empty",
        ),
        pytest.param(
            queued({**EMAIL_ONLY, "Addresses": ["user@example.com"]}),
            "Request.Addresses must name at least one recipient",
            id="addresses-a-list",
        ),
        pytest.param(
            queued({**EMAIL_ONLY, "Addresses": {"user@example.com": {"ChannelType": "PUSH"}}}),
            "user@example.com: ChannelType must be one of ['EMAIL', 'SMS', 'VOICE', 'WHATSAPP']",
            id="unknown-channel-type",
        ),
        pytest.param(
            queued({**EMAIL_ONLY, "Addresses": {"user@example.com": {}}}),
            "user@example.com: ChannelType must be one of ['EMAIL', 'SMS', 'VOICE', 'WHATSAPP']",
            id="no-channel-type",
        ),
        pytest.param(
            queued({**EMAIL_ONLY, "Addresses": {"user@example.com": "EMAIL"}}),
            "user@example.com: ChannelType must be one of ['EMAIL', 'SMS', 'VOICE', 'WHATSAPP']",
            id="recipient-not-object",
        ),
    ],
)
def test_a_malformed_queued_body_is_a_permanent_invalid_message(body, detail) -> None:
    with pytest.raises(PermanentError) as caught:
        plan(body)

    assert caught.value.reason == INVALID_MESSAGE
    assert str(caught.value).startswith("InvalidMessage: ")
    assert detail in str(caught.value)


@pytest.mark.parametrize(
    ("address", "channel"),
    [
        pytest.param("a" * 250 + "@x.io", "EMAIL", id="an-email-over-254"),
        pytest.param("+" + "1" * 32, "SMS", id="a-phone-number-over-32"),
    ],
)
def test_an_address_too_long_to_be_a_key_is_refused_before_anything_is_claimed(
    address, channel
) -> None:
    request = EMAIL_ONLY | {
        "SMSMessage": {"MessageBody": "x"},
        "Addresses": {address: {"ChannelType": channel}},
    }

    with pytest.raises(PermanentError) as refused:
        plan(queued(request))

    assert refused.value.reason == INVALID_MESSAGE
    assert "at most" in refused.value.detail


# ---------------------------------------------------------------- the envelope, read strictly
def refused(body: str) -> PermanentError:
    with pytest.raises(PermanentError) as caught:
        plan(body)
    assert caught.value.reason == INVALID_MESSAGE
    str(caught.value).encode()  # the reason travels on to a dead letter's attributes
    return caught.value


def test_a_caller_repeated_in_the_envelope_is_refused_not_resolved_to_the_last() -> None:
    request = json.dumps(EMAIL_ONLY)
    body = (
        f'{{"Caller": {{"sub": "attacker"}}, "Request": {request}, "Caller": {{"sub": "victim"}}}}'
    )

    assert refused(body).detail == "the queued body repeats the key 'Caller' in one object"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            queued(EMAIL_ONLY).replace('"TraceId": "12345"', '"TraceId": "a", "TraceId": "b"'),
            id="in-the-request",
        ),
        pytest.param(
            queued(EMAIL_ONLY).replace(
                '"ChannelType": "EMAIL"}', '"ChannelType": "EMAIL", "ChannelType": "SMS"}'
            ),
            id="in-a-recipient",
        ),
        pytest.param(
            queued(EMAIL_ONLY).replace('"sub": "user123"', '"sub": "user123", "sub": "other"'),
            id="in-the-caller",
        ),
    ],
)
def test_a_key_repeated_anywhere_in_the_queued_body_is_refused(body) -> None:
    assert "repeats the key" in refused(body).detail


def test_a_repeated_key_is_named_in_a_form_a_dead_letter_can_carry() -> None:
    body = '{"Caller": {"sub": "u"}, "\\ud800": 1, "\\ud800": 2}'

    assert refused(body).detail == "the queued body repeats the key '\\ud800' in one object"


def test_a_key_beside_caller_and_request_is_refused() -> None:
    body = json.dumps({"Caller": CALLER, "Request": EMAIL_ONLY, "Owner": "customer:victim"})

    assert refused(body).detail == (
        "the queued message has keys beside Caller and Request: ['Owner']"
    )


@pytest.mark.parametrize(
    ("caller", "detail"),
    [
        pytest.param(
            {"sub": "u1", "customer_id": ""},
            "the queued Caller's customer_id must be a non-empty string",
            id="empty-customer-id",
        ),
        pytest.param(
            {"sub": "u1", "customer_id": None},
            "the queued Caller's customer_id must be a non-empty string",
            id="null-customer-id",
        ),
        pytest.param(
            {"sub": "u1", "customer_id": 7},
            "the queued Caller's customer_id must be a non-empty string",
            id="customer-id-not-a-string",
        ),
        pytest.param(
            {"sub": "u1", "email": ["a@example.com"]},
            "the queued Caller's email must be a non-empty string",
            id="email-not-a-string",
        ),
        pytest.param(
            {"sub": "u1", "role": "admin"},
            "the queued Caller has claims the API never writes: ['role']",
            id="a-claim-the-authorizer-never-writes",
        ),
        pytest.param(
            {"sub": "k1", "api_key_id": "k2"},
            "an API key's queued Caller is {sub, api_key_id}, both the key's id",
            id="api-key-sub-not-its-key",
        ),
        pytest.param(
            {"sub": "k1", "api_key_id": "k1", "customer_id": "acme"},
            "an API key's queued Caller is {sub, api_key_id}, both the key's id",
            id="api-key-beside-a-customer",
        ),
        pytest.param(
            {"sub": "u1", "email": "u\ud800@example.com"},
            "the queued Caller's email has an unpaired UTF-16 surrogate U+D800 at character 2, "
            "which no provider can carry",
            id="email-lone-surrogate",
        ),
    ],
)
def test_a_caller_neither_the_api_nor_a_trigger_writes_is_refused(caller, detail) -> None:
    assert refused(queued(EMAIL_ONLY, caller)).detail == detail


@pytest.mark.parametrize(
    "caller_json",
    [
        pytest.param(Caller("u1").to_context()["caller"], id="a-token-with-sub-alone"),
        pytest.param(
            Caller("u1", "u1@example.com", "acme").to_context()["caller"], id="a-full-token"
        ),
        pytest.param(json.dumps(api_key_caller("k1")), id="a-trigger"),
    ],
)
def test_what_the_api_and_a_trigger_queue_is_read(caller_json) -> None:
    # As the API's mapping template splices it: {"Caller":<context.caller>,"Request":<body>}.
    body = '{"Caller":' + caller_json + ',"Request":' + json.dumps(EMAIL_ONLY) + "}"

    assert plan(body).caller == json.loads(caller_json)


def test_a_body_nested_too_deeply_to_parse_is_invalid() -> None:
    assert refused("[" * 100_000).detail == "the queued body is nested too deeply"


def test_a_trace_id_no_provider_can_carry_is_refused() -> None:
    detail = refused(queued(EMAIL_ONLY | {"TraceId": "t\x00"})).detail

    assert detail.startswith("Request.TraceId has NUL (U+0000) at character 2")


# ---------------------------------------------------------------- canonical addresses
SMS_ONLY = {"TraceId": "t-1", "SMSMessage": {"MessageBody": "Hi"}}


def planned_addresses(addresses: dict[str, Any]) -> list[dict[str, Any]]:
    request = SMS_ONLY | {
        "EmailMessage": {"FromAddress": "a@example.com", "Subject": "Hi", "TextBody": "Hi"},
        "WhatsAppMessage": {"FromNumber": "+14155238886", "MessageBody": "Hi"},
        "Addresses": addresses,
    }
    return list(plan(queued(request)).deliveries)


@pytest.mark.parametrize(
    ("spellings", "channel", "canonical"),
    [
        pytest.param(
            ["+16045550111", "+1 604 555 0111", "+1-604-555-0111"], "SMS", "+16045550111", id="sms"
        ),
        pytest.param(
            ["whatsapp:+447835065013", "whatsapp:+44 7835 065013", "+447835065013"],
            "WHATSAPP",
            "whatsapp:+447835065013",
            id="whatsapp",
        ),
        pytest.param(
            ["User@Example.COM", "User@example.com"], "EMAIL", "User@example.com", id="email"
        ),
    ],
)
def test_spellings_of_one_recipient_are_one_delivery_to_its_canonical_address_the_first_wins(
    spellings, channel, canonical
) -> None:
    addresses = {
        spelling: {"ChannelType": channel, "Substitutions": {"n": str(n)}}
        for n, spelling in enumerate(spellings)
    }

    assert planned_addresses(addresses) == [
        {"Address": canonical, "ChannelType": channel, "Substitutions": {"n": "0"}}
    ]


def test_an_email_keeps_its_local_parts_case_so_two_local_parts_are_two_recipients() -> None:
    deliveries = planned_addresses(
        {"User@EXAMPLE.com": {"ChannelType": "EMAIL"}, "user@example.com": {"ChannelType": "EMAIL"}}
    )

    assert [d["Address"] for d in deliveries] == ["User@example.com", "user@example.com"]


def test_one_number_on_two_channels_is_two_recipients() -> None:
    deliveries = planned_addresses(
        {"+1 604 555 0111": {"ChannelType": "SMS"}, "+16045550111": {"ChannelType": "WHATSAPP"}}
    )

    assert [(d["ChannelType"], d["Address"]) for d in deliveries] == [
        ("SMS", "+16045550111"),
        ("WHATSAPP", "whatsapp:+16045550111"),
    ]


def test_fallback_addresses_are_canonical_and_so_is_the_headers_recipient_list() -> None:
    request = WHATSAPP_FIRST | {
        "Addresses": {
            "whatsapp:+44 7835 065013": {
                "ChannelType": "WHATSAPP",
                "Fallback": [
                    {"ChannelType": "SMS", "Address": "+44 (7835) 065-013"},
                    {"ChannelType": "EMAIL", "Address": "Jane@Example.COM"},
                ],
            }
        }
    }

    planned = plan(queued(request))

    assert recipient_keys(planned) == [
        ["WHATSAPP#whatsapp:+447835065013", "SMS#+447835065013", "EMAIL#Jane@example.com"]
    ]


@pytest.mark.parametrize(
    ("address", "channel"),
    [
        pytest.param("+1604", "SMS", id="a-short-number"),
        pytest.param("+1-800-FLOWERS", "SMS", id="a-vanity-number"),
        pytest.param("not-an-address", "EMAIL", id="no-at-sign"),
    ],
)
def test_an_invalid_address_is_planned_as_written_for_its_send_to_reject(address, channel):
    assert planned_addresses({address: {"ChannelType": channel}})[0]["Address"] == address


def test_an_opt_out_of_the_canonical_address_stops_another_spelling() -> None:
    planned = plan(queued(SMS_ONLY | {"Addresses": {"+1 (604) 555-0111": {"ChannelType": "SMS"}}}))

    result = execution_plan([planned], FUNCTIONS, {("+16045550111", "SMS")})

    assert result.deliveries == ()
    assert [r.cause for r in result.rejected] == ["OptedOut: +16045550111 has opted out of SMS"]


@pytest.mark.parametrize(
    ("addresses", "detail"),
    [
        pytest.param(
            {"p\ud800@example.com": {"ChannelType": "EMAIL"}},
            "a key of Request.Addresses has an unpaired UTF-16 surrogate U+D800 at character 2",
            id="a-lone-surrogate-in-a-key",
        ),
        pytest.param(
            {"p\ud800@example.com": {"ChannelType": "FAX"}},
            "a key of Request.Addresses has an unpaired UTF-16 surrogate U+D800 at character 2",
            id="before-the-errors-that-name-the-address",
        ),
        pytest.param(
            {"+1604555\x000111": {"ChannelType": "SMS"}},
            "a key of Request.Addresses has NUL (U+0000) at character 9",
            id="nul-in-a-key",
        ),
        pytest.param(
            {"user@example.com\r\nBcc: x@example.net": {"ChannelType": "EMAIL"}},
            "a key of Request.Addresses has the control character U+000D at character 17",
            id="a-line-break-in-a-key",
        ),
        pytest.param(
            {
                "+16045550111": {
                    "ChannelType": "SMS",
                    "Fallback": [{"ChannelType": "EMAIL", "Address": "\udc00@example.com"}],
                }
            },
            "a Fallback of +16045550111 has an unpaired UTF-16 surrogate U+DC00 at character 1",
            id="a-lone-surrogate-in-a-fallback",
        ),
    ],
)
def test_an_address_no_provider_can_carry_is_an_invalid_message(addresses, detail) -> None:
    request = SMS_ONLY | {"EmailMessage": EMAIL_MESSAGE, "Addresses": addresses}

    assert refused(queued(request)).detail.startswith(detail)


FUNCTIONS = {"EMAIL": "arn:email", "SMS": "arn:sms", "WHATSAPP": "arn:whatsapp"}


def test_the_execution_plan_holds_each_request_once_and_one_delivery_per_recipient() -> None:
    first = plan(queued(readme_payload("email-and-sms.json")))
    second = plan(queued(readme_payload("sms-inline.json") | {"TraceId": "other"}))

    planned = execution_plan([first, second], FUNCTIONS).to_json()

    assert planned["Requests"] == [
        {key: request.to_json()[key] for key in ("TraceId", "Owner", "Caller", "Messages")}
        for request in (first, second)
    ]
    assert [
        (d["Request"], d["Function"], d["Recipient"]["Address"]) for d in planned["Deliveries"]
    ] == [
        (0, "arn:email", "user@example.com"),
        (0, "arn:sms", "+16048621234"),
        (1, "arn:sms", "+16048621234"),
    ]


def test_nothing_claimed_plans_nothing_to_send() -> None:
    assert execution_plan([], FUNCTIONS) == ExecutionPlan()


def test_a_recipient_who_opted_out_is_rejected_in_the_plan_and_not_sent_to() -> None:
    request = plan(queued(readme_payload("email-and-sms.json")))

    planned = execution_plan([request], FUNCTIONS, {("+16048621234", "SMS")})

    assert [d.recipient["Address"] for d in planned.deliveries] == ["user@example.com"]
    [rejected] = planned.rejected
    assert (rejected.trace_id, rejected.owner, rejected.status) == (
        request.trace_id,
        request.owner,
        "REJECTED",
    )
    assert rejected.cause == "OptedOut: +16048621234 has opted out of SMS"


@pytest.mark.parametrize(
    ("recipient", "key"),
    [
        pytest.param(
            {"Address": "User@Example.com", "ChannelType": "EMAIL"},
            ("user@example.com", "EMAIL"),
            id="email",
        ),
        pytest.param(
            {"Address": "whatsapp:+447835065013", "ChannelType": "WHATSAPP"},
            ("+447835065013", "WHATSAPP"),
            id="whatsapp",
        ),
        pytest.param(
            {"Address": "+1604", "ChannelType": "SMS"}, None, id="invalid-left-to-its-send"
        ),
    ],
)
def test_a_recipients_opt_out_key_is_its_normalised_address(recipient, key) -> None:
    assert opt_out_key(recipient) == key


# ---------------------------------------------------------------- fallbacks
FUNCTIONS = {"EMAIL": "arn:email", "SMS": "arn:sms", "WHATSAPP": "arn:whatsapp"}
WHATSAPP_FIRST = {
    "TraceId": "t-1",
    "WhatsAppMessage": {"FromNumber": "+14155238886", "MessageBody": "Hi {name}"},
    "SMSMessage": {"MessageBody": "Hi {name}"},
    "EmailMessage": {"FromAddress": "a@example.com", "Subject": "Hi", "TextBody": "Hi"},
    "Addresses": {
        "whatsapp:+447835065013": {
            "ChannelType": "WHATSAPP",
            "Substitutions": {"name": "Jane"},
            "Fallback": [
                {"ChannelType": "SMS", "Address": "+447835065013"},
                {"ChannelType": "EMAIL", "Address": "jane@example.com"},
            ],
        }
    },
}


def test_each_fallback_is_the_delivery_before_its_next_with_the_recipients_substitutions():
    planned = plan(queued(WHATSAPP_FIRST))

    [delivery] = execution_plan([planned], FUNCTIONS).to_json()["Deliveries"]

    assert delivery["Function"] == "arn:whatsapp"
    assert "Fallback" not in delivery["Recipient"]
    assert delivery["Next"]["Recipient"] == {
        "Address": "+447835065013",
        "ChannelType": "SMS",
        "Substitutions": {"name": "Jane"},
    }
    assert delivery["Next"]["Function"] == "arn:sms"
    assert delivery["Next"]["Next"]["Recipient"]["Address"] == "jane@example.com"
    assert "Next" not in delivery["Next"]["Next"]
    assert recipient_keys(planned) == [
        ["WHATSAPP#whatsapp:+447835065013", "SMS#+447835065013", "EMAIL#jane@example.com"]
    ]


@pytest.mark.parametrize(
    ("allowed", "first"),
    [(False, None), (True, "EMAIL")],
    ids=["opted-out-is-not-fallen-back-from", "unless-the-request-allows-it"],
)
def test_an_opted_out_recipient_falls_back_only_if_allowed_skipping_opted_out_fallbacks(
    allowed, first
):
    planned = plan(queued(WHATSAPP_FIRST | {"FallbackOnOptOut": allowed}))
    opted_out = {("+447835065013", "WHATSAPP"), ("+447835065013", "SMS")}

    executed = execution_plan([planned], FUNCTIONS, opted_out)

    assert [r.recipient["ChannelType"] for r in executed.rejected] == ["WHATSAPP"]
    assert [d.recipient["ChannelType"] for d in executed.deliveries] == ([first] if first else [])


def test_a_fallback_without_an_address_is_invalid():
    request = json.loads(json.dumps(WHATSAPP_FIRST))
    request["Addresses"]["whatsapp:+447835065013"]["Fallback"] = [{"ChannelType": "SMS"}]

    with pytest.raises(PermanentError) as raised:
        plan(queued(request))

    assert raised.value.reason == INVALID_MESSAGE


def test_fallback_after_seconds_makes_each_channel_with_a_next_wait_for_its_receipt():
    planned = plan(queued(WHATSAPP_FIRST | {"FallbackAfterSeconds": 30}))

    [delivery] = execution_plan([planned], FUNCTIONS).deliveries

    waits = [recipient.get("AwaitDeliverySeconds") for recipient in delivery.chain()]
    assert waits == [30, 30, None]  # the last channel has nothing to fall back to


@pytest.mark.parametrize("seconds", [0, 86401, 1.5, True, "30"])
def test_a_fallback_wait_longer_than_a_day_or_not_whole_is_refused(seconds):
    planned = plan(queued(WHATSAPP_FIRST | {"FallbackAfterSeconds": seconds}))

    with pytest.raises(PermanentError, match=r"FallbackAfterOutOfRange: .* from 1 to 86400"):
        check_fallback_after(planned)


def test_no_fallback_wait_or_one_up_to_a_day_is_accepted_whatever_the_execution_timeout():
    for seconds in (None, 1, 1800, 86400):
        check_fallback_after(plan(queued(WHATSAPP_FIRST | {"FallbackAfterSeconds": seconds})))


def test_a_request_that_waits_for_receipts_keeps_what_its_continuation_needs():
    planned = plan(queued(WHATSAPP_FIRST | {"FallbackAfterSeconds": 30}))

    [request] = execution_plan([planned], FUNCTIONS).to_json()["Requests"]

    assert (request["FallbackAfterSeconds"], request["FallbackOnOptOut"]) == (30, False)
    assert request["Caller"] == planned.caller


# ---------------------------------------------------------------- priority lanes
def test_a_bulk_request_carries_its_lane_into_the_execution() -> None:
    planned = plan(queued(readme_payload("email-only.json") | {"Priority": "bulk"}))

    [request] = execution_plan([planned], FUNCTIONS).to_json()["Requests"]

    assert request["Priority"] == "bulk"


@pytest.mark.parametrize("priority", [None, "transactional"], ids=["no-priority", "transactional"])
def test_a_transactional_request_is_the_default_lane_and_says_nothing(priority) -> None:
    payload = readme_payload("email-only.json") | ({"Priority": priority} if priority else {})

    [request] = execution_plan([plan(queued(payload))], FUNCTIONS).to_json()["Requests"]

    assert "Priority" not in request


@pytest.mark.parametrize("priority", ["urgent", "BULK", 1], ids=["unknown", "upper-case", "number"])
def test_an_unknown_priority_is_an_invalid_message(priority) -> None:
    with pytest.raises(PermanentError) as raised:
        plan(queued(readme_payload("email-only.json") | {"Priority": priority}))

    assert raised.value.reason == INVALID_MESSAGE
    assert raised.value.detail == "Priority must be one of ['transactional', 'bulk']"


def test_each_recipient_has_its_own_locale_else_the_requests_and_its_fallbacks_share_it():
    request = readme_payload("email-only.json") | {"Locale": "fr-CA"}
    request["Addresses"] = {
        "a@example.com": {"ChannelType": "EMAIL"},
        "b@example.com": {"ChannelType": "EMAIL", "Locale": "de"},
    }
    with_fallbacks = WHATSAPP_FIRST | {"Locale": "es-419"}

    assert [d.get("Locale") for d in plan(queued(request)).deliveries] == ["fr-CA", "de"]
    [delivery] = execution_plan([plan(queued(with_fallbacks))], FUNCTIONS).to_json()["Deliveries"]
    assert delivery["Recipient"]["Locale"] == delivery["Next"]["Recipient"]["Locale"] == "es-419"


def test_a_queued_locale_that_is_no_language_tag_is_refused():
    request = readme_payload("email-only.json") | {"Locale": "fr_CA"}

    with pytest.raises(PermanentError, match="Locale 'fr_CA' is no language tag"):
        plan(queued(request))
