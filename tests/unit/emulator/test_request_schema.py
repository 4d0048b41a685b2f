"""The request contract in api/openapi.yaml, as the local API and API Gateway apply it.

A refused body is answered with API Gateway's own messages (fge json-schema-validator's);
each test states the exact text API Gateway sends.
"""

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
from cfnlint.decode import cfn_yaml
from jsonschema import Draft4Validator

from emulator.request_schema import RequestValidator, load_components, parse_and_validate
from emulator.stack import TEMPLATE
from emulator.validation_errors import MAPPED_KEYWORDS

ROOT = Path(__file__).resolve().parents[3]
EVENTS = ROOT / "events"
OPENAPI = ROOT / "api" / "openapi.yaml"
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
    pytest.param(body(("Priority", "bulk")), id="bulk-lane"),
    pytest.param(body(("Priority", "transactional")), id="transactional-lane"),
    pytest.param(
        body(("Locale", "fr-CA"), (f"Addresses/{PHONE}/Locale", "es-419")),
        id="request-and-recipient-locale",
    ),
]


@pytest.mark.parametrize("raw", VALID_EDGES)
def test_boundary_requests_are_valid(raw):
    assert parse_and_validate(raw) == (json.loads(raw), [])


# ---------------------------------------------------------------- invalid requests

RECIPIENT = f"Addresses/{PHONE}"
TRACE_ID = "^[A-Za-z0-9._:@/+=-]{1,128}$"
FROM_ADDRESS = "^[^@\\s]+@[^@\\s]+$"
TEMPLATE_NAME = "^[A-Za-z0-9._-]{1,128}$"
LOCALE = "^[a-z]{2,3}(-[A-Z]{2}|-[0-9]{3})?$"
CHANNELS = '["EMAIL","SMS","WHATSAPP","VOICE"]'
NOT_A_SUBSTITUTION = "instance failed to match exactly one schema (matched 0 out of 2)"
BOTH = "instance matched a schema which it should not have"


def no_match(regex: str, value: str) -> str:
    return f'ECMA 262 regex "{regex}" does not match input string "{value}"'


def not_a(kind: str, allowed: str = "string") -> str:
    return (
        f'instance type ({kind}) does not match any allowed primitive type (allowed: ["{allowed}"])'
    )


def missing(name: str) -> str:
    return f'object has missing required properties (["{name}"])'


def not_allowed(name: str) -> str:
    return f'object instance has properties which are not allowed by the schema: ["{name}"]'


MALFORMED = [
    # TraceId
    pytest.param(body(("TraceId", DROP)), [missing("TraceId")], id="no-traceid"),
    pytest.param(body(("TraceId", "")), [no_match(TRACE_ID, "")], id="traceid-empty"),
    pytest.param(body(("TraceId", "t" * 129)), [no_match(TRACE_ID, "t" * 129)], id="traceid-129"),
    pytest.param(body(("TraceId", 12345)), [not_a("integer")], id="traceid-number"),
    pytest.param(body(("TraceId", ["12345"])), [not_a("array")], id="traceid-list"),
    pytest.param(body(("TraceId", "trace 1")), [no_match(TRACE_ID, "trace 1")], id="traceid-space"),
    pytest.param(
        body(("TraceId", "trace;1")), [no_match(TRACE_ID, "trace;1")], id="traceid-semicolon"
    ),
    pytest.param(
        body(("TraceId", "<script>")), [no_match(TRACE_ID, "<script>")], id="traceid-angle"
    ),
    pytest.param(body(("TraceId", "tracé")), [no_match(TRACE_ID, "tracé")], id="traceid-non-ascii"),
    # ECMA 262's `$` (API Gateway) does not match before a final newline, unlike Python's.
    pytest.param(
        body(("TraceId", "trace\n")), [no_match(TRACE_ID, "trace\n")], id="traceid-newline"
    ),
    # Locale
    pytest.param(body(("Locale", "fr_CA")), [no_match(LOCALE, "fr_CA")], id="locale-underscore"),
    pytest.param(
        body((f"{RECIPIENT}/Locale", "fr-ca")),
        [no_match(LOCALE, "fr-ca")],
        id="recipient-locale-case",
    ),
    # Addresses
    pytest.param(body(("Addresses", DROP)), [missing("Addresses")], id="no-addresses"),
    pytest.param(
        body(("Addresses", {})),
        ["object has too few properties (found 0 but schema requires at least 1)"],
        id="addresses-empty",
    ),
    pytest.param(
        body(("Addresses", ["user@example.com"])), [not_a("array", "object")], id="addresses-list"
    ),
    pytest.param(
        body(("Addresses", recipients(101)), ("EmailMessage", DROP)),
        ["object has too many properties (found 101 but schema requires at most 100)"],
        id="101-recipients",
    ),
    pytest.param(
        body((f"{RECIPIENT}/ChannelType", DROP)),
        [missing("ChannelType")],
        id="recipient-no-channel",
    ),
    pytest.param(
        body((f"{RECIPIENT}/ChannelType", "FAX")),
        [f'instance value ("FAX") not found in enum (possible values: {CHANNELS})'],
        id="channel-unknown",
    ),
    pytest.param(
        body((f"{RECIPIENT}/ChannelType", "sms")),
        [f'instance value ("sms") not found in enum (possible values: {CHANNELS})'],
        id="channel-lowercase",
    ),
    pytest.param(body((RECIPIENT, "SMS")), [not_a("string", "object")], id="recipient-string"),
    # Unknown properties
    pytest.param(
        body((f"{RECIPIENT}/Priority", "high")), [not_allowed("Priority")], id="extra-on-recipient"
    ),
    pytest.param(body(("Urgency", "high")), [not_allowed("Urgency")], id="extra-top-level"),
    pytest.param(
        body(("Priority", "high")),
        ['instance value ("high") not found in enum (possible values: ["transactional","bulk"])'],
        id="priority-unknown",
    ),
    pytest.param(
        body(("EmailMessage/Cc", "x@example.com")), [not_allowed("Cc")], id="extra-on-email"
    ),
    pytest.param(body(("SMSMessage/Keyword", "STOP")), [not_allowed("Keyword")], id="extra-on-sms"),
    pytest.param(
        body(("emailMessage", BASE["EmailMessage"]), ("EmailMessage", DROP)),
        [not_allowed("emailMessage")],
        id="miscased-block",
    ),
    # Message blocks
    pytest.param(
        body(("EmailMessage", DROP), ("SMSMessage", DROP)),
        ["instance failed to match at least one required schema among 4"],
        id="no-message-block",
    ),
    # A string passes `not: {required: [...]}` (required checks objects only), so both fail.
    pytest.param(
        body(("SMSMessage", "hello")), [BOTH, not_a("string", "object")], id="sms-block-string"
    ),
    pytest.param(
        body(("EmailMessage", "hello")), [BOTH, not_a("string", "object")], id="email-block-string"
    ),
    pytest.param(
        body(("EmailMessage/FromAddress", DROP)), [missing("FromAddress")], id="email-no-from"
    ),
    pytest.param(
        body(("EmailMessage/FromAddress", "alerts.example.com")),
        [no_match(FROM_ADDRESS, "alerts.example.com")],
        id="from-no-at",
    ),
    pytest.param(
        body(("EmailMessage/FromAddress", "a@b@example.com")),
        [no_match(FROM_ADDRESS, "a@b@example.com")],
        id="from-two-ats",
    ),
    pytest.param(
        body(("EmailMessage/FromAddress", "Alerts <alerts@example.com>")),
        [no_match(FROM_ADDRESS, "Alerts <alerts@example.com>")],
        id="from-with-space",
    ),
    pytest.param(
        body(("EmailMessage/FromAddress", "alerts@example.com\nBcc: x@evil.test")),
        [no_match(FROM_ADDRESS, "alerts@example.com\nBcc: x@evil.test")],
        id="from-header-injection",
    ),
    pytest.param(
        body(("EmailMessage/FromAddress", "alerts@example.com\n")),
        [no_match(FROM_ADDRESS, "alerts@example.com\n")],
        id="from-trailing-newline",
    ),
    pytest.param(
        body(("EmailMessage/Subject", "")),
        ['string "" is too short (length: 0, required minimum: 1)'],
        id="subject-empty",
    ),
    pytest.param(
        body(("EmailMessage/Subject", "s" * 999)),
        [f'string "{"s" * 999}" is too long (length: 999, maximum allowed: 998)'],
        id="subject-999",
    ),
    pytest.param(
        body(("SMSMessage/MessageBody", "Your payment is due")), [BOTH], id="sms-template-and-body"
    ),
    pytest.param(
        body(
            ("EmailMessage/TemplateName", "alert-template"), ("EmailMessage/HtmlBody", "<p>x</p>")
        ),
        [BOTH],
        id="email-template-and-html",
    ),
    pytest.param(
        body(("EmailMessage/TemplateName", "alert-template"), ("EmailMessage/TextBody", "x")),
        [BOTH],
        id="email-template-and-text",
    ),
    pytest.param(
        body(("EmailMessage/HtmlBody", "")),
        ['string "" is too short (length: 0, required minimum: 1)'],
        id="html-empty",
    ),
    pytest.param(
        body(("SMSMessage/MessageType", "MARKETING")),
        [
            'instance value ("MARKETING") not found in enum '
            '(possible values: ["TRANSACTIONAL","PROMOTIONAL"])'
        ],
        id="message-type-unknown",
    ),
    pytest.param(
        body(("SMSMessage/TemplateName", DROP), ("SMSMessage/MessageBody", "m" * 1601)),
        [f'string "{"m" * 1601}" is too long (length: 1601, maximum allowed: 1600)'],
        id="sms-body-1601",
    ),
    pytest.param(
        body(("SMSMessage/TemplateName", DROP), ("SMSMessage/MessageBody", "")),
        ['string "" is too short (length: 0, required minimum: 1)'],
        id="sms-body-empty",
    ),
    pytest.param(
        body(("SMSMessage/TemplateName", "alerts/low")),
        [no_match(TEMPLATE_NAME, "alerts/low")],
        id="template-slash",
    ),
    pytest.param(
        body(("EmailMessage/TemplateName", "low balance"), ("EmailMessage/Subject", DROP)),
        [no_match(TEMPLATE_NAME, "low balance")],
        id="template-space",
    ),
    pytest.param(
        body(("SMSMessage/TemplateName", "")), [no_match(TEMPLATE_NAME, "")], id="template-empty"
    ),
    # Substitutions
    pytest.param(
        body(("EmailMessage/Substitutions", "productName=CHEQUING")),
        [not_a("string", "object")],
        id="substitutions-string",
    ),
    pytest.param(
        body((SUBS, [{"productName": "SAVINGS"}])),
        [not_a("array", "object")],
        id="substitutions-list",
    ),
    pytest.param(
        body((SUBS, {f"k{n}": "v" for n in range(101)})),
        ["object has too many properties (found 101 but schema requires at most 100)"],
        id="101-substitutions",
    ),
    pytest.param(
        body((f"{SUBS}/accountBalance", 100.0)), [NOT_A_SUBSTITUTION], id="substitution-number"
    ),
    pytest.param(
        body((f"{SUBS}/accountBalance", None)), [NOT_A_SUBSTITUTION], id="substitution-null"
    ),
    pytest.param(
        body((f"{SUBS}/accountBalance", True)), [NOT_A_SUBSTITUTION], id="substitution-bool"
    ),
    pytest.param(
        body((f"{SUBS}/accountBalance", [])), [NOT_A_SUBSTITUTION], id="substitution-empty-list"
    ),
    pytest.param(
        body((f"{SUBS}/accountBalance", ["1", "2"])), [NOT_A_SUBSTITUTION], id="substitution-2-list"
    ),
    pytest.param(
        body((f"{SUBS}/accountBalance", [100])), [NOT_A_SUBSTITUTION], id="substitution-num-list"
    ),
    pytest.param(
        body((f"{SUBS}/accountBalance", {"v": "1"})), [NOT_A_SUBSTITUTION], id="substitution-obj"
    ),
    pytest.param(
        body(("EmailMessage/Substitutions/productName", 7)),
        [NOT_A_SUBSTITUTION],
        id="email-substitution-number",
    ),
    pytest.param(
        body((f"{SUBS}/accountBalance", "9" * 10_001)),
        [NOT_A_SUBSTITUTION],
        id="substitution-too-long",
    ),
    # The body itself
    pytest.param("[]", [not_a("array", "object")], id="body-array"),
    pytest.param('"send it"', [not_a("string", "object")], id="body-string"),
    pytest.param("42", [not_a("integer", "object")], id="body-number"),
    pytest.param("null", [not_a("null", "object")], id="body-null"),
    pytest.param("TraceId=1", ["Unknown error parsing request body"], id="not-json"),
    pytest.param('{"TraceId": "1",}', ["Unknown error parsing request body"], id="trailing-comma"),
    pytest.param('{"TraceId": NaN}', ["Unknown error parsing request body"], id="nan"),
    pytest.param(b"\xff\xfe{", ["Unknown error parsing request body"], id="not-utf8"),
    pytest.param(b"", ["Unknown error parsing request body"], id="body-empty"),
    pytest.param("  \n", ["Unknown error parsing request body"], id="body-blank"),
    pytest.param("[" * 100_000, ["Unknown error parsing request body"], id="nested-100000-deep"),
    pytest.param(
        '{"TraceId": "1", "Addresses": ' + '{"a": ' * 100_000,
        ["Unknown error parsing request body"],
        id="objects-nested-100000-deep",
    ),
]


@pytest.mark.parametrize(("raw", "reasons"), MALFORMED)
def test_malformed_requests_are_refused_with_api_gateways_reasons(raw, reasons):
    assert parse_and_validate(raw) == (None, reasons)


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


@pytest.mark.parametrize(
    ("request_body", "reasons"),
    [
        pytest.param(whatsapp(TemplateName="invitation"), [BOTH], id="template-and-body"),
        pytest.param(whatsapp(ContentSid=CONTENT_SID), [BOTH], id="content-and-body"),
        pytest.param(
            whatsapp(MessageBody=None, ContentVariables={"1": "x"}),
            [BOTH],
            id="variables-without-content",
        ),
        pytest.param(whatsapp(FromNumber=None), [missing("FromNumber")], id="no-from-number"),
        pytest.param(
            whatsapp(FromNumber="whatsapp:14155238886"),
            [no_match("^(whatsapp:)?\\+[1-9][0-9]{6,14}$", "whatsapp:14155238886")],
            id="from-without-plus",
        ),
        pytest.param(
            whatsapp(MessageBody=None, ContentSid="HX123"),
            [no_match("^HX[0-9a-fA-F]{32}$", "HX123")],
            id="content-sid-malformed",
        ),
        pytest.param(
            whatsapp(MessageBody=None, ContentSid=CONTENT_SID, ContentVariables={"1": 2}),
            [not_a("integer")],
            id="content-variable-number",
        ),
        pytest.param(
            whatsapp(MessageBody="m" * 1601),
            [f'string "{"m" * 1601}" is too long (length: 1601, maximum allowed: 1600)'],
            id="body-1601-chars",
        ),
        pytest.param(
            whatsapp(MediaUrl="https://example.com/a.png"),
            [not_allowed("MediaUrl")],
            id="extra-on-whatsapp",
        ),
    ],
)
def test_malformed_whatsapp_requests_are_refused_with_api_gateways_reasons(
    validator, request_body, reasons
):
    assert validator.errors(request_body) == reasons


# ---------------------------------------------------------------- which failures are reported


def test_a_failure_hides_every_failure_below_it():
    # fge goes down into a value's members only while nothing has failed yet.
    request = edited(
        ("TraceId", DROP),
        (f"{RECIPIENT}/ChannelType", "FAX"),
        ("EmailMessage/Subject", ""),
    )

    assert parse_and_validate(json.dumps(request))[1] == [missing("TraceId")]


def test_failures_side_by_side_are_all_reported_in_name_order():
    request = edited(
        ("Addresses", {PHONE: {"ChannelType": "FAX"}, "a@example.com": {}}),
        ("EmailMessage/Subject", ""),  # one level further down in EmailMessage: not reached
    )

    assert parse_and_validate(json.dumps(request))[1] == [
        f'instance value ("FAX") not found in enum (possible values: {CHANNELS})',
        missing("ChannelType"),
    ]


def test_the_failures_of_one_value_are_reported_in_the_order_of_their_keywords():
    request = edited(("TraceId", DROP), ("Urgency", "high"))

    assert parse_and_validate(json.dumps(request))[1] == [
        not_allowed("Urgency"),
        missing("TraceId"),
    ]


def test_the_items_of_an_array_are_checked_side_by_side():
    schema = {"M": {"properties": {"a": {"type": "array", "items": {"type": "string"}}}}}

    assert RequestValidator(schema).errors({"a": ["x", 1, None]}, "M") == [
        not_a("integer"),
        not_a("null"),
    ]


def test_one_of_counts_every_alternative_that_matches():
    schema = {"M": {"properties": {"x": {"oneOf": [{"type": "integer"}, {}, {"minimum": 5}]}}}}

    assert RequestValidator(schema).errors({"x": 1}, "M") == [
        "instance failed to match exactly one schema (matched 2 out of 3)"
    ]


# ---------------------------------------------------------------- single source of truth


def api_definition() -> dict[str, Any]:
    # Plain YAML: AWS::Include takes no short-form tags (!Sub), so the file must load without them.
    return yaml.safe_load(OPENAPI.read_text())


def test_the_api_body_is_api_openapi_yaml_included_by_the_template():
    template = json.loads(json.dumps(cfn_yaml.load(str(TEMPLATE))))

    assert template["Resources"]["Api"]["Properties"]["DefinitionBody"] == {
        "Fn::Transform": {"Name": "AWS::Include", "Parameters": {"Location": "api/openapi.yaml"}}
    }


def test_components_are_the_schemas_in_api_openapi_yaml():
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


def test_validator_follows_an_edited_openapi_file(tmp_path):
    shutil.copy(TEMPLATE, tmp_path / "template.yaml")
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "openapi.yaml").write_text(
        OPENAPI.read_text().replace(
            "enum: [EMAIL, SMS, WHATSAPP, VOICE]", "enum: [EMAIL, SMS, WHATSAPP, VOICE, PUSH]"
        )
    )
    request = edited((f"{RECIPIENT}/ChannelType", "PUSH"))

    assert RequestValidator().errors(request) != []
    assert RequestValidator(load_components(tmp_path / "template.yaml")).errors(request) == []


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


# Keywords that only choose where fge looks next, or say nothing: none has a message of its own.
STRUCTURAL = {"properties", "patternProperties", "items", "$ref", "description"}


def test_every_keyword_the_models_use_has_api_gateways_words():
    used = {kw for name, schema in load_components().items() for _, kw in _keywords(schema, name)}

    assert used - STRUCTURAL - MAPPED_KEYWORDS == set()


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
    ("raw", "field", "value"),
    [
        pytest.param(
            raw_body("EmailMessage/Subject", f"Alert {LONE}"),
            "EmailMessage/Subject",
            "Alert \ud800",
            id="subject-lone-high-surrogate",
        ),
        pytest.param(
            raw_body("EmailMessage/Subject", "Alert\\r\\nBcc: x@example.net"),
            "EmailMessage/Subject",
            "Alert\r\nBcc: x@example.net",
            id="subject-line-break",
        ),
        pytest.param(
            raw_body("EmailMessage/HtmlBody", "<p>\\udc00</p>"),
            "EmailMessage/HtmlBody",
            "<p>\udc00</p>",
            id="html-lone-low-surrogate",
        ),
        pytest.param(
            raw_body("EmailMessage/TextBody", "a\\u0000b"),
            "EmailMessage/TextBody",
            "a\x00b",
            id="text-nul",
        ),
        pytest.param(
            raw_body("SMSMessage/MessageBody", f"x{LONE}", ("SMSMessage/TemplateName", DROP)),
            "SMSMessage/MessageBody",
            "x\ud800",
            id="sms-body",
        ),
    ],
)
def test_text_no_provider_can_carry_fails_its_fields_pattern(raw, field, value):
    block, name = field.split("/")
    pattern = load_components()[block]["properties"][name]["pattern"]

    assert parse_and_validate(raw) == (None, [no_match(pattern, value)])


@pytest.mark.parametrize(
    ("path", "value", "decoded"),
    [
        pytest.param(
            "EmailMessage/Substitutions/productName",
            f"{LONE}\\ude00\\ude00",
            "\U00010200\ude00",
            id="substitution-pair-then-lone-low",
        ),
        pytest.param(
            f"Addresses/{PHONE}/Substitutions/accountBalance",
            f"1{LONE}",
            "1\ud800",
            id="recipient-substitution",
        ),
    ],
)
def test_a_substitution_no_provider_can_carry_fits_neither_form(path, value, decoded):
    raw = raw_body(path, value)

    assert json.loads(raw) == edited((path, decoded))
    assert parse_and_validate(raw) == (None, [NOT_A_SUBSTITUTION])


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
def test_an_address_key_over_its_limit_is_not_allowed(validator, address, length):
    request = edited(("Addresses", {address: {"ChannelType": "EMAIL"}}))

    assert len(address) == length
    assert validator.errors(request) == [not_allowed(address)]


def raw_address_key(key: str) -> str:
    """BASE with its e-mail recipient's key replaced by `key` as written into the JSON text."""
    return json.dumps(BASE).replace('"user@example.com":', f'"{key}":')


@pytest.mark.parametrize(
    ("raw_key", "key"),
    [
        pytest.param(f"p{LONE}@example.com", "p\ud800@example.com", id="lone-high-surrogate"),
        pytest.param("p\\udc00@example.com", "p\udc00@example.com", id="lone-low-surrogate"),
        pytest.param(f"{EMOJI_ESCAPED[:6]}@example.com", "\ud83d@example.com", id="half-an-emoji"),
        pytest.param("p\\u0000@example.com", "p\x00@example.com", id="nul-in-an-email"),
        pytest.param("+1604\\u00008621234", "+1604\x008621234", id="nul-in-a-phone-number"),
        pytest.param("user@example.com\\r\\n", "user@example.com\r\n", id="line-break"),
        pytest.param("+1604862\\t1234", "+1604862\t1234", id="tab-in-a-phone-number"),
    ],
)
def test_an_address_key_that_cannot_be_stored_is_not_allowed_naming_it(raw_key, key):
    raw = raw_address_key(raw_key)

    assert key in json.loads(raw)["Addresses"]
    # Named as a JSON string: a control character escaped, a lone surrogate as it is.
    named = json.dumps(key, ensure_ascii=False)[1:-1]
    assert parse_and_validate(raw) == (None, [not_allowed(named)])


@pytest.mark.parametrize(
    "raw_key",
    [
        pytest.param(f"{EMOJI_ESCAPED}@example.com", id="escaped-emoji-local-part"),
        pytest.param("\U0001f600@example.com", id="raw-emoji-local-part"),
        pytest.param("jos\u00e9@b\u00fccher.de", id="accented"),
    ],
)
def test_an_email_key_with_a_surrogate_pair_or_accents_is_valid(raw_key):
    assert parse_and_validate(raw_address_key(raw_key))[1] == []


def test_a_fallback_address_that_cannot_be_stored_fails_its_pattern():
    fallback = [{"ChannelType": "EMAIL", "Address": "@@"}]
    raw = (
        raw_body(f"Addresses/{PHONE}/Fallback", "@@")
        .replace('"@@"', json.dumps(fallback))
        .replace('"Address": "@@"', f'"Address": "p{LONE}@example.com"')
    )
    pattern = load_components()["Recipient"]["properties"]["Fallback"]["items"]["properties"][
        "Address"
    ]["pattern"]

    assert parse_and_validate(raw) == (None, [no_match(pattern, "p\ud800@example.com")])


def test_a_fallback_address_has_the_address_keys_pattern():
    components = load_components()
    [key_pattern] = components["SendRequest"]["properties"]["Addresses"]["patternProperties"]
    fallback = components["Recipient"]["properties"]["Fallback"]["items"]["properties"]

    assert fallback["Address"]["pattern"] == key_pattern


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node for an ECMA 262 engine")
def test_the_address_key_pattern_behaves_alike_in_an_ecma_262_engine():
    [pattern] = load_components()["SendRequest"]["properties"]["Addresses"]["patternProperties"]
    samples = [LONGEST_EMAIL, "x" + LONGEST_EMAIL, LONGEST_PHONE, LONGEST_PHONE + "1", "a@b"]
    samples += ["p\ud800@example.com", "a\x00@b.c", "+1604\n1234", "\U0001f600@example.com"]
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

    assert json.loads(answer.stdout) == [True, False, True, False, True, False, False, False, True]


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
        pytest.param({"parent_tel": DROP}, missing("parent_tel"), id="missing"),
        pytest.param(
            {"parent_tel": "07835 065013"},
            no_match("^\\+[1-9][0-9]{6,14}$", "07835 065013"),
            id="not-e164",
        ),
        pytest.param(
            {"membership_fee_amount": "£40"},
            no_match("^[0-9]{1,7}(\\.[0-9]{2})?$", "£40"),
            id="amount",
        ),
        pytest.param(
            {"team_name": ""},
            'string "" is too short (length: 0, required minimum: 1)',
            id="empty-name",
        ),
        pytest.param(
            {"parent_first_name": "Jane\nSmith"},
            no_match(load_components()["RecordName"]["pattern"], "Jane\nSmith"),
            id="control-character",
        ),
        pytest.param({"age_group": 11}, not_a("integer"), id="type"),
        pytest.param(
            {"extra": {"nested": True}},
            "instance type (object) does not match any allowed primitive type "
            '(allowed: ["boolean","integer","null","number","string"])',
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
        pytest.param(
            {},
            ["object has too few properties (found 0 but schema requires at least 1)"],
            id="empty",
        ),
        pytest.param(
            {"a": ["x"]},
            [
                "instance type (array) does not match any allowed primitive type "
                '(allowed: ["boolean","integer","null","number","string"])'
            ],
            id="list",
        ),
        pytest.param(
            {"a": "\u0000"},
            [no_match(load_components()["TriggerValue"]["pattern"], "\u0000")],
            id="nul",
        ),
        pytest.param(
            {f"k{i}": "v" for i in range(101)},
            ["object has too many properties (found 101 but schema requires at most 100)"],
            id="too-many",
        ),
    ],
)
def test_a_named_triggers_record_is_flat(record, reasons):
    assert parse_and_validate(json.dumps(record), "TriggerRecord")[1] == reasons


# ---------------------------------------------------------------- SendAt, fallbacks


def with_fallback(*fallbacks: dict[str, str], **fields: Any) -> dict[str, Any]:
    request = copy.deepcopy(WHATSAPP) | fields
    request["Addresses"] = {
        "whatsapp:+447835065013": {"ChannelType": "WHATSAPP", "Fallback": list(fallbacks)}
    }
    return request


SMS_FALLBACK = {"ChannelType": "SMS", "Address": "+447835065013"}


@pytest.mark.parametrize(
    "request_body",
    [
        pytest.param(
            with_fallback(SMS_FALLBACK, SMSMessage={"MessageBody": "Hi"}), id="sms-fallback"
        ),
        pytest.param(WHATSAPP | {"SendAt": "2026-12-01T09:00:00Z"}, id="send-at-utc"),
        pytest.param(WHATSAPP | {"SendAt": "2026-12-01T09:00:00.5+01:00"}, id="send-at-offset"),
        pytest.param(WHATSAPP | {"FallbackOnOptOut": True}, id="fallback-on-opt-out"),
    ],
)
def test_scheduled_and_fallback_requests_are_valid(validator, request_body):
    assert validator.errors(request_body) == []


def test_a_fallback_without_its_channels_block_is_refused(validator):
    assert validator.errors(with_fallback(SMS_FALLBACK)) == [
        "instance failed to match all required schemas (matched only 3 out of 4)"
    ]


def test_a_send_at_without_an_offset_is_refused(validator):
    [reason] = validator.errors(WHATSAPP | {"SendAt": "2026-12-01T09:00:00"})

    assert reason.startswith("ECMA 262 regex")
