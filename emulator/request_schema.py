"""The API's request models, read from api/openapi.yaml and applied as API Gateway applies them.

API Gateway validates request bodies against the OpenAPI `components.schemas` as JSON Schema
draft-04: `SendRequest` (POST /), `RegistrationRecord` (POST /trigger), `TriggerRecord`
(POST /trigger/{name}). The local API and the tests validate with that very text (the file
template.yaml's Api includes), so they cannot drift; a refused body gets API Gateway's own
messages (emulator/validation_errors.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator, ValidationError
from jsonschema.validators import extend
from referencing import Registry
from referencing.jsonschema import DRAFT4

from emulator.stack import TEMPLATE, load_template
from emulator.validation_errors import (
    UNPARSABLE_BODY,
    ecma_regex,
    java_order,
    messages,
    unexpected_properties,
)

# The components are registered under this URI so "#/components/schemas/X" resolves inside them.
_ROOT_URI = "urn:template"
SEND_REQUEST = "SendRequest"


def load_components(template_path: Path = TEMPLATE) -> dict[str, Any]:
    """The API's `components.schemas` mapping, as plain dicts and lists."""
    api = load_template(template_path)["Resources"]["Api"]["Properties"]["DefinitionBody"]
    # cfn-lint returns node subclasses carrying source marks; callers want plain data.
    return json.loads(json.dumps(api["components"]["schemas"]))


# fge matches every regex as ECMA 262 (patterns, and the keys patternProperties admit), and
# says how many alternatives of a oneOf matched: these keywords do the same, and a oneOf's
# error keeps every failing alternative's errors (under its index) for that count.
def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not ecma_regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, patterns: dict[str, Any], instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for name, value in instance.items():
            if ecma_regex(pattern).search(name):
                yield from validator.descend(value, subschema, path=name, schema_path=pattern)


def _additional_properties(
    validator: Any, additional: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    extras = unexpected_properties(instance, schema)
    if validator.is_type(additional, "object"):
        for name in extras:
            yield from validator.descend(instance[name], additional, path=name)
    elif additional is False and extras:
        yield ValidationError(f"unexpected properties {extras}")


def _one_of(
    validator: Any, subschemas: list[Any], instance: Any, schema: Any
) -> Iterator[ValidationError]:
    failures = [
        list(validator.descend(instance, sub, schema_path=i)) for i, sub in enumerate(subschemas)
    ]
    if sum(not failed for failed in failures) != 1:
        context = [error for failed in failures for error in failed]
        yield ValidationError("not valid under exactly one of the schemas", context=context)


def _all_of(
    validator: Any, subschemas: list[Any], instance: Any, schema: Any
) -> Iterator[ValidationError]:
    # fge reports allOf as one failure of its own, not its members' failures.
    failures = [
        list(validator.descend(instance, sub, schema_path=i)) for i, sub in enumerate(subschemas)
    ]
    if any(failures):
        context = [error for failed in failures for error in failed]
        yield ValidationError("not valid under all of the schemas", context=context)


_Validator = extend(
    Draft4Validator,
    {
        "pattern": _pattern,
        "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties,
        "oneOf": _one_of,
        "allOf": _all_of,
    },
)


class RequestValidator:
    """Checks a decoded request body against one of the models, as API Gateway reports it."""

    def __init__(self, components: dict[str, Any] | None = None) -> None:
        self.components = load_components() if components is None else components
        for schema in self.components.values():
            Draft4Validator.check_schema(schema)  # a malformed template fails here, not per request
        self._document = {"components": {"schemas": self.components}}
        self._registry = Registry().with_resource(_ROOT_URI, DRAFT4.create_resource(self._document))
        self._validators: dict[str, Any] = {}

    def errors(self, body: Any, model: str = SEND_REQUEST) -> list[str]:
        """API Gateway's messages for `body` against `model`, in its order ([] when it fits).

        fge checks every keyword of a schema on one value, then goes down into the value's
        members (in name order) only while nothing has failed anywhere yet. So it reports
        the failures of the first failing value and of the values checked beside it, never
        those further down.
        """
        found: list[str] = []
        self._check(f"/components/schemas/{_escape(model)}", body, found)
        return found

    def _check(self, pointer: str, value: Any, found: list[str]) -> None:
        pointer, schema = self._resolve(pointer)
        # Errors at the value itself; those of its members come from the walk below.
        found.extend(messages(e for e in self._validator(pointer).iter_errors(value) if not e.path))
        if found:
            return
        if isinstance(value, dict):
            for name in java_order(value):
                for member_pointer in _member_schemas(pointer, schema, name):
                    self._check(member_pointer, value[name], found)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                for item_pointer in _item_schemas(pointer, schema, index):
                    self._check(item_pointer, item, found)

    def _resolve(self, pointer: str) -> tuple[str, dict[str, Any]]:
        """The schema at `pointer`, following `$ref`s (all local: "#/components/schemas/X")."""
        schema: Any = self._document
        for part in pointer.split("/")[1:]:
            schema = schema[_unescape(part)]
        reference = schema.get("$ref")
        if reference is None:
            return pointer, schema
        if not reference.startswith("#/"):
            raise ValueError(f"{pointer}: only local $refs are read, not {reference}")
        return self._resolve(reference[1:])

    def _validator(self, pointer: str) -> Any:
        if pointer not in self._validators:
            reference = {"$ref": f"{_ROOT_URI}#{pointer}"}
            self._validators[pointer] = _Validator(reference, registry=self._registry)
        return self._validators[pointer]


def _member_schemas(pointer: str, schema: dict[str, Any], name: str) -> list[str]:
    """The subschemas a member is checked against, as fge picks them."""
    found = []
    if name in schema.get("properties", {}):
        found.append(f"{pointer}/properties/{_escape(name)}")
    for pattern in java_order(schema.get("patternProperties", {})):
        if ecma_regex(pattern).search(name):
            found.append(f"{pointer}/patternProperties/{_escape(pattern)}")
    if not found and isinstance(schema.get("additionalProperties"), dict):
        found.append(f"{pointer}/additionalProperties")
    return found


def _item_schemas(pointer: str, schema: dict[str, Any], index: int) -> list[str]:
    items = schema.get("items")
    if isinstance(items, dict):
        return [f"{pointer}/items"]
    if isinstance(items, list) and index < len(items):
        return [f"{pointer}/items/{index}"]
    if isinstance(items, list) and isinstance(schema.get("additionalItems"), dict):
        return [f"{pointer}/additionalItems"]
    return []


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1").replace("%", "%25")


def _unescape(part: str) -> str:
    return part.replace("%25", "%").replace("~1", "/").replace("~0", "~")


@cache
def _default_validator() -> RequestValidator:
    return RequestValidator()


def parse_and_validate(
    raw: bytes | str, model: str = SEND_REQUEST
) -> tuple[dict[str, Any] | None, list[str]]:
    """Decode and check a request body against `model`: (body, []) when valid, else (None, why)."""
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
        reasons = _default_validator().errors(body, model)
    # Not JSON, empty, undecodable bytes, NaN/Infinity; or nested past Python's recursion
    # limit (100000 `[`), which API Gateway's parser refuses as well: a 400, not a 500.
    except (ValueError, RecursionError):
        return None, [UNPARSABLE_BODY]
    return (None if reasons else body), reasons


def _reject_constant(name: str) -> Any:
    # Python accepts NaN and Infinity; JSON (and API Gateway's parser) does not.
    raise ValueError(f"{name} is not a JSON value")
