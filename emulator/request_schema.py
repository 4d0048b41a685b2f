"""The API's request models, read from template.yaml and applied as API Gateway applies them.

API Gateway validates request bodies against the OpenAPI `components.schemas` as JSON Schema
draft-04: `SendRequest` (POST /), `RegistrationRecord` (POST /trigger), `TriggerRecord`
(POST /trigger/{name}). The local API and the tests validate with that very text, so they
cannot drift.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml
from jsonschema import Draft4Validator, ValidationError
from jsonschema.exceptions import best_match
from jsonschema.validators import extend
from referencing import Registry
from referencing.jsonschema import DRAFT4

from notify.domain.content import describe

TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"

# The components are registered under this URI so "#/components/schemas/X" resolves inside them.
_ROOT_URI = "urn:template"
SEND_REQUEST = "SendRequest"

# Combinators fail with "... is not valid under any of the given schemas" plus a dump of the
# value; these sentences say what to change instead. Keys are JSON pointers into the components.
_SENTENCES = {
    "SendRequest/anyOf": "the request needs an EmailMessage, an SMSMessage or a WhatsAppMessage",
    "EmailMessage/not": "give either TemplateName or an inline HtmlBody/TextBody, not both",
    "SMSMessage/not": "give either TemplateName or MessageBody, not both",
    "WhatsAppMessage/not": (
        "give at most one of TemplateName, MessageBody or ContentSid; "
        "ContentVariables go with a ContentSid"
    ),
    "Substitutions/additionalProperties/oneOf": "must be a string or a one-element list of strings",
    "RegistrationRecord/properties/parent_tel/pattern": (
        "must be the parent's mobile number in E.164: + then the country code and number, "
        "digits only (e.g. +447835065013)"
    ),
    "RecordAmount/pattern": "must be an amount of digits, optionally with 2 decimals (e.g. 40)",
}

# Python's `$` also matches before a final "\n"; ECMA 262's, which API Gateway uses, does not.
# So "a@b.c\n" would pass here and fail there: anchor `$` outside character classes at the end.
_DOLLAR = re.compile(r"\\.|\[(?:\\.|[^\]\\])*\]|\$")


def load_components(template_path: Path = TEMPLATE) -> dict[str, Any]:
    """The API's `components.schemas` mapping, as plain dicts and lists."""
    template = cfn_yaml.load(str(template_path))
    schemas = template["Resources"]["Api"]["Properties"]["DefinitionBody"]["components"]["schemas"]
    # cfn-lint returns node subclasses carrying source marks; callers want plain data.
    return json.loads(json.dumps(schemas))


# Characters the free-text patterns may refuse (control characters, unpaired surrogates).
_CONTROL_OR_SURROGATE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
_ANY_PRINTABLE_TEXT = "Any text: \u00e9 \u20ac <b>; {x} \U0001f600"


@cache
def _ecma_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(_DOLLAR.sub(lambda m: r"\Z" if m[0] == "$" else m[0], pattern))


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _ecma_regex(pattern).search(instance):
        yield ValidationError(f"{_short(instance)} does not match {pattern!r}")


_Validator = extend(Draft4Validator, {"pattern": _pattern})


class RequestValidator:
    """Checks a decoded request body against one of the models and explains each failure."""

    def __init__(self, components: dict[str, Any] | None = None) -> None:
        self.components = load_components() if components is None else components
        for schema in self.components.values():
            Draft4Validator.check_schema(schema)  # a malformed template fails here, not per request
        root = DRAFT4.create_resource({"components": {"schemas": self.components}})
        registry = Registry().with_resource(_ROOT_URI, root)
        self._validators = {
            model: _Validator(
                {"$ref": f"{_ROOT_URI}#/components/schemas/{model}"}, registry=registry
            )
            for model in self.components
        }
        # Errors carry the very keyword value they failed on, so identity finds the sentence.
        self._sentences = {
            id(_resolve(self.components, pointer)): text
            for pointer, text in _SENTENCES.items()
            if pointer.split("/", 1)[0] in self.components
        }

    def errors(self, body: Any, model: str = SEND_REQUEST) -> list[str]:
        """Why `body` does not fit `model`, each reason prefixed by the offending value's path."""
        failures = list(self._validators[model].iter_errors(body))
        # A value of the wrong type also trips keywords that pass vacuously on it (a string is
        # valid under `required`, so fails `not: {required}`): report its type alone.
        mistyped = {tuple(e.absolute_path) for e in failures if e.validator == "type"}
        found = sorted(
            self._explain(e)
            for e in failures
            if e.validator == "type" or tuple(e.absolute_path) not in mistyped
        )
        return [f"{'.'.join(path)}: {text}" if path else text for path, text in found]

    def _explain(self, error: ValidationError) -> tuple[list[str], str]:
        sentence = self._sentences.get(id(error.validator_value))
        # A string fails the alternatives only on its own branch's limits (e.g. too long): say so.
        combinator = error.validator in ("anyOf", "oneOf")
        if combinator and (sentence is None or isinstance(error.instance, str)):
            best = best_match([error])  # descends into the branch the value fits best, if any
            if best is not error:
                return self._explain(best)
        path = [str(part) for part in error.absolute_path]
        return path, sentence or _describe(error)


@cache
def _default_validator() -> RequestValidator:
    return RequestValidator()


def parse_and_validate(
    raw: bytes | str, model: str = SEND_REQUEST
) -> tuple[dict[str, Any] | None, list[str]]:
    """Decode and check a request body against `model`: (body, []) when valid, else (None, why)."""
    if not raw.strip():
        return None, ["the body is empty; send a JSON object"]
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        return None, [
            f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ]
    except ValueError as exc:  # undecodable bytes, NaN/Infinity
        return None, [f"the body is not valid JSON: {exc}"]
    if not isinstance(body, dict):
        return None, [f"the body must be a JSON object, not {_a(_json_type(body))}"]
    reasons = _default_validator().errors(body, model)
    return (None if reasons else body), reasons


def _reject_constant(name: str) -> Any:
    # Python accepts NaN and Infinity; JSON (and API Gateway) does not.
    raise ValueError(f"{name} is not a JSON value")


def _resolve(document: dict[str, Any], pointer: str) -> Any:
    for part in pointer.split("/"):
        document = document[part]
    return document


def _describe(error: ValidationError) -> str:
    """jsonschema's messages repeat the whole value; these state the rule broken instead."""
    limit, value = error.validator_value, error.instance
    match error.validator:
        case "type":
            expected = " or ".join(map(_a, limit)) if isinstance(limit, list) else _a(limit)
            return f"must be {expected}, not {_a(_json_type(value))}"
        case "minLength" | "minProperties" | "minItems" if limit == 1:
            return "must not be empty"
        case "minLength" | "maxLength":
            bound = "least" if error.validator == "minLength" else "most"
            return f"must be at {bound} {limit} characters long, not {len(value)}"
        case "minProperties" | "maxProperties":
            bound = "least" if error.validator == "minProperties" else "most"
            return f"must have at {bound} {limit} entries, not {len(value)}"
        case "minItems" | "maxItems":
            bound = "least" if error.validator == "minItems" else "most"
            return f"must have at {bound} {limit} items, not {len(value)}"
        case "enum":
            return f"{_short(value)} is not one of {limit!r}"
        case "pattern" if (refused := _refused_character(limit, value)) is not None:
            return refused
        case "additionalProperties" if limit is False and "patternProperties" not in error.schema:
            allowed = error.schema.get("properties", {})
            extra = [repr(key) for key in value if key not in allowed]
            noun = "property" if len(extra) == 1 else "properties"
            return f"unexpected {noun} {', '.join(extra)}; allowed are {', '.join(allowed)}"
        case "additionalProperties" if limit is False and "patternProperties" in error.schema:
            # Keys matching no pattern (draft-04 has no propertyNames): say what a key may be.
            patterns = [_ecma_regex(pattern) for pattern in error.schema["patternProperties"]]
            extra = [key for key in value if not any(p.search(key) for p in patterns)]
            keys = ", ".join(f"{_short(key)} ({len(key)} characters)" for key in extra)
            return f"{keys}: {error.schema.get('description', 'not an allowed key')}"
    return error.message


def _refused_character(pattern: str, value: str) -> str | None:
    """Which character broke `pattern`, when only control characters or surrogates did.

    The free-text patterns are unreadable in an error; the character and its place are not.
    Other patterns (a TraceId's, an address's) keep the plain message showing the value.
    """
    regex = _ecma_regex(pattern)
    if not regex.search(_ANY_PRINTABLE_TEXT):
        return None  # not a free-text pattern
    if not regex.search(_CONTROL_OR_SURROGATE.sub("", value)):
        return None  # something else is wrong too: the plain "does not match" says it
    for found in _CONTROL_OR_SURROGATE.finditer(value):
        if not regex.search(found[0]):
            return (
                f"must not contain {describe(found[0])} (character {found.start() + 1}): "
                "no provider can carry it"
            )
    return None


def _json_type(value: Any) -> str:
    for name, kind in (("null", type(None)), ("boolean", bool), ("number", int | float)):
        if isinstance(value, kind):
            return name
    return {dict: "object", list: "array", str: "string"}.get(type(value), type(value).__name__)


def _a(type_name: str) -> str:
    if type_name == "null":
        return type_name
    return ("an " if type_name[0] in "aeiou" else "a ") + type_name


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
