"""Named triggers: definitions an operator writes, and records mapped to requests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from emulator.request_schema import RequestValidator
from notify.domain.rendering import render
from notify.domain.triggers import (
    REGISTRATION_INVITATION,
    InvalidTrigger,
    RecordRefused,
    Trigger,
    queued_message,
)

ROOT = Path(__file__).resolve().parents[3]
EVENTS = ROOT / "events"
DEFINITION = json.loads((EVENTS / "trigger-registration-invitation.json").read_text())
RECORD = json.loads((ROOT / "examples" / "registration-bot" / "payload.json").read_text())
REQUEST_ID = "c0ffee00-1111-2222-3333-444455556666"


@pytest.fixture
def registration() -> Trigger:
    return Trigger.from_definition(REGISTRATION_INVITATION, DEFINITION)


@pytest.fixture(scope="module")
def validator() -> RequestValidator:
    return RequestValidator()


def test_the_seed_record_becomes_a_whatsapp_invitation_to_the_parent(registration, validator):
    request = registration.request(RECORD, REQUEST_ID)

    assert request == {
        "TraceId": REQUEST_ID,
        "WhatsAppMessage": {
            "FromNumber": "whatsapp:+14155238886",
            "TemplateName": "registration-invitation",
            "Substitutions": {
                name: RECORD[name]
                for name in DEFINITION["Substitutions"]  # the fields the template uses
            },
        },
        "Addresses": {"whatsapp:+447835065013": {"ChannelType": "WHATSAPP"}},
    }
    assert validator.errors(request) == []


def test_the_seed_response_names_player_parent_team_and_the_request_id(registration):
    assert registration.accepted(RECORD, REQUEST_ID) == {
        "message": "Registration data received successfully",
        "player": "John Smith",
        "parent": "Jane Smith",
        "team": "Panthers u11s",
        "status": "pending",
        "request_id": REQUEST_ID,
    }


def test_the_invitation_template_is_the_text_of_the_whatsapp_invitation_event(registration):
    template = json.loads((EVENTS / "template-registration-invitation.json").read_text())
    invitation = json.loads((EVENTS / "whatsapp-invitation.json").read_text())
    request = registration.request(RECORD, REQUEST_ID)

    text = template["MessageBody"]["S"]
    assert text == invitation["WhatsAppMessage"]["MessageBody"]
    assert render(text, request["WhatsAppMessage"]["Substitutions"]).startswith(
        "Hi Jane, Alex Johnson has invited John Smith to join Urmston Town Panthers u11s "
        "for the 2025-26 season. Membership is £40"
    )


def test_an_optional_channel_is_addressed_when_the_record_has_its_field(registration, validator):
    request = registration.request(RECORD | {"parent_email": "Jane@Example.org"}, REQUEST_ID)

    assert request["Addresses"] == {
        "whatsapp:+447835065013": {"ChannelType": "WHATSAPP"},
        "Jane@example.org": {"ChannelType": "EMAIL"},
    }
    assert request["EmailMessage"]["FromAddress"] == "registrations@example.com"
    assert request["EmailMessage"]["Substitutions"] == request["WhatsAppMessage"]["Substitutions"]
    assert validator.errors(request) == []


def test_without_its_field_an_optional_channel_and_its_block_are_left_out(registration):
    request = registration.request(RECORD | {"parent_email": ""}, REQUEST_ID)

    assert set(request) == {"TraceId", "WhatsAppMessage", "Addresses"}


def test_the_record_carries_its_own_trace_id_when_it_has_one(registration):
    request = registration.request(RECORD | {"TraceId": "reg-2025-0001"}, REQUEST_ID)

    assert request["TraceId"] == "reg-2025-0001"
    assert registration.accepted(RECORD, "reg-2025-0001")["request_id"] == "reg-2025-0001"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        pytest.param(
            {"team_name": None, "age_group": ""},
            "the record has no team_name, age_group (needed by trigger registration-invitation)",
            id="missing-fields-named-at-once",
        ),
        pytest.param(
            {"parent_tel": None},
            "the record has no parent_tel (needed by trigger registration-invitation)",
            id="missing-address",
        ),
        pytest.param(
            {"parent_tel": "07835 065013"},
            "parent_tel: phone number '07835 065013': not a +country number of digits",
            id="national-number",
        ),
        pytest.param({"parent_tel": 447835065013}, "parent_tel: an address is a text", id="number"),
        pytest.param(
            {"parent_email": "not-an-address"},
            "parent_email: email 'not-an-address': An email address must have an @-sign.",
            id="bad-optional-address",
        ),
        pytest.param(
            {"TraceId": "has space"},
            "TraceId: a TraceId is 1-128 characters of A-Z a-z 0-9 . _ : @ / + = -",
            id="bad-trace-id",
        ),
    ],
)
def test_a_record_the_trigger_cannot_map_is_refused_naming_the_field(registration, changes, reason):
    with pytest.raises(RecordRefused) as refused:
        registration.request(RECORD | changes, REQUEST_ID)

    assert str(refused.value) == reason


def test_a_field_the_response_names_is_needed_too():
    trigger = Trigger.from_definition(
        "order",
        {
            "SMSMessage": {"MessageBody": "Order {order} shipped"},
            "Recipients": [{"ChannelType": "SMS", "AddressField": "phone"}],
            "Response": {"order": "{order}"},
        },
    )

    with pytest.raises(RecordRefused, match="the record has no order"):
        trigger.request({"phone": "+16048621234"}, REQUEST_ID)


def test_by_default_every_string_field_is_a_substitution_and_numbers_are_not():
    trigger = Trigger.from_definition(
        "order",
        {
            "SMSMessage": {"MessageBody": "Order {order} shipped"},
            "Recipients": [{"ChannelType": "SMS", "AddressField": "phone"}],
        },
    )
    record = {"phone": "+1 604 862 1234", "order": "A-17", "items": 3, "gift": True, "note": None}

    request = trigger.request(record, REQUEST_ID)

    assert request["SMSMessage"]["Substitutions"] == {"phone": "+1 604 862 1234", "order": "A-17"}
    assert request["Addresses"] == {"+16048621234": {"ChannelType": "SMS"}}
    assert trigger.accepted(record, REQUEST_ID) == {
        "message": "Accepted",
        "trigger": "order",
        "status": "pending",
        "request_id": REQUEST_ID,
    }


def test_listed_numbers_and_booleans_are_substituted_as_json_text():
    trigger = Trigger.from_definition(
        "order",
        {
            "SMSMessage": {"MessageBody": "{items} items, gift {gift}"},
            "Recipients": [{"ChannelType": "SMS", "AddressField": "phone"}],
            "Substitutions": ["items", "gift"],
        },
    )

    request = trigger.request({"phone": "+16048621234", "items": 3, "gift": False}, REQUEST_ID)

    assert request["SMSMessage"]["Substitutions"] == {"items": "3", "gift": "false"}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        pytest.param({"Recipients": []}, "Recipients must name at least one", id="no-recipient"),
        pytest.param({"Recipients": None}, "Recipients must be a list", id="no-recipients"),
        pytest.param(
            {"Recipients": [{"ChannelType": "FAX", "AddressField": "x"}]},
            "ChannelType must be one of EMAIL, SMS, VOICE, WHATSAPP",
            id="unknown-channel",
        ),
        pytest.param(
            {"Recipients": [{"ChannelType": "SMS", "AddressField": "x"}]},
            "a SMS recipient needs a SMSMessage",
            id="recipient-without-block",
        ),
        pytest.param({"Colour": "red"}, "unknown key(s) Colour", id="unknown-key"),
        pytest.param(
            {"WhatsAppMessage": {"TemplateName": "t", "Substitutions": {"a": "b"}}},
            "WhatsAppMessage.Substitutions: a trigger's substitutions come from the record",
            id="fixed-substitutions",
        ),
        pytest.param({"Substitutions": "team_name"}, "Substitutions names record", id="not-list"),
        pytest.param({"Response": {"n": 1}}, "Response is an object of texts", id="response"),
        pytest.param({"TraceIdField": 7}, "TraceIdField names record fields", id="trace-field"),
    ],
)
def test_a_definition_that_cannot_work_is_refused_saying_why(change, reason):
    definition = copy.deepcopy(DEFINITION) | change

    with pytest.raises(InvalidTrigger, match=reason.replace("(", r"\(").replace(")", r"\)")):
        Trigger.from_definition("t", definition)


def test_a_block_without_a_recipient_is_refused():
    definition = {
        "SMSMessage": {"MessageBody": "hi"},
        "EmailMessage": {"FromAddress": "a@example.com"},
        "Recipients": [{"ChannelType": "SMS", "AddressField": "phone"}],
    }

    with pytest.raises(InvalidTrigger, match="EmailMessage has no recipient"):
        Trigger.from_definition("t", definition)


def test_the_queued_message_is_the_apis_envelope_and_bounded_by_the_queue():
    caller: dict[str, Any] = {"sub": "abc123", "api_key_id": "abc123"}
    request = {"TraceId": "t", "Addresses": {}}

    assert json.loads(queued_message(caller, request)) == {"Caller": caller, "Request": request}
    with pytest.raises(RecordRefused, match="256 KB"):
        queued_message(caller, request | {"Big": "x" * 262_144})
