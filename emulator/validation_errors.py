"""API Gateway's words for a request body its model refuses: `$context.error.validationErrorString`.

API Gateway validates bodies with the Java json-schema-validator (fge, draft-04) and reports
its messages as one bracketed, comma-separated list, e.g. `[object has missing required
properties (["Addresses"])]`. This module turns the errors python-jsonschema finds at one place
of a body into those messages, worded as fge's validation.properties words them; the order in
which places are checked is request_schema.RequestValidator's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from jsonschema import ValidationError

# What API Gateway reports for a body that is not JSON at all (empty, truncated, NaN...).
UNPARSABLE_BODY = "Unknown error parsing request body"

# Python's `$` also matches before a final "\n"; ECMA 262's, which fge uses, does not.
# So "a@b.c\n" would pass here and fail there: anchor `$` outside character classes at the end.
_DOLLAR = re.compile(r"\\.|\[(?:\\.|[^\]\\])*\]|\$")


def validation_error_string(messages: Iterable[str]) -> str:
    """The list as API Gateway prints it (a Java List's toString)."""
    return "[" + ", ".join(messages) + "]"


@cache
def ecma_regex(pattern: str) -> re.Pattern[str]:
    """`pattern` as fge matches it: ECMA 262, searched anywhere unless anchored."""
    return re.compile(_DOLLAR.sub(lambda m: r"\Z" if m[0] == "$" else m[0], pattern))


def messages(errors: Iterable[ValidationError]) -> list[str]:
    """fge's messages for python-jsonschema's errors at one value against one schema.

    fge runs a schema's keywords in the order of their names and reports each at most once
    (`required` names every missing property in one message).
    """
    first: dict[str, ValidationError] = {}
    for error in errors:
        first.setdefault(str(error.validator), error)
    return [_message(keyword, first[keyword]) for keyword in sorted(first)]


def java_order(names: Iterable[str]) -> list[str]:
    """Names sorted as Java sorts strings (by UTF-16 code unit), as fge lists and visits them."""
    return sorted(names, key=lambda name: name.encode("utf-16-be", "surrogatepass"))


def unexpected_properties(instance: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """The members that neither `properties` nor a `patternProperties` regex admits."""
    patterns = [ecma_regex(pattern) for pattern in schema.get("patternProperties", {})]
    return java_order(
        name
        for name in instance
        if name not in schema.get("properties", {}) and not any(p.search(name) for p in patterns)
    )


def _message(keyword: str, error: ValidationError) -> str:
    build = _MESSAGES.get(keyword)
    if build is None:
        raise ValueError(f"no fge message for the keyword {keyword!r}: add it to {__name__}")
    return build(error.validator_value, error.instance, error)


def _json(value: Any) -> str:
    # Jackson's JsonNode.toString: compact, non-ASCII as is.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    kinds = {float: "number", str: "string", list: "array", dict: "object", type(None): "null"}
    return kinds[type(value)]


# fge's NodeType order; a schema allowing "number" also allows "integer".
_TYPES = ("array", "boolean", "integer", "null", "number", "object", "string")


def _allowed_types(declared: str | list[str]) -> list[str]:
    allowed = {declared} if isinstance(declared, str) else set(declared)
    if "number" in allowed:
        allowed.add("integer")
    return [name for name in _TYPES if name in allowed]


def _matched(subschemas: list[Any], error: ValidationError) -> int:
    # Each failing alternative leaves its errors in the context, under its index.
    failed = {sub.relative_schema_path[0] for sub in error.context}
    return len(subschemas) - len(failed)


_Build = Callable[[Any, Any, ValidationError], str]

# One per keyword the request models use; the wording is fge's validation.properties.
_MESSAGES: dict[str, _Build] = {
    "type": lambda declared, value, _: (
        f"instance type ({_type_name(value)}) does not match any allowed primitive type "
        f"(allowed: {_json(_allowed_types(declared))})"
    ),
    "enum": lambda values, value, _: (
        f"instance value ({_json(value)}) not found in enum (possible values: {_json(values)})"
    ),
    "required": lambda names, value, _: (
        "object has missing required properties "
        f"({_json([name for name in java_order(names) if name not in value])})"
    ),
    "additionalProperties": lambda _, value, error: (
        "object instance has properties which are not allowed by the schema: "
        f"{_json(unexpected_properties(value, error.schema))}"
    ),
    # Only the property form (`{"TemplateVersion": ["TemplateName"]}`) is used.
    "dependencies": lambda deps, value, _: next(
        f'property "{name}" of object has missing property dependencies (schema requires '
        f"{_json(java_order(needed))}; missing: "
        f"{_json(java_order(n for n in needed if n not in value))})"
        for name, needed in sorted(deps.items())
        if name in value and any(n not in value for n in needed)
    ),
    "minProperties": lambda limit, value, _: (
        f"object has too few properties (found {len(value)} but schema requires at least {limit})"
    ),
    "maxProperties": lambda limit, value, _: (
        f"object has too many properties (found {len(value)} but schema requires at most {limit})"
    ),
    "minItems": lambda limit, value, _: (
        f"array is too short: must have at least {limit} elements "
        f"but instance has {len(value)} elements"
    ),
    "maxItems": lambda limit, value, _: (
        f"array is too long: must have at most {limit} elements "
        f"but instance has {len(value)} elements"
    ),
    "minLength": lambda limit, value, _: (
        f'string "{value}" is too short (length: {len(value)}, required minimum: {limit})'
    ),
    "maxLength": lambda limit, value, _: (
        f'string "{value}" is too long (length: {len(value)}, maximum allowed: {limit})'
    ),
    "minimum": lambda limit, value, _: (
        f"numeric instance is lower than the required minimum (minimum: {limit}, found: {value})"
    ),
    "maximum": lambda limit, value, _: (
        f"numeric instance is greater than the required maximum (maximum: {limit}, found: {value})"
    ),
    "pattern": lambda regex, value, _: (
        f'ECMA 262 regex "{regex}" does not match input string "{value}"'
    ),
    "anyOf": lambda subschemas, _, __: (
        f"instance failed to match at least one required schema among {len(subschemas)}"
    ),
    "oneOf": lambda subschemas, _, error: (
        "instance failed to match exactly one schema "
        f"(matched {_matched(subschemas, error)} out of {len(subschemas)})"
    ),
    "not": lambda _, __, ___: "instance matched a schema which it should not have",
    "allOf": lambda subschemas, _, error: (
        "instance failed to match all required schemas "
        f"(matched only {_matched(subschemas, error)} out of {len(subschemas)})"
    ),
}

MAPPED_KEYWORDS = frozenset(_MESSAGES)
