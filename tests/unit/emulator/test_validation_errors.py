"""python-jsonschema's errors in API Gateway's words (fge json-schema-validator, draft-04)."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft4Validator

from emulator.validation_errors import (
    UNPARSABLE_BODY,
    ecma_regex,
    java_order,
    messages,
    validation_error_string,
)


def said(schema: dict[str, Any], instance: Any) -> list[str]:
    """What API Gateway says about `instance` at this one place of the body."""
    return messages(e for e in Draft4Validator(schema).iter_errors(instance) if not e.path)


@pytest.mark.parametrize(
    ("schema", "instance", "message"),
    [
        pytest.param(
            {"type": "integer", "minimum": 1},
            0,
            "numeric instance is lower than the required minimum (minimum: 1, found: 0)",
            id="minimum",
        ),
        pytest.param(
            {"type": "integer", "maximum": 86400},
            86401,
            "numeric instance is greater than the required maximum (maximum: 86400, found: 86401)",
            id="maximum",
        ),
        pytest.param(
            {"type": "string"},
            12345,
            "instance type (integer) does not match any allowed primitive type "
            '(allowed: ["string"])',
            id="type-integer",
        ),
        pytest.param(
            {"type": "object"},
            [1],
            'instance type (array) does not match any allowed primitive type (allowed: ["object"])',
            id="type-array",
        ),
        pytest.param(
            {"type": "string"},
            1.5,
            "instance type (number) does not match any allowed primitive type "
            '(allowed: ["string"])',
            id="type-number",
        ),
        pytest.param(
            {"type": "string"},
            True,
            "instance type (boolean) does not match any allowed primitive type "
            '(allowed: ["string"])',
            id="type-boolean",
        ),
        pytest.param(
            {"type": "string"},
            None,
            'instance type (null) does not match any allowed primitive type (allowed: ["string"])',
            id="type-null",
        ),
        pytest.param(
            {"type": ["string", "number", "boolean", "null"]},
            {},
            "instance type (object) does not match any allowed primitive type "
            '(allowed: ["boolean","integer","null","number","string"])',
            id="type-list-in-fge-order-number-admits-integer",
        ),
        pytest.param(
            {"enum": ["EMAIL", "SMS", "WHATSAPP"]},
            "FAX",
            'instance value ("FAX") not found in enum '
            '(possible values: ["EMAIL","SMS","WHATSAPP"])',
            id="enum",
        ),
        pytest.param(
            {"required": ["TraceId", "Addresses", "EmailMessage"]},
            {"EmailMessage": {}},
            'object has missing required properties (["Addresses","TraceId"])',
            id="required-every-missing-name-sorted-in-one-message",
        ),
        pytest.param(
            {"properties": {"TraceId": {}}, "additionalProperties": False},
            {"TraceId": "t", "x": 1, "Priority": "high"},
            'object instance has properties which are not allowed by the schema: ["Priority","x"]',
            id="additional-properties-sorted",
        ),
        pytest.param(
            {"patternProperties": {"^a": {}}, "additionalProperties": False},
            {"ab": 1, 'q"\n': 2},
            'object instance has properties which are not allowed by the schema: ["q\\"\\n"]',
            id="additional-properties-as-json",
        ),
        pytest.param(
            {"minProperties": 1},
            {},
            "object has too few properties (found 0 but schema requires at least 1)",
            id="min-properties",
        ),
        pytest.param(
            {"maxProperties": 100},
            {f"k{n}": n for n in range(101)},
            "object has too many properties (found 101 but schema requires at most 100)",
            id="max-properties",
        ),
        pytest.param(
            {"minItems": 1},
            [],
            "array is too short: must have at least 1 elements but instance has 0 elements",
            id="min-items",
        ),
        pytest.param(
            {"maxItems": 100},
            list(range(101)),
            "array is too long: must have at most 100 elements but instance has 101 elements",
            id="max-items",
        ),
        pytest.param(
            {"minLength": 1},
            "",
            'string "" is too short (length: 0, required minimum: 1)',
            id="min-length",
        ),
        pytest.param(
            {"maxLength": 998},
            "s" * 999,
            f'string "{"s" * 999}" is too long (length: 999, maximum allowed: 998)',
            id="max-length-quotes-the-whole-value",
        ),
        pytest.param(
            {"maxLength": 1},
            "\U0001f600\U0001f600",
            'string "\U0001f600\U0001f600" is too long (length: 2, maximum allowed: 1)',
            id="max-length-counts-code-points",
        ),
        pytest.param(
            {"pattern": "^[A-Za-z0-9._-]{1,128}$"},
            'low "balance"',
            'ECMA 262 regex "^[A-Za-z0-9._-]{1,128}$" does not match input string "low "balance""',
            id="pattern-quotes-regex-and-value-as-they-are",
        ),
        pytest.param(
            {"anyOf": [{"required": ["EmailMessage"]}, {"required": ["SMSMessage"]}]},
            {},
            "instance failed to match at least one required schema among 2",
            id="any-of",
        ),
        pytest.param(
            {"oneOf": [{"type": "string"}, {"type": "array"}]},
            7,
            "instance failed to match exactly one schema (matched 0 out of 2)",
            id="one-of-none",
        ),
        pytest.param(
            {"not": {"required": ["TemplateName", "MessageBody"]}},
            {"TemplateName": "t", "MessageBody": "m"},
            "instance matched a schema which it should not have",
            id="not",
        ),
    ],
)
def test_each_keyword_is_reported_in_fges_words(schema, instance, message):
    assert said(schema, instance) == [message]


def test_the_keywords_of_one_value_are_reported_in_the_order_of_their_names():
    schema = {
        "type": "object",
        "required": ["TraceId"],
        "properties": {"TraceId": {}},
        "additionalProperties": False,
        "not": {"required": ["x"]},
    }

    assert said(schema, {"x": 1}) == [
        'object instance has properties which are not allowed by the schema: ["x"]',
        "instance matched a schema which it should not have",
        'object has missing required properties (["TraceId"])',
    ]


def test_a_value_that_fits_gets_no_message():
    assert said({"type": "string", "maxLength": 3}, "abc") == []


def test_the_string_is_the_list_api_gateway_prints():
    assert validation_error_string(["a (b)", 'c ["d"]']) == '[a (b), c ["d"]]'
    assert validation_error_string([UNPARSABLE_BODY]) == "[Unknown error parsing request body]"


def test_a_keyword_without_fges_words_fails_loudly():
    with pytest.raises(ValueError, match="'multipleOf'"):
        said({"multipleOf": 2}, 3)


def test_names_sort_as_java_sorts_strings():
    # By UTF-16 code unit: U+FF5E (one unit) sorts after U+1F600 (a surrogate pair, 0xD83D...).
    assert java_order(["\uff5e", "\U0001f600", "B", "a"]) == ["B", "a", "\U0001f600", "\uff5e"]


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        pytest.param("^a$", "a\n", False, id="dollar-is-the-very-end"),
        pytest.param("^[$]$", "$", True, id="dollar-in-a-class-is-literal"),
        pytest.param("b", "abc", True, id="unanchored-searches"),
    ],
)
def test_regexes_match_as_ecma_262_does(pattern, text, matches):
    assert bool(ecma_regex(pattern).search(text)) is matches
