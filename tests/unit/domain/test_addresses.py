"""Validating and normalising recipient phone numbers and email addresses."""

from __future__ import annotations

import pytest

from notify.domain.addresses import normalize_email, normalize_phone, normalize_whatsapp
from notify.domain.errors import INVALID_ADDRESS, PermanentError


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        pytest.param("+16048621234", "+16048621234", id="e164"),
        pytest.param("+1 (604) 862-1234", "+16048621234", id="formatted"),
        pytest.param("+1.604.862.1234", "+16048621234", id="dotted"),
        pytest.param("  +16048621234\n", "+16048621234", id="surrounding-whitespace"),
        pytest.param("+44 7911 123456", "+447911123456", id="uk-mobile"),
    ],
)
def test_a_valid_phone_number_is_returned_in_e164(address, expected) -> None:
    assert normalize_phone(address) == expected


@pytest.mark.parametrize(
    "address",
    [
        pytest.param("+1604", id="too-short"),
        pytest.param("16048621234", id="no-plus"),
        pytest.param("+1604862ABCD", id="letters"),
        pytest.param("+1-800-FLOWERS", id="vanity-letters"),
        pytest.param("+16048621234 ext. 5", id="extension"),
        pytest.param("+", id="plus-only"),
        pytest.param("", id="empty"),
        pytest.param("+999123456789", id="unknown-country-code"),
        pytest.param("+1604862123456789", id="too-long"),
        pytest.param("whatsapp:+16048621234", id="whatsapp-prefix"),
    ],
)
def test_an_invalid_phone_number_is_a_permanent_invalid_address(address) -> None:
    with pytest.raises(PermanentError) as caught:
        normalize_phone(address)

    assert caught.value.reason == INVALID_ADDRESS
    assert repr(address) in caught.value.detail


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        pytest.param("whatsapp:+16048621234", "whatsapp:+16048621234", id="twilio-form"),
        pytest.param("+16048621234", "whatsapp:+16048621234", id="bare-e164"),
        pytest.param("whatsapp:+44 7835 065013", "whatsapp:+447835065013", id="formatted"),
        pytest.param(" whatsapp:+16048621234 ", "whatsapp:+16048621234", id="whitespace"),
    ],
)
def test_a_whatsapp_address_is_returned_as_whatsapp_e164(address, expected) -> None:
    assert normalize_whatsapp(address) == expected


@pytest.mark.parametrize(
    ("address", "number"),
    [
        pytest.param("whatsapp:+1604", "+1604", id="too-short"),
        pytest.param("whatsapp:16048621234", "16048621234", id="no-plus"),
        pytest.param("WhatsApp:+16048621234", "WhatsApp:+16048621234", id="prefix-case"),
        pytest.param("whatsapp:", "", id="prefix-only"),
        pytest.param("sms:+16048621234", "sms:+16048621234", id="other-prefix"),
    ],
)
def test_an_invalid_whatsapp_address_is_a_permanent_invalid_address(address, number) -> None:
    with pytest.raises(PermanentError) as caught:
        normalize_whatsapp(address)

    assert caught.value.reason == INVALID_ADDRESS
    assert repr(number) in caught.value.detail


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        pytest.param("user@example.com", "user@example.com", id="plain"),
        pytest.param("User.Name+tag@Example.COM", "User.Name+tag@example.com", id="domain-lowered"),
        pytest.param("a@sub.example.co.uk", "a@sub.example.co.uk", id="subdomain"),
        pytest.param("josé@example.com", "josé@example.com", id="internationalized-local-part"),
    ],
)
def test_a_valid_email_is_returned_normalized(address, expected) -> None:
    assert normalize_email(address) == expected


@pytest.mark.parametrize(
    ("address", "library_reason"),
    [
        pytest.param("not-an-email", "@-sign", id="no-at-sign"),
        pytest.param("a@b@example.com", "invalid characters", id="two-at-signs"),
        pytest.param("user@localhost", "period", id="no-dot-in-domain"),
        pytest.param("@example.com", "before the @-sign", id="no-local-part"),
        pytest.param("user@", "after the @-sign", id="no-domain"),
        pytest.param("us er@example.com", "invalid character", id="space"),
        pytest.param("", "@-sign", id="empty"),
    ],
)
def test_an_invalid_email_is_a_permanent_invalid_address_with_the_reason(
    address, library_reason
) -> None:
    with pytest.raises(PermanentError) as caught:
        normalize_email(address)

    assert caught.value.reason == INVALID_ADDRESS
    assert repr(address) in caught.value.detail
    assert library_reason in caught.value.detail
