"""The request contract in template.yaml, as the local API and API Gateway apply it."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft4Validator

from emulator.request_schema import (
    TEMPLATE,
    RequestValidator,
    load_components,
    parse_and_validate,
)

EVENTS = Path(__file__).resolve().parents[3] / "events"
EXAMPLES = [
    "email-only.json",
    "sms-template.json",
    "sms-inline.json",
    "email-and-sms.json",
    "whatsapp-invitation.json",
]
PHONE = "+16048621234"
DROP = object()  # marks a key to remove

# email-and-sms.json: an EmailMessage (default template), an SMSMessage (TemplateName) and two
# recipients, the SMS one with its own Substitutions.
BASE = json.loads((EVENTS / "email-and-sms.json").read_text())


def edited(*edits: tuple[str, Any]) -> dict[str, Any]:
    """BASE with each "A/B/C" path set to a value (or removed with DROP)."""
    request = copy.deepcopy(BASE)
    for path, value in edits:
        *parents, last = path.split("/")
        target = request
        for key in parents:
            target = target[key]
        if value is DROP:
            del target[last]
        else:
            target[last] = value
    return request


def body(*edits: tuple[str, Any]) -> str:
    return json.dumps(edited(*edits))


def recipients(count: int) -> dict[str, Any]:
    return {f"+1604555{n:04d}": {"ChannelType": "SMS"} for n in range(count)}


@pytest.fixture(scope="module")
def validator() -> RequestValidator:
    return RequestValidator()


# ---------------------------------------------------------------- valid requests


@pytest.mark.parametrize("name", EXAMPLES)
def test_readme_examples_are_valid(name):
    raw = (EVENTS / name).read_bytes()

    request, reasons = parse_and_validate(raw)

    assert reasons == []
    assert request == json.loads(raw)


SUBS = f"Addresses/{PHONE}/Substitutions"

VALID_EDGES = [
    pytest.param(body((f"{SUBS}/productName", ["SAVINGS"])), id="array-form-substitution"),
    pytest.param(
        body(("EmailMessage/Substitutions", {"a": ["x"], "b": "y"})), id="mixed-substitution-forms"
    ),
    pytest.param(body(("TraceId", "t" * 128)), id="traceid-128-chars"),
    pytest.param(body(("TraceId", "a.b_c:d@e/f+g=h-1")), id="traceid-every-punctuation"),
    pytest.param(body(("Addresses", recipients(100)), ("EmailMessage", DROP)), id="100-recipients"),
    pytest.param(body(("EmailMessage/Subject", "s" * 998)), id="subject-998-chars"),
    pytest.param(body(("EmailMessage/HtmlBody", "<p>hi</p>")), id="email-inline-html"),
    pytest.param(
        body(("EmailMessage/TemplateName", "alert-template"), ("EmailMessage/Subject", DROP)),
        id="email-template",
    ),
    pytest.param(body(("SMSMessage", {})), id="sms-default-template"),
    pytest.param(
        body(("SMSMessage/TemplateName", DROP), ("SMSMessage/MessageBody", "m" * 1600)),
        id="sms-body-1600-chars",
    ),
    pytest.param(body(("SMSMessage/MessageType", "PROMOTIONAL")), id="promotional"),
    pytest.param(body((f"{SUBS}/productName", "")), id="empty-substitution-string"),
]


@pytest.mark.parametrize("raw", VALID_EDGES)
def test_boundary_requests_are_valid(raw):
    assert parse_and_validate(raw) == (json.loads(raw), [])


# ---------------------------------------------------------------- invalid requests

RECIPIENT = f"Addresses.{PHONE}"
SUB_VALUE = f"{RECIPIENT}.Substitutions.accountBalance: must be a string or a one-element list"
ONE_OF_TEMPLATE_OR_INLINE = (
    "EmailMessage: give either TemplateName or an inline HtmlBody/TextBody, not both"
)

MALFORMED = [
    # TraceId
    pytest.param(body(("TraceId", DROP)), ["'TraceId' is a required property"], id="no-traceid"),
    pytest.param(body(("TraceId", "")), ["TraceId: ''", "does not match"], id="traceid-empty"),
    pytest.param(
        body(("TraceId", "t" * 129)),
        ["TraceId: 'ttt", "does not match", "{1,128}"],
        id="traceid-129",
    ),
    pytest.param(
        body(("TraceId", 12345)), ["TraceId: must be a string, not a number"], id="traceid-number"
    ),
    pytest.param(
        body(("TraceId", ["12345"])), ["TraceId: must be a string, not an array"], id="traceid-list"
    ),
    pytest.param(
        body(("TraceId", "trace 1")), ["TraceId: 'trace 1' does not match"], id="traceid-space"
    ),
    pytest.param(body(("TraceId", "trace;1")), ["TraceId: 'trace;1'"], id="traceid-semicolon"),
    pytest.param(body(("TraceId", "<script>")), ["TraceId: '<script>'"], id="traceid-angle"),
    pytest.param(body(("TraceId", "tracé")), ["TraceId: 'tracé'"], id="traceid-non-ascii"),
    # ECMA 262's `$` (API Gateway) does not match before a final newline, unlike Python's.
    pytest.param(body(("TraceId", "trace\n")), ["TraceId: 'trace\\n'"], id="traceid-newline"),
    # Addresses
    pytest.param(
        body(("Addresses", DROP)), ["'Addresses' is a required property"], id="no-addresses"
    ),
    pytest.param(body(("Addresses", {})), ["Addresses: must not be empty"], id="addresses-empty"),
    pytest.param(
        body(("Addresses", ["user@example.com"])),
        ["Addresses: must be an object, not an array"],
        id="addresses-list",
    ),
    pytest.param(
        body(("Addresses", recipients(101)), ("EmailMessage", DROP)),
        ["Addresses: must have at most 100 entries, not 101"],
        id="101-recipients",
    ),
    pytest.param(
        body((f"Addresses/{PHONE}/ChannelType", DROP)),
        [f"{RECIPIENT}: 'ChannelType' is a required property"],
        id="recipient-no-channel",
    ),
    pytest.param(
        body((f"Addresses/{PHONE}/ChannelType", "FAX")),
        [f"{RECIPIENT}.ChannelType: 'FAX' is not one of ['EMAIL', 'SMS', 'WHATSAPP']"],
        id="channel-unknown",
    ),
    pytest.param(
        body((f"Addresses/{PHONE}/ChannelType", "sms")),
        [f"{RECIPIENT}.ChannelType: 'sms' is not one of"],
        id="channel-lowercase",
    ),
    pytest.param(
        body((f"Addresses/{PHONE}", "SMS")),
        [f"{RECIPIENT}: must be an object, not a string"],
        id="recipient-string",
    ),
    # Unknown properties
    pytest.param(
        body((f"Addresses/{PHONE}/Priority", "high")),
        [f"{RECIPIENT}: unexpected property 'Priority'", "ChannelType, Substitutions"],
        id="extra-on-recipient",
    ),
    pytest.param(
        body(("Priority", "high")),
        [
            "unexpected property 'Priority'",
            "TraceId, EmailMessage, SMSMessage, WhatsAppMessage, Addresses",
        ],
        id="extra-top-level",
    ),
    pytest.param(
        body(("EmailMessage/Cc", "x@example.com")),
        ["EmailMessage: unexpected property 'Cc'", "FromAddress"],
        id="extra-on-email",
    ),
    pytest.param(
        body(("SMSMessage/Keyword", "STOP")),
        ["SMSMessage: unexpected property 'Keyword'", "MessageBody"],
        id="extra-on-sms",
    ),
    pytest.param(
        body(("emailMessage", BASE["EmailMessage"]), ("EmailMessage", DROP)),
        ["unexpected property 'emailMessage'"],
        id="miscased-block",
    ),
    # Message blocks
    pytest.param(
        body(("EmailMessage", DROP), ("SMSMessage", DROP)),
        ["the request needs an EmailMessage, an SMSMessage or a WhatsAppMessage"],
        id="no-message-block",
    ),
    pytest.param(
        body(("SMSMessage", "hello")),
        ["SMSMessage: must be an object, not a string"],
        id="sms-block-string",
    ),
    pytest.param(
        body(("EmailMessage", "hello")),
        ["EmailMessage: must be an object, not a string"],
        id="email-block-string",
    ),
    pytest.param(
        body(("EmailMessage/FromAddress", DROP)),
        ["EmailMessage: 'FromAddress' is a required property"],
        id="email-no-from",
    ),
    pytest.param(
        body(("EmailMessage/FromAddress", "alerts.example.com")),
        ["EmailMessage.FromAddress: 'alerts.example.com' does not match"],
        id="from-no-at",
    ),
    pytest.param(
        body(("EmailMessage/FromAddress", "a@b@example.com")),
        ["EmailMessage.FromAddress: 'a@b@example.com' does not match"],
        id="from-two-ats",
    ),
    pytest.param(
        body(("EmailMessage/FromAddress", "Alerts <alerts@example.com>")),
        ["EmailMessage.FromAddress:", "does not match"],
        id="from-with-space",
    ),
    pytest.param(
        body(("EmailMessage/FromAddress", "alerts@example.com\nBcc: x@evil.test")),
        ["EmailMessage.FromAddress:", "does not match"],
        id="from-header-injection",
    ),
    pytest.param(
        body(("EmailMessage/FromAddress", "alerts@example.com\n")),
        ["EmailMessage.FromAddress:", "does not match"],
        id="from-trailing-newline",
    ),
    pytest.param(
        body(("EmailMessage/Subject", "")),
        ["EmailMessage.Subject: must not be empty"],
        id="subject-empty",
    ),
    pytest.param(
        body(("EmailMessage/Subject", "s" * 999)),
        ["EmailMessage.Subject: must be at most 998 characters long, not 999"],
        id="subject-999",
    ),
    pytest.param(
        body(("SMSMessage/MessageBody", "Your payment is due")),
        ["SMSMessage: give either TemplateName or MessageBody, not both"],
        id="sms-template-and-body",
    ),
    pytest.param(
        body(
            ("EmailMessage/TemplateName", "alert-template"), ("EmailMessage/HtmlBody", "<p>x</p>")
        ),
        [ONE_OF_TEMPLATE_OR_INLINE],
        id="email-template-and-html",
    ),
    pytest.param(
        body(("EmailMessage/TemplateName", "alert-template"), ("EmailMessage/TextBody", "x")),
        [ONE_OF_TEMPLATE_OR_INLINE],
        id="email-template-and-text",
    ),
    pytest.param(
        body(("EmailMessage/HtmlBody", "")),
        ["EmailMessage.HtmlBody: must not be empty"],
        id="html-empty",
    ),
    pytest.param(
        body(("SMSMessage/MessageType", "MARKETING")),
        ["SMSMessage.MessageType: 'MARKETING' is not one of ['TRANSACTIONAL', 'PROMOTIONAL']"],
        id="message-type-unknown",
    ),
    pytest.param(
        body(("SMSMessage/TemplateName", DROP), ("SMSMessage/MessageBody", "m" * 1601)),
        ["SMSMessage.MessageBody: must be at most 1600 characters long, not 1601"],
        id="sms-body-1601",
    ),
    pytest.param(
        body(("SMSMessage/TemplateName", DROP), ("SMSMessage/MessageBody", "")),
        ["SMSMessage.MessageBody: must not be empty"],
        id="sms-body-empty",
    ),
    pytest.param(
        body(("SMSMessage/TemplateName", "alerts/low")),
        ["SMSMessage.TemplateName: 'alerts/low' does not match"],
        id="template-slash",
    ),
    pytest.param(
        body(("EmailMessage/TemplateName", "low balance"), ("EmailMessage/Subject", DROP)),
        ["EmailMessage.TemplateName: 'low balance' does not match"],
        id="template-space",
    ),
    pytest.param(
        body(("SMSMessage/TemplateName", "")),
        ["SMSMessage.TemplateName: '' does not match"],
        id="template-empty",
    ),
    # Substitutions
    pytest.param(
        body(("EmailMessage/Substitutions", "productName=CHEQUING")),
        ["EmailMessage.Substitutions: must be an object, not a string"],
        id="substitutions-string",
    ),
    pytest.param(
        body((SUBS, [{"productName": "SAVINGS"}])),
        [f"{RECIPIENT}.Substitutions: must be an object, not an array"],
        id="substitutions-list",
    ),
    pytest.param(
        body((SUBS, {f"k{n}": "v" for n in range(101)})),
        [f"{RECIPIENT}.Substitutions: must have at most 100 entries, not 101"],
        id="101-substitutions",
    ),
    pytest.param(body((f"{SUBS}/accountBalance", 100.0)), [SUB_VALUE], id="substitution-number"),
    pytest.param(body((f"{SUBS}/accountBalance", None)), [SUB_VALUE], id="substitution-null"),
    pytest.param(body((f"{SUBS}/accountBalance", True)), [SUB_VALUE], id="substitution-bool"),
    pytest.param(body((f"{SUBS}/accountBalance", [])), [SUB_VALUE], id="substitution-empty-list"),
    pytest.param(
        body((f"{SUBS}/accountBalance", ["1", "2"])), [SUB_VALUE], id="substitution-2-list"
    ),
    pytest.param(body((f"{SUBS}/accountBalance", [100])), [SUB_VALUE], id="substitution-num-list"),
    pytest.param(body((f"{SUBS}/accountBalance", {"v": "1"})), [SUB_VALUE], id="substitution-obj"),
    pytest.param(
        body(("EmailMessage/Substitutions/productName", 7)),
        ["EmailMessage.Substitutions.productName: must be a string or a one-element list"],
        id="email-substitution-number",
    ),
    pytest.param(
        body((f"{SUBS}/accountBalance", "9" * 10_001)),
        [f"{RECIPIENT}.Substitutions.accountBalance: must be at most 10000 characters long"],
        id="substitution-too-long",
    ),
    # The body itself
    pytest.param("[]", ["the body must be a JSON object, not an array"], id="body-array"),
    pytest.param('"send it"', ["the body must be a JSON object, not a string"], id="body-string"),
    pytest.param("42", ["the body must be a JSON object, not a number"], id="body-number"),
    pytest.param("null", ["the body must be a JSON object, not null"], id="body-null"),
    pytest.param(
        "TraceId=1",
        ["the body is not valid JSON: Expecting value at line 1 column 1"],
        id="not-json",
    ),
    pytest.param(
        '{"TraceId": "1",}', ["the body is not valid JSON", "line 1 column 17"], id="trailing-comma"
    ),
    pytest.param(
        '{"TraceId": NaN}', ["the body is not valid JSON: NaN is not a JSON value"], id="nan"
    ),
    pytest.param(b"\xff\xfe{", ["the body is not valid JSON"], id="not-utf8"),
    pytest.param(b"", ["the body is empty"], id="body-empty"),
    pytest.param("  \n", ["the body is empty"], id="body-blank"),
]


@pytest.mark.parametrize(("raw", "fragments"), MALFORMED)
def test_malformed_requests_are_refused_with_a_reason(raw, fragments):
    request, reasons = parse_and_validate(raw)

    assert request is None
    assert len(reasons) == 1, reasons
    assert all(fragment in reasons[0] for fragment in fragments), reasons


# ---------------------------------------------------------------- WhatsApp

WHATSAPP = json.loads((EVENTS / "whatsapp-invitation.json").read_text())
CONTENT_SID = "HX" + "0123456789abcdef" * 2


def whatsapp(**block: Any) -> dict[str, Any]:
    """The invitation example with its WhatsAppMessage fields replaced (None removes one)."""
    request = copy.deepcopy(WHATSAPP)
    message = request["WhatsAppMessage"] | block
    request["WhatsAppMessage"] = {key: value for key, value in message.items() if value is not None}
    return request


@pytest.mark.parametrize(
    "request_body",
    [
        pytest.param(whatsapp(FromNumber="+14155238886"), id="bare-from-number"),
        pytest.param(whatsapp(MessageBody=None, TemplateName="invitation"), id="template"),
        pytest.param(whatsapp(MessageBody=None), id="default-template"),
        pytest.param(
            whatsapp(MessageBody=None, ContentSid=CONTENT_SID, ContentVariables={"1": "{x}"}),
            id="approved-template",
        ),
        pytest.param(whatsapp(MessageBody=None, ContentSid=CONTENT_SID), id="content-no-variables"),
        pytest.param(whatsapp(MessageBody="m" * 1600), id="body-1600-chars"),
        pytest.param(
            whatsapp() | {"Addresses": {"+447835065013": {"ChannelType": "WHATSAPP"}}},
            id="bare-recipient-number",
        ),
    ],
)
def test_whatsapp_requests_are_valid(validator, request_body):
    assert validator.errors(request_body) == []


ONE_WHATSAPP_BODY = "WhatsAppMessage: give at most one of TemplateName, MessageBody or ContentSid"


@pytest.mark.parametrize(
    ("request_body", "reason"),
    [
        pytest.param(
            whatsapp(TemplateName="invitation"), ONE_WHATSAPP_BODY, id="template-and-body"
        ),
        pytest.param(whatsapp(ContentSid=CONTENT_SID), ONE_WHATSAPP_BODY, id="content-and-body"),
        pytest.param(
            whatsapp(MessageBody=None, ContentVariables={"1": "x"}),
            ONE_WHATSAPP_BODY + "; ContentVariables go with a ContentSid",
            id="variables-without-content",
        ),
        pytest.param(
            whatsapp(FromNumber=None),
            "WhatsAppMessage: 'FromNumber' is a required property",
            id="no-from-number",
        ),
        pytest.param(
            whatsapp(FromNumber="whatsapp:14155238886"),
            "WhatsAppMessage.FromNumber: 'whatsapp:14155238886' does not match",
            id="from-without-plus",
        ),
        pytest.param(
            whatsapp(MessageBody=None, ContentSid="HX123"),
            "WhatsAppMessage.ContentSid: 'HX123' does not match",
            id="content-sid-malformed",
        ),
        pytest.param(
            whatsapp(MessageBody=None, ContentSid=CONTENT_SID, ContentVariables={"1": 2}),
            "WhatsAppMessage.ContentVariables.1: must be a string, not a number",
            id="content-variable-number",
        ),
        pytest.param(
            whatsapp(MessageBody="m" * 1601),
            "WhatsAppMessage.MessageBody: must be at most 1600 characters long, not 1601",
            id="body-1601-chars",
        ),
        pytest.param(
            whatsapp(MediaUrl="https://example.com/a.png"),
            "WhatsAppMessage: unexpected property 'MediaUrl'",
            id="extra-on-whatsapp",
        ),
    ],
)
def test_malformed_whatsapp_requests_are_refused_with_a_reason(validator, request_body, reason):
    reasons = validator.errors(request_body)

    assert len(reasons) == 1, reasons
    assert reasons[0].startswith(reason), reasons


def test_every_problem_is_reported_sorted_by_path(validator):
    request = edited(
        ("TraceId", DROP),
        (f"Addresses/{PHONE}/ChannelType", "FAX"),
        ("EmailMessage/Subject", ""),
        ("SMSMessage/MessageType", "X"),
    )

    assert validator.errors(request) == [
        "'TraceId' is a required property",
        f"{RECIPIENT}.ChannelType: 'FAX' is not one of ['EMAIL', 'SMS', 'WHATSAPP']",
        "EmailMessage.Subject: must not be empty",
        "SMSMessage.MessageType: 'X' is not one of ['TRANSACTIONAL', 'PROMOTIONAL']",
    ]


def test_long_values_are_abbreviated_in_reasons(validator):
    (reason,) = validator.errors(edited(("TraceId", "t" * 5000)))

    assert len(reason) < 200
    assert "..." in reason


# ---------------------------------------------------------------- single source of truth


class _IgnoreTagsLoader(yaml.SafeLoader):
    """Plain PyYAML, independent of cfn-lint: CloudFormation tags (!Sub, !Ref...) load as None."""


_IgnoreTagsLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def api_definition() -> dict[str, Any]:
    template = yaml.load(TEMPLATE.read_text(), Loader=_IgnoreTagsLoader)
    return template["Resources"]["Api"]["Properties"]["DefinitionBody"]


def test_components_are_the_schemas_in_template_yaml():
    schemas = api_definition()["components"]["schemas"]

    components = load_components()

    assert components == schemas
    assert type(components) is dict
    assert type(components["SendRequest"]["properties"]) is dict


def test_the_send_route_uses_send_request():
    post = api_definition()["paths"]["/"]["post"]

    schema = post["requestBody"]["content"]["application/json"]["schema"]

    assert schema == {"$ref": "#/components/schemas/SendRequest"}
    assert post["x-amazon-apigateway-request-validator"] == "body"


def test_validator_follows_an_edited_template(tmp_path):
    edited_template = tmp_path / "template.yaml"
    edited_template.write_text(
        TEMPLATE.read_text().replace(
            "enum: [EMAIL, SMS, WHATSAPP]", "enum: [EMAIL, SMS, WHATSAPP, PUSH]"
        )
    )
    request = edited((f"Addresses/{PHONE}/ChannelType", "PUSH"))

    assert RequestValidator().errors(request) != []
    assert RequestValidator(load_components(edited_template)).errors(request) == []


# ---------------------------------------------------------------- draft-04 only

# API Gateway models accept JSON Schema draft-04 and nothing newer (no const, propertyNames,
# if/then/else, examples...) nor OpenAPI-only keywords (nullable, example, readOnly...).
DRAFT4_KEYWORDS = set(Draft4Validator.META_SCHEMA["properties"]) | {"$ref"}


def _keywords(schema: dict[str, Any], where: str) -> Iterator[tuple[str, str]]:
    """Every (location, keyword) in a schema and its subschemas; enum and required hold data."""
    for keyword, value in schema.items():
        yield where, keyword
        if keyword in ("properties", "patternProperties", "definitions", "dependencies"):
            subschemas = [(f"/{name}", sub) for name, sub in value.items()]
        elif keyword in ("allOf", "anyOf", "oneOf", "items") and isinstance(value, list):
            subschemas = [(f"/{index}", sub) for index, sub in enumerate(value)]
        elif keyword in ("not", "items", "additionalItems", "additionalProperties"):
            subschemas = [("", value)]
        else:
            subschemas = []
        for suffix, sub in subschemas:
            if isinstance(sub, dict):  # not a dependencies list or a boolean additionalProperties
                yield from _keywords(sub, f"{where}/{keyword}{suffix}")


def test_components_use_only_draft4_keywords():
    used = [pair for name, schema in load_components().items() for pair in _keywords(schema, name)]

    assert [
        f"{where}: {keyword}" for where, keyword in used if keyword not in DRAFT4_KEYWORDS
    ] == []
    # The walk reaches nested subschemas, so the check above is not vacuous.
    assert {"$ref", "anyOf", "oneOf", "not", "enum", "maxItems"} <= {kw for _, kw in used}
    nested = {"properties": {"a": {"additionalProperties": {"oneOf": [{"const": 1}]}}}}
    assert ("X/properties/a/additionalProperties/oneOf/0", "const") in _keywords(nested, "X")


def test_components_are_valid_draft4_schemas():
    for schema in load_components().values():
        Draft4Validator.check_schema(schema)


# ---------------------------------------------------------------- text no provider can carry

# Raw JSON as a client sends it: "\ud800" is an escape in the body, decoded to a lone surrogate.
LONE = "\\ud800"
EMOJI_ESCAPED = "\\ud83d\\ude00"


def raw_body(path: str, value: str, *edits: tuple[str, Any]) -> str:
    """BASE as JSON with `value` written at `path` into the JSON text as it is (escapes too)."""
    return json.dumps(edited((path, "@@"), *edits)).replace('"@@"', f'"{value}"')


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        pytest.param(
            raw_body("EmailMessage/Subject", f"Alert {LONE}"),
            "EmailMessage.Subject: must not contain an unpaired UTF-16 surrogate U+D800 "
            "(character 7): no provider can carry it",
            id="subject-lone-high-surrogate",
        ),
        pytest.param(
            raw_body("EmailMessage/Subject", "Alert\\r\\nBcc: x@example.net"),
            "EmailMessage.Subject: must not contain the control character U+000D (character 6)",
            id="subject-line-break",
        ),
        pytest.param(
            raw_body("EmailMessage/HtmlBody", "<p>\\udc00</p>"),
            "EmailMessage.HtmlBody: must not contain an unpaired UTF-16 surrogate U+DC00",
            id="html-lone-low-surrogate",
        ),
        pytest.param(
            raw_body("EmailMessage/TextBody", "a\\u0000b"),
            "EmailMessage.TextBody: must not contain NUL (U+0000) (character 2)",
            id="text-nul",
        ),
        pytest.param(
            raw_body("SMSMessage/MessageBody", f"x{LONE}", ("SMSMessage/TemplateName", DROP)),
            "SMSMessage.MessageBody: must not contain an unpaired UTF-16 surrogate U+D800",
            id="sms-body",
        ),
        pytest.param(
            raw_body("EmailMessage/Substitutions/productName", f"{LONE}\\ude00\\ude00"),
            "EmailMessage.Substitutions.productName: must not contain an unpaired UTF-16 "
            "surrogate U+DE00 (character 2)",
            id="substitution-pair-then-lone-low",
        ),
        pytest.param(
            raw_body(f"Addresses/{PHONE}/Substitutions/accountBalance", f"1{LONE}"),
            f"Addresses.{PHONE}.Substitutions.accountBalance: must not contain an unpaired",
            id="recipient-substitution",
        ),
    ],
)
def test_text_no_provider_can_carry_is_refused_with_the_character_named(raw, reason):
    request, reasons = parse_and_validate(raw)

    assert request is None
    assert len(reasons) == 1, reasons
    assert reasons[0].startswith(reason), reasons


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("EmailMessage/Subject", f"Alert {EMOJI_ESCAPED}", id="escaped-pair-subject"),
        pytest.param("EmailMessage/Subject", "Alert \U0001f600", id="raw-emoji-subject"),
        pytest.param("EmailMessage/TextBody", "a\\tb\\r\\nc \U0001f44b", id="text-whitespace"),
        pytest.param(
            "EmailMessage/Substitutions/productName", EMOJI_ESCAPED * 3, id="substitution-emoji"
        ),
    ],
)
def test_emoji_and_ordinary_whitespace_are_valid(field, value):
    raw = raw_body(field, value)

    assert parse_and_validate(raw)[1] == []


def test_a_body_of_100000_characters_is_checked_quickly(validator):
    request = edited(("EmailMessage/TextBody", "é" * 99_998 + "\U0001f600"))

    assert validator.errors(request) == []


def _text_patterns() -> list[str]:
    components = load_components()
    return [
        components["EmailMessage"]["properties"]["Subject"]["pattern"],
        components["SMSMessage"]["properties"]["MessageBody"]["pattern"],
    ]


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node for an ECMA 262 engine")
def test_the_text_patterns_behave_alike_in_an_ecma_262_engine():
    # API Gateway applies the patterns as ECMA 262 regexes, which see UTF-16 code units.
    script = """
    const [patterns, samples] = JSON.parse(require("fs").readFileSync(0, "utf8"));
    console.log(JSON.stringify(patterns.map(p => samples.map(s => new RegExp(p).test(s)))));
    """
    samples = ["Hi \U0001f600", "\ud800", "a\udc00b", "x\x00", "é" * 100_000]
    answer = subprocess.run(
        ["node", "-e", script],
        input=json.dumps([_text_patterns(), samples]),
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )

    assert json.loads(answer.stdout) == [[True, False, False, False, True]] * 2


# ---------------------------------------------------------------- address keys
# An address becomes part of a DynamoDB key: its length is bounded before it is queued.
LONGEST_EMAIL = "u" * 64 + "@" + "e" * 185 + ".com"  # 254 characters
LONGEST_PHONE = "whatsapp:+" + "1" * 22  # 32 characters


@pytest.mark.parametrize(
    ("address", "channel"),
    [
        pytest.param(LONGEST_EMAIL, "EMAIL", id="an-email-of-254"),
        pytest.param(LONGEST_PHONE, "WHATSAPP", id="a-whatsapp-number-of-32"),
        pytest.param("+16048621234", "SMS", id="a-phone-number"),
    ],
)
def test_address_keys_up_to_their_limits_are_valid(validator, address, channel):
    request = edited(("Addresses", {address: {"ChannelType": channel}}))

    assert validator.errors(request) == []


@pytest.mark.parametrize(
    ("address", "length"),
    [
        pytest.param("x" + LONGEST_EMAIL, 255, id="an-email-of-255"),
        pytest.param(LONGEST_PHONE + "1", 33, id="a-phone-number-of-33"),
        pytest.param("a" * 1100 + "@example.com", 1112, id="a-key-over-dynamodbs-limit"),
    ],
)
def test_an_address_key_over_its_limit_is_refused_with_the_rule(validator, address, length):
    request = edited(("Addresses", {address: {"ChannelType": "EMAIL"}}))

    [reason] = validator.errors(request)

    assert reason.startswith("Addresses: ")
    assert f"({length} characters)" in reason
    assert "an e-mail address of at most 254 characters or a phone number of at most 32" in reason


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node for an ECMA 262 engine")
def test_the_address_key_pattern_behaves_alike_in_an_ecma_262_engine():
    [pattern] = load_components()["SendRequest"]["properties"]["Addresses"]["patternProperties"]
    samples = [LONGEST_EMAIL, "x" + LONGEST_EMAIL, LONGEST_PHONE, LONGEST_PHONE + "1", "a@b"]
    script = """
    const [pattern, samples] = JSON.parse(require("fs").readFileSync(0, "utf8"));
    console.log(JSON.stringify(samples.map(s => new RegExp(pattern).test(s))));
    """
    answer = subprocess.run(
        ["node", "-e", script],
        input=json.dumps([pattern, samples]),
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )

    assert json.loads(answer.stdout) == [True, False, True, False, True]


# ---------------------------------------------------------------- the trigger routes' records

REGISTRATION = json.loads(
    (EVENTS.parent / "examples" / "registration-bot" / "payload.json").read_text()
)


def test_the_seed_bots_record_fits_the_registration_model():
    raw = json.dumps(REGISTRATION | {"parent_email": "jane@example.org", "TraceId": "reg-1"})

    assert parse_and_validate(raw, "RegistrationRecord") == (json.loads(raw), [])


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        pytest.param({"parent_tel": DROP}, "'parent_tel' is a required property", id="missing"),
        pytest.param(
            {"parent_tel": "07835 065013"},
            "parent_tel: must be the parent's mobile number in E.164: + then the country code "
            "and number, digits only (e.g. +447835065013)",
            id="not-e164",
        ),
        pytest.param(
            {"membership_fee_amount": "£40"},
            "membership_fee_amount: must be an amount of digits, optionally with 2 decimals "
            "(e.g. 40)",
            id="amount",
        ),
        pytest.param({"team_name": ""}, "team_name: must not be empty", id="empty-name"),
        pytest.param(
            {"parent_first_name": "Jane\nSmith"},
            "parent_first_name: must not contain the control character U+000A (character 5): "
            "no provider can carry it",
            id="control-character",
        ),
        pytest.param({"age_group": 11}, "age_group: must be a string, not a number", id="type"),
        pytest.param(
            {"extra": {"nested": True}},
            "extra: must be a string or a number or a boolean or null, not an object",
            id="nested-extra-field",
        ),
    ],
)
def test_a_registration_record_missing_or_malformed_is_refused_with_the_reason(changes, reason):
    record = {k: v for k, v in (REGISTRATION | changes).items() if v is not DROP}

    assert parse_and_validate(json.dumps(record), "RegistrationRecord") == (None, [reason])


@pytest.mark.parametrize(
    ("record", "reasons"),
    [
        pytest.param({"a": "x", "n": 1.5, "b": False, "z": None}, [], id="flat"),
        pytest.param({}, ["must not be empty"], id="empty"),
        pytest.param(
            {"a": ["x"]},
            ["a: must be a string or a number or a boolean or null, not an array"],
            id="list",
        ),
        pytest.param(
            {"a": "\u0000"},
            ["a: must not contain NUL (U+0000) (character 1): no provider can carry it"],
            id="nul",
        ),
        pytest.param(
            {f"k{i}": "v" for i in range(101)},
            ["must have at most 100 entries, not 101"],
            id="too-many",
        ),
    ],
)
def test_a_named_triggers_record_is_flat(record, reasons):
    assert parse_and_validate(json.dumps(record), "TriggerRecord")[1] == reasons
