"""Composing one recipient's email or SMS from the request and the stored templates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from notify.domain.channels.email import Email
from notify.domain.channels.email import compose as compose_email
from notify.domain.channels.sms import Sms
from notify.domain.channels.sms import compose as compose_sms
from notify.domain.channels.whatsapp import WhatsApp
from notify.domain.channels.whatsapp import compose as compose_whatsapp
from notify.domain.compose import Delivery
from notify.domain.errors import (
    INVALID_ADDRESS,
    INVALID_MESSAGE,
    MISSING_MESSAGE,
    MISSING_VARIABLE,
    TEMPLATE_NOT_FOUND,
    PermanentError,
)
from notify.domain.sms_encoding import GSM_7, UCS_2, SmsSegments
from notify.domain.templates import Template

EVENTS = Path(__file__).parents[3] / "events"
DEFAULT_TEMPLATE = "alert-template"
README_TEMPLATE = (
    "Alert: Your {productName} account ending in {membershipNumber} "
    "has a low balance of ${accountBalance}"
)


class FakeTemplates:
    """An in-memory TemplateSource that remembers which names were asked for."""

    def __init__(self, *templates: Template) -> None:
        self._templates = {template.name: template for template in templates}
        self.asked: list[str] = []

    def get(self, name: str, owner: str | None = None, version: int | None = None) -> Template:
        self.asked.append(name)
        if name not in self._templates:
            raise PermanentError(TEMPLATE_NOT_FOUND, f"no template named {name!r}")
        return self._templates[name]


@pytest.fixture
def templates() -> FakeTemplates:
    return FakeTemplates(
        Template(DEFAULT_TEMPLATE, message_body=README_TEMPLATE),
        Template(
            "welcome",
            subject="Welcome, {name}",
            html_body="<h1>Welcome, {name}</h1><p>Your balance is <b>${accountBalance}</b>.</p>",
        ),
        Template("statement", subject="Your statement", text_body="Hi {name}, it is ready."),
        Template("subject-only", subject="Nothing to say"),
        Template("empty"),
    )


def sample_delivery(name: str) -> Delivery:
    return Delivery.from_event(json.loads((EVENTS / name).read_text()))


def email_delivery(
    email_message: dict[str, Any],
    address: str = "user@example.com",
    substitutions: dict[str, Any] | None = None,
) -> Delivery:
    recipient: dict[str, Any] = {"Address": address, "ChannelType": "EMAIL"}
    if substitutions is not None:
        recipient["Substitutions"] = substitutions
    message = {"FromAddress": "alerts@example.com", **email_message}
    return Delivery("12345", "cust456", recipient, {"EmailMessage": message})


def sms_delivery(
    sms_message: dict[str, Any],
    address: str = "+16048621234",
    substitutions: dict[str, Any] | None = None,
) -> Delivery:
    recipient: dict[str, Any] = {"Address": address, "ChannelType": "SMS"}
    if substitutions is not None:
        recipient["Substitutions"] = substitutions
    return Delivery("12346", "cust456", recipient, {"SMSMessage": sms_message})


def test_an_email_without_a_template_name_uses_the_default_template(templates) -> None:
    email = compose_email(sample_delivery("send-email-delivery.json"), templates, DEFAULT_TEMPLATE)

    assert email == Email(
        from_address="alerts@example.com",
        to="user@example.com",
        subject="Low Balance Alert",
        text="Alert: Your CHEQUING account ending in ****5493 has a low balance of $100.00",
        html=None,
    )
    assert templates.asked == [DEFAULT_TEMPLATE]


@pytest.mark.parametrize(
    ("request_subject", "subject"),
    [
        pytest.param("Hello from us, {name}", "Hello from us, Ann", id="request-subject-wins"),
        pytest.param(None, "Welcome, Ann", id="template-subject"),
        pytest.param("", "Welcome, Ann", id="empty-request-subject"),
    ],
)
def test_the_request_subject_wins_over_the_templates(templates, request_subject, subject) -> None:
    message: dict[str, Any] = {
        "TemplateName": "welcome",
        "Substitutions": {"name": "Ann", "accountBalance": "5.00"},
    }
    if request_subject is not None:
        message["Subject"] = request_subject

    email = compose_email(email_delivery(message), templates, DEFAULT_TEMPLATE)

    assert email.subject == subject


def test_an_html_only_template_gets_a_text_part_and_its_values_are_escaped_in_html(
    templates,
) -> None:
    message = {
        "TemplateName": "welcome",
        "Substitutions": {"name": "<b>Tom & Jerry</b>", "accountBalance": "50.00"},
    }

    email = compose_email(email_delivery(message), templates, DEFAULT_TEMPLATE)

    assert email.html == (
        "<h1>Welcome, &lt;b&gt;Tom &amp; Jerry&lt;/b&gt;</h1><p>Your balance is <b>$50.00</b>.</p>"
    )
    assert email.text == "Welcome, <b>Tom & Jerry</b>\n\nYour balance is $50.00."
    assert email.subject == "Welcome, <b>Tom & Jerry</b>"


def test_a_text_template_is_rendered_without_an_html_part(templates) -> None:
    message = {"TemplateName": "statement", "Substitutions": {"name": "Ann"}}

    email = compose_email(email_delivery(message), templates, DEFAULT_TEMPLATE)

    assert (email.subject, email.text, email.html) == (
        "Your statement",
        "Hi Ann, it is ready.",
        None,
    )


@pytest.mark.parametrize(
    ("bodies", "text", "html"),
    [
        pytest.param(
            {"HtmlBody": "<p>Hi {name} &amp; co</p>", "TextBody": "Hi {name} and co"},
            "Hi A&B and co",
            "<p>Hi A&amp;B &amp; co</p>",
            id="html-and-text",
        ),
        pytest.param(
            {"HtmlBody": "<p>Hi {name}</p><ul><li>one</li><li>two</li></ul>"},
            "Hi A&B\n\n- one\n- two",
            "<p>Hi A&amp;B</p><ul><li>one</li><li>two</li></ul>",
            id="html-only",
        ),
        pytest.param({"TextBody": "Hi {name}"}, "Hi A&B", None, id="text-only"),
    ],
)
def test_inline_bodies_are_used_instead_of_any_template(templates, bodies, text, html) -> None:
    message = {
        "Subject": "Inline for {name}",
        "TemplateName": "welcome",
        "Substitutions": {"name": "A&B"},
        **bodies,
    }

    email = compose_email(email_delivery(message), templates, DEFAULT_TEMPLATE)

    assert email == Email("alerts@example.com", "user@example.com", "Inline for A&B", text, html)
    assert templates.asked == []


def test_recipient_substitutions_override_the_messages(templates) -> None:
    message = {
        "Subject": "{productName} alert",
        "Substitutions": {
            "productName": "CHEQUING",
            "membershipNumber": "****5493",
            "accountBalance": "100.00",
        },
    }
    delivery = email_delivery(
        message, substitutions={"productName": ["SAVINGS"], "accountBalance": "50.00"}
    )

    email = compose_email(delivery, templates, DEFAULT_TEMPLATE)

    assert email.subject == "SAVINGS alert"
    assert email.text == (
        "Alert: Your SAVINGS account ending in ****5493 has a low balance of $50.00"
    )


def test_the_address_is_normalized(templates) -> None:
    message = {"Subject": "Hi", "TextBody": "Hi"}

    email = compose_email(email_delivery(message, "Ann@Example.COM"), templates, DEFAULT_TEMPLATE)

    assert email.to == "Ann@example.com"


@pytest.mark.parametrize(
    ("message", "detail"),
    [
        pytest.param(
            {"Substitutions": {"productName": "x", "membershipNumber": "x", "accountBalance": "x"}},
            "no Subject in the request or template alert-template",
            id="default-template-has-no-subject",
        ),
        pytest.param(
            {"TextBody": "Hi"}, "no Subject in the request or template (inline)", id="inline"
        ),
        pytest.param(
            {"TemplateName": "empty", "Subject": "Hi"},
            "template empty has no email body",
            id="template-without-body",
        ),
        pytest.param(
            {"TemplateName": "subject-only"},
            "template subject-only has no email body",
            id="template-with-only-a-subject",
        ),
    ],
)
def test_an_email_without_a_subject_or_body_is_an_invalid_message(
    templates, message, detail
) -> None:
    with pytest.raises(PermanentError) as caught:
        compose_email(email_delivery(message), templates, DEFAULT_TEMPLATE)

    assert caught.value.reason == INVALID_MESSAGE
    assert caught.value.detail == detail


@pytest.mark.parametrize(
    ("message", "missing"),
    [
        pytest.param(
            {"Subject": "Hi", "Substitutions": {"productName": "x", "membershipNumber": "x"}},
            "accountBalance",
            id="in-the-template-body",
        ),
        pytest.param(
            {
                "TemplateName": "statement",
                "Subject": "For {customer}",
                "Substitutions": {"name": "A"},
            },
            "customer",
            id="in-the-subject",
        ),
        pytest.param(
            {"TemplateName": "welcome", "Substitutions": {"name": "A"}},
            "accountBalance",
            id="in-the-html",
        ),
    ],
)
def test_a_missing_variable_is_named(templates, message, missing) -> None:
    with pytest.raises(PermanentError) as caught:
        compose_email(email_delivery(message), templates, DEFAULT_TEMPLATE)

    assert caught.value.reason == MISSING_VARIABLE
    assert caught.value.detail == f"no value for: {missing}"


@pytest.mark.parametrize(
    "compose",
    [
        pytest.param(
            lambda templates: compose_email(
                email_delivery({"Subject": "Hi", "TemplateName": "nope"}),
                templates,
                DEFAULT_TEMPLATE,
            ),
            id="email",
        ),
        pytest.param(
            lambda templates: compose_sms(
                sms_delivery({"TemplateName": "nope"}), templates, DEFAULT_TEMPLATE
            ),
            id="sms",
        ),
    ],
)
def test_an_unknown_template_is_template_not_found(templates, compose) -> None:
    with pytest.raises(PermanentError) as caught:
        compose(templates)

    assert caught.value.reason == TEMPLATE_NOT_FOUND
    assert caught.value.detail == "no template named 'nope'"


@pytest.mark.parametrize(
    "compose",
    [
        pytest.param(
            lambda templates: compose_email(
                email_delivery({"Subject": "Hi", "TextBody": "Hi"}, "not-an-email"),
                templates,
                DEFAULT_TEMPLATE,
            ),
            id="email",
        ),
        pytest.param(
            lambda templates: compose_sms(
                sms_delivery({"MessageBody": "Hi"}, "6048621234"), templates, DEFAULT_TEMPLATE
            ),
            id="sms-without-country-code",
        ),
        pytest.param(
            lambda templates: compose_sms(
                sms_delivery({"MessageBody": "Hi"}, "user@example.com"),
                templates,
                DEFAULT_TEMPLATE,
            ),
            id="sms-to-an-email-address",
        ),
    ],
)
def test_an_invalid_address_is_rejected_before_anything_is_rendered(templates, compose) -> None:
    with pytest.raises(PermanentError) as caught:
        compose(templates)

    assert caught.value.reason == INVALID_ADDRESS
    assert templates.asked == []


def test_an_sms_from_the_readme_template(templates) -> None:
    sms = compose_sms(sample_delivery("send-sms-delivery.json"), templates, DEFAULT_TEMPLATE)

    assert sms == Sms(
        to="+16048621234",
        body="Alert: Your SAVINGS account ending in ****7303 has a low balance of $50.00",
        message_type="TRANSACTIONAL",
        origination_identity="your-pool-id",
        segments=SmsSegments(GSM_7, 74, 1),
    )
    assert templates.asked == [DEFAULT_TEMPLATE]


def test_an_sms_template_with_only_a_text_body_uses_it(templates) -> None:
    delivery = sms_delivery({"TemplateName": "statement"}, substitutions={"name": "Ann"})

    assert compose_sms(delivery, templates, DEFAULT_TEMPLATE).body == "Hi Ann, it is ready."


def test_an_sms_template_without_a_body_is_an_invalid_message(templates) -> None:
    with pytest.raises(PermanentError) as caught:
        compose_sms(sms_delivery({"TemplateName": "empty"}), templates, DEFAULT_TEMPLATE)

    assert caught.value.reason == INVALID_MESSAGE
    assert caught.value.detail == "template empty has no MessageBody"


def test_an_inline_sms_body_is_sent_as_it_is_with_defaults(templates) -> None:
    delivery = sms_delivery({"MessageBody": "Your payment of ${amount} is due tomorrow"})
    delivery.recipient["Substitutions"] = {"amount": "50"}

    sms = compose_sms(delivery, templates, DEFAULT_TEMPLATE)

    assert sms == Sms(
        to="+16048621234",
        body="Your payment of $50 is due tomorrow",
        message_type="TRANSACTIONAL",
        origination_identity=None,
        segments=SmsSegments(GSM_7, 35, 1),
    )
    assert templates.asked == []


def test_the_sms_message_type_and_origination_are_taken_from_the_request(templates) -> None:
    delivery = sms_delivery(
        {"MessageBody": "Sale!", "MessageType": "PROMOTIONAL", "OriginationNumber": "+18005550100"}
    )

    sms = compose_sms(delivery, templates, DEFAULT_TEMPLATE)

    assert (sms.message_type, sms.origination_identity) == ("PROMOTIONAL", "+18005550100")


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        pytest.param("a" * 160, SmsSegments(GSM_7, 160, 1), id="gsm-single"),
        pytest.param("a" * 161, SmsSegments(GSM_7, 161, 2), id="gsm-two-parts"),
        # x is "{y}", inserted as it is: 12 characters, of which €, { and } take two septets.
        pytest.param("Prix: 5€ {x}", SmsSegments(GSM_7, 15, 1), id="gsm-extension-chars"),
        pytest.param("Привет", SmsSegments(UCS_2, 6, 1), id="ucs2"),
        pytest.param("Paid \U0001f389" * 12, SmsSegments(UCS_2, 84, 2), id="ucs2-emoji"),
    ],
)
def test_the_sms_reports_its_encoding_and_segments(templates, body, segments) -> None:
    delivery = sms_delivery({"MessageBody": body}, substitutions={"x": "{y}"})

    assert compose_sms(delivery, templates, DEFAULT_TEMPLATE).segments == segments


def test_an_empty_inline_sms_body_is_an_invalid_message(templates) -> None:
    with pytest.raises(PermanentError) as caught:
        compose_sms(sms_delivery({"MessageBody": ""}), templates, DEFAULT_TEMPLATE)

    assert caught.value.reason == INVALID_MESSAGE


@pytest.mark.parametrize(
    ("compose", "channel", "recipient", "messages", "block"),
    [
        pytest.param(
            compose_email,
            "EMAIL",
            "user@example.com",
            {"SMSMessage": {"MessageBody": "Hi"}},
            "EmailMessage",
            id="email-recipient-without-email-message",
        ),
        pytest.param(
            compose_sms,
            "SMS",
            "+16048621234",
            {"EmailMessage": {"FromAddress": "a@example.com", "Subject": "S", "TextBody": "T"}},
            "SMSMessage",
            id="sms-recipient-without-sms-message",
        ),
    ],
)
def test_a_recipient_whose_channel_has_no_message_is_missing_message(
    templates, compose, channel, recipient, messages, block
) -> None:
    delivery = Delivery(
        "12348", "cust456", {"Address": recipient, "ChannelType": channel}, messages
    )

    with pytest.raises(PermanentError) as caught:
        compose(delivery, templates, DEFAULT_TEMPLATE)

    assert caught.value.reason == MISSING_MESSAGE
    assert block in caught.value.detail
    assert templates.asked == []


def test_an_email_block_without_a_sender_is_rejected_not_crashed():
    delivery = Delivery(
        "t-1",
        "owner",
        {"Address": "user@example.com", "ChannelType": "EMAIL"},
        {"EmailMessage": {"Subject": "Hi", "TextBody": "Hello"}},
    )

    with pytest.raises(PermanentError, match="InvalidMessage: EmailMessage needs a FromAddress"):
        compose_email(delivery, {}, "alert-template")


# ---------------------------------------------------------------- WhatsApp

INVITATION = (
    "Hi Jane, Alex Johnson has invited John Smith to join Urmston Town Panthers u11s for the "
    "2025-26 season. Membership is £40 and the monthly subscription £26. "
    "Reply REGISTER to start, or STOP to opt out."
)
SANDBOX = "whatsapp:+14155238886"
CONTENT_SID = "HX" + "0123456789abcdef" * 2


def whatsapp_delivery(
    message: dict[str, Any],
    address: str = "whatsapp:+16048621234",
    substitutions: dict[str, Any] | None = None,
) -> Delivery:
    recipient: dict[str, Any] = {"Address": address, "ChannelType": "WHATSAPP"}
    if substitutions is not None:
        recipient["Substitutions"] = substitutions
    block = {"FromNumber": SANDBOX, **message}
    return Delivery("12347", "cust456", recipient, {"WhatsAppMessage": block})


def test_the_registration_invitation_is_rendered_from_player_and_team_values(templates) -> None:
    message = compose_whatsapp(
        sample_delivery("send-whatsapp-delivery.json"), templates, DEFAULT_TEMPLATE
    )

    assert message == WhatsApp(to="whatsapp:+447835065013", from_number=SANDBOX, body=INVITATION)
    assert templates.asked == []


@pytest.mark.parametrize(
    ("address", "sender"),
    [
        pytest.param("+16048621234", "+14155238886", id="bare-numbers"),
        pytest.param("whatsapp:+1 604 862 1234", "whatsapp:+1 415 523 8886", id="formatted"),
    ],
)
def test_whatsapp_numbers_are_sent_as_whatsapp_e164(templates, address, sender) -> None:
    delivery = whatsapp_delivery({"MessageBody": "Hi", "FromNumber": sender}, address)

    message = compose_whatsapp(delivery, templates, DEFAULT_TEMPLATE)

    assert (message.to, message.sender) == ("whatsapp:+16048621234", SANDBOX)


def test_a_whatsapp_template_is_rendered_like_an_sms(templates) -> None:
    delivery = whatsapp_delivery(
        {"Substitutions": {"productName": "CHEQUING", "membershipNumber": "****5493"}},
        substitutions={"accountBalance": ["5.00"]},
    )

    message = compose_whatsapp(delivery, templates, DEFAULT_TEMPLATE)

    assert message.body == (
        "Alert: Your CHEQUING account ending in ****5493 has a low balance of $5.00"
    )
    assert templates.asked == [DEFAULT_TEMPLATE]


def test_an_approved_template_sends_its_content_sid_with_rendered_variables(templates) -> None:
    delivery = whatsapp_delivery(
        {
            "ContentSid": CONTENT_SID,
            "ContentVariables": {"1": "{parent_first_name}", "2": "{player} ({team})"},
            "Substitutions": {"team": "Panthers"},
        },
        substitutions={"parent_first_name": "Jane", "player": "John"},
    )

    message = compose_whatsapp(delivery, templates, DEFAULT_TEMPLATE)

    assert message == WhatsApp(
        to="whatsapp:+16048621234",
        from_number=SANDBOX,
        body=None,
        content_sid=CONTENT_SID,
        content_variables={"1": "Jane", "2": "John (Panthers)"},
    )
    assert templates.asked == []


@pytest.mark.parametrize(
    ("message", "reason", "detail"),
    [
        pytest.param(
            {"FromNumber": None, "MessageBody": "Hi"},
            INVALID_MESSAGE,
            "WhatsAppMessage needs a FromNumber",
            id="no-from-number",
        ),
        pytest.param(
            {"FromNumber": "whatsapp:+1415", "MessageBody": "Hi"},
            INVALID_MESSAGE,
            "FromNumber: phone number '+1415': not a valid number",
            id="invalid-from-number",
        ),
        pytest.param(
            {"MessageBody": "{x}"},
            INVALID_MESSAGE,
            "the WhatsApp body is 1601 characters; the limit is 1600",
            id="rendered-body-too-long",
        ),
        pytest.param(
            {"TemplateName": "empty"},
            INVALID_MESSAGE,
            "template empty has no MessageBody",
            id="template-without-body",
        ),
        pytest.param(
            {"ContentSid": CONTENT_SID, "ContentVariables": {"1": "{missing}"}},
            MISSING_VARIABLE,
            "no value for: missing",
            id="content-variable-missing",
        ),
    ],
)
def test_an_unsendable_whatsapp_message_is_permanent(templates, message, reason, detail) -> None:
    delivery = whatsapp_delivery(message, substitutions={"x": "y" * 1601})
    if delivery.messages["WhatsAppMessage"]["FromNumber"] is None:
        del delivery.messages["WhatsAppMessage"]["FromNumber"]

    with pytest.raises(PermanentError) as caught:
        compose_whatsapp(delivery, templates, DEFAULT_TEMPLATE)

    assert (caught.value.reason, caught.value.detail) == (reason, detail)


def test_a_whatsapp_recipient_without_a_whatsapp_block_is_missing_its_message(templates) -> None:
    delivery = Delivery(
        "12347",
        "cust456",
        {"Address": "whatsapp:+16048621234", "ChannelType": "WHATSAPP"},
        {"SMSMessage": {"MessageBody": "Hi"}},
    )

    with pytest.raises(PermanentError) as caught:
        compose_whatsapp(delivery, templates, DEFAULT_TEMPLATE)

    assert caught.value.reason == MISSING_MESSAGE


def test_an_invalid_whatsapp_recipient_is_rejected_before_anything_is_rendered(templates) -> None:
    with pytest.raises(PermanentError) as caught:
        compose_whatsapp(whatsapp_delivery({}, "whatsapp:6048621234"), templates, DEFAULT_TEMPLATE)

    assert caught.value.reason == INVALID_ADDRESS
    assert templates.asked == []


# ---------------------------------------------------------------- content no provider can carry

LONE = "\ud800"


@pytest.mark.parametrize(
    ("compose", "delivery", "detail"),
    [
        pytest.param(
            compose_whatsapp,
            whatsapp_delivery({"MessageBody": f"Hi {LONE}"}),
            "the WhatsApp body has an unpaired UTF-16 surrogate U+D800 at character 4",
            id="whatsapp-body",
        ),
        pytest.param(
            compose_whatsapp,
            whatsapp_delivery(
                {"ContentSid": CONTENT_SID, "ContentVariables": {"1": "{name}"}},
                substitutions={"name": f"Jane{LONE}"},
            ),
            "the WhatsApp content_variables '1' has an unpaired UTF-16 surrogate U+D800",
            id="whatsapp-content-variable-from-a-substitution",
        ),
        pytest.param(
            compose_sms,
            sms_delivery({"MessageBody": "Hi {name}"}, substitutions={"name": "\udfff"}),
            "the Sms body has an unpaired UTF-16 surrogate U+DFFF at character 4",
            id="sms-substitution",
        ),
        pytest.param(
            compose_sms,
            sms_delivery({"MessageBody": "Hi", "OriginationNumber": f"pool{LONE}"}),
            "the Sms origination_identity has an unpaired UTF-16 surrogate U+D800",
            id="sms-origination",
        ),
        pytest.param(
            compose_email,
            email_delivery({"Subject": "Hi", "TextBody": "Hi", "HtmlBody": f"<p>{LONE}</p>"}),
            "the Email html has an unpaired UTF-16 surrogate U+D800",
            id="email-html",
        ),
        pytest.param(
            compose_email,
            email_delivery({"Subject": "Hi", "TextBody": "a\x00b"}),
            "the Email text has NUL (U+0000) at character 2",
            id="email-nul",
        ),
        pytest.param(
            compose_email,
            email_delivery(
                {"Subject": "Hi {name}", "TextBody": "Hello"},
                substitutions={"name": "x\r\nBcc: someone@example.net"},
            ),
            "the Email subject has the control character U+000D at character 5",
            id="email-subject-line-break",
        ),
        pytest.param(
            compose_email,
            email_delivery({"Subject": "Hi", "TextBody": "Hi", "FromAddress": f"a{LONE}@x.com"}),
            "the Email from_address has an unpaired UTF-16 surrogate U+D800",
            id="email-sender",
        ),
    ],
)
def test_text_no_provider_can_carry_is_an_invalid_message(
    templates, compose, delivery, detail
) -> None:
    with pytest.raises(PermanentError) as caught:
        compose(delivery, templates, DEFAULT_TEMPLATE)

    assert caught.value.reason == INVALID_MESSAGE
    assert caught.value.detail.startswith(detail)
    # The detail travels to the execution history and the trace: it must stay encodable.
    caught.value.detail.encode("utf-8")


@pytest.mark.parametrize(
    ("compose", "delivery"),
    [
        pytest.param(
            compose_whatsapp,
            whatsapp_delivery({"MessageBody": "Go team \U0001f600\tnow\r\nsee you"}),
            id="whatsapp-emoji-tab-line-breaks",
        ),
        pytest.param(
            compose_sms,
            sms_delivery({"MessageBody": "page\fbreak \u20ac"}),
            id="sms-gsm-form-feed",
        ),
        pytest.param(
            compose_email,
            email_delivery({"Subject": "Hello \U0001f44b", "TextBody": "line\n\tindented"}),
            id="email-emoji-subject",
        ),
    ],
)
def test_emoji_and_ordinary_whitespace_are_carried(templates, compose, delivery) -> None:
    compose(delivery, templates, DEFAULT_TEMPLATE)


def test_a_unicode_error_while_composing_is_an_invalid_message(templates, monkeypatch) -> None:
    def unencodable(*args: Any, **kwargs: Any) -> str:
        return "\ud800".encode()  # type: ignore[return-value]

    monkeypatch.setattr("notify.domain.channels.sms.render", unencodable)

    with pytest.raises(PermanentError) as caught:
        compose_sms(sms_delivery({"MessageBody": "Hi"}), templates, DEFAULT_TEMPLATE)

    assert caught.value.reason == INVALID_MESSAGE
    assert caught.value.detail.startswith("UnicodeEncodeError: 'utf-8' codec can't encode")
