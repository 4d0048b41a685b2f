"""Named triggers: a stored mapping from a flat JSON record to a message request.

`POST /trigger/{name}` takes a client's own record (a registration, an order) with an
API key alone; the tenant's trigger `name` (an item of the tenants table, managed
with `messaging triggers`) says what to send: the request's message blocks as
in `POST /` (`WhatsAppMessage`, `EmailMessage`, `SMSMessage`, without Substitutions),
which record field holds each recipient's address, which field (if any) is the
TraceId, which fields become substitutions (default: every string field) and,
optionally, the 202's body. `POST /trigger` is the trigger `registration-invitation`.

A definition:

    {"WhatsAppMessage": {"FromNumber": "whatsapp:+14155238886",
                         "TemplateName": "registration-invitation"},
     "Recipients": [{"ChannelType": "WHATSAPP", "AddressField": "parent_tel"},
                    {"ChannelType": "EMAIL", "AddressField": "parent_email", "Optional": true}],
     "TraceIdField": "TraceId",
     "Substitutions": ["parent_first_name", "team_name"],
     "Response": {"message": "Registration data received successfully",
                  "player": "{player_first_name} {player_last_name}"}}

An operator's definition that cannot work is refused when it is stored (InvalidTrigger);
a record the trigger cannot map is refused before anything is queued (RecordRefused,
a 400 naming the fields).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from notify.domain.channels import CHANNELS
from notify.domain.errors import PermanentError
from notify.domain.rendering import PLACEHOLDER, render

# What `POST /trigger` runs; its request model (RegistrationRecord) is the seed bot's record.
REGISTRATION_INVITATION = "registration-invitation"
NAME_RULE = "1-64 characters of A-Z a-z 0-9 . _ -"
_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
# The request schema's TraceId (api/openapi.yaml, SendRequest.TraceId).
TRACE_ID_RULE = "1-128 characters of A-Z a-z 0-9 . _ : @ / + = -"
_TRACE_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
_DEFINITION_KEYS = {
    "Description",
    "Recipients",
    "TraceIdField",
    "Substitutions",
    "Response",
    *(c.block for c in CHANNELS.values()),
}
# SQS's message size; a larger queued request would be refused by the queue.
MAX_QUEUED_BYTES = 262_144
DEFAULT_RESPONSE_MESSAGE = "Accepted"
PENDING = "pending"


class InvalidTrigger(ValueError):
    """A definition that cannot be stored; the message says what to change."""


class RecordRefused(ValueError):
    """A record this trigger cannot turn into a request (a 400 with this reason)."""


def check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidTrigger(f"a trigger name is {NAME_RULE}, not {name!r}")
    return name


@dataclass(frozen=True)
class Recipient:
    channel: str  # a ChannelType of the registry
    address_field: str
    optional: bool = False


@dataclass(frozen=True)
class Trigger:
    name: str
    messages: Mapping[str, Mapping[str, Any]]  # block name -> the block, as in a request
    recipients: tuple[Recipient, ...]
    trace_id_field: str | None = None
    substitution_fields: tuple[str, ...] | None = None  # None: every string field
    response: Mapping[str, str] | None = None  # the 202's fields, `{field}` filled
    description: str | None = None

    # ------------------------------------------------------------------ definitions
    @classmethod
    def from_definition(cls, name: str, definition: object) -> Trigger:
        """The trigger a stored or written definition describes, or InvalidTrigger."""
        check_name(name)
        if not isinstance(definition, dict):
            raise InvalidTrigger("a trigger definition is a JSON object")
        unknown = sorted(set(definition) - _DEFINITION_KEYS)
        if unknown:
            raise InvalidTrigger(
                f"unknown key(s) {', '.join(unknown)}; a definition has "
                f"{', '.join(sorted(_DEFINITION_KEYS))}"
            )
        recipients = tuple(_recipient(spec) for spec in _list(definition, "Recipients"))
        if not recipients:
            raise InvalidTrigger("Recipients must name at least one {ChannelType, AddressField}")
        messages = {block: _block(definition, block) for block in _blocks(definition)}
        for recipient in recipients:
            block = CHANNELS[recipient.channel].block
            if block not in messages:
                raise InvalidTrigger(f"a {recipient.channel} recipient needs a {block}")
        unused = set(messages) - {CHANNELS[r.channel].block for r in recipients}
        if unused:
            raise InvalidTrigger(f"{', '.join(sorted(unused))} has no recipient")
        substitutions = definition.get("Substitutions")
        if substitutions is not None:
            substitutions = tuple(_field_names(substitutions, "Substitutions"))
        response = definition.get("Response")
        if response is not None and (
            not isinstance(response, dict) or not all(isinstance(v, str) for v in response.values())
        ):
            raise InvalidTrigger('Response is an object of texts, e.g. {"player": "{first_name}"}')
        trace_id_field = definition.get("TraceIdField")
        if trace_id_field is not None:
            (trace_id_field,) = _field_names([trace_id_field], "TraceIdField")
        description = definition.get("Description")
        if description is not None and not isinstance(description, str):
            raise InvalidTrigger("Description is a text")
        return cls(name, messages, recipients, trace_id_field, substitutions, response, description)

    def definition(self) -> dict[str, Any]:
        """The definition as stored (from_definition of it gives this trigger back)."""
        definition: dict[str, Any] = {}
        if self.description is not None:
            definition["Description"] = self.description
        definition |= {block: dict(message) for block, message in self.messages.items()}
        definition["Recipients"] = [
            {"ChannelType": r.channel, "AddressField": r.address_field}
            | ({"Optional": True} if r.optional else {})
            for r in self.recipients
        ]
        if self.trace_id_field is not None:
            definition["TraceIdField"] = self.trace_id_field
        if self.substitution_fields is not None:
            definition["Substitutions"] = list(self.substitution_fields)
        if self.response is not None:
            definition["Response"] = dict(self.response)
        return definition

    # ------------------------------------------------------------------ records
    def request(self, record: object, request_id: str) -> dict[str, Any]:
        """The message request for `record`; its TraceId is the record's, else `request_id`.

        RecordRefused names every field the trigger needs and the record lacks, at once.
        """
        if not isinstance(record, dict):
            raise RecordRefused("the body must be a JSON object of fields")
        missing = [field for field in self._needed_fields() if _text(record.get(field)) is None]
        if missing:
            raise RecordRefused(
                f"the record has no {', '.join(missing)} (needed by trigger {self.name})"
            )
        addresses = self._addresses(record)
        if not addresses:
            fields = " or ".join(r.address_field for r in self.recipients)
            raise RecordRefused(f"the record has no recipient: give {fields}")
        substitutions = self._substitutions(record)
        request: dict[str, Any] = {"TraceId": self.trace_id(record, request_id)}
        for block, message in self.messages.items():
            if any(CHANNELS[spec["ChannelType"]].block == block for spec in addresses.values()):
                request[block] = dict(message) | (
                    {"Substitutions": substitutions} if substitutions else {}
                )
        request["Addresses"] = addresses
        return request

    def trace_id(self, record: Mapping[str, Any], request_id: str) -> str:
        field = self.trace_id_field
        if field is None or record.get(field) in (None, ""):
            return request_id
        value = record[field]
        if not isinstance(value, str) or not _TRACE_ID.fullmatch(value):
            raise RecordRefused(f"{field}: a TraceId is {TRACE_ID_RULE}")
        return value

    def accepted(self, record: Mapping[str, Any], trace_id: str) -> dict[str, Any]:
        """The 202's body: the trigger's Response filled from the record, and request_id."""
        if self.response is None:
            body = {"message": DEFAULT_RESPONSE_MESSAGE, "trigger": self.name, "status": PENDING}
        else:
            values = _texts(record)
            body = {key: render(text, values) for key, text in self.response.items()}
        return body | {"request_id": trace_id}

    def _needed_fields(self) -> list[str]:
        needed = [r.address_field for r in self.recipients if not r.optional]
        needed += list(self.substitution_fields or ())
        for text in (self.response or {}).values():
            needed += PLACEHOLDER.findall(text)
        return list(dict.fromkeys(needed))

    def _addresses(self, record: Mapping[str, Any]) -> dict[str, dict[str, str]]:
        addresses: dict[str, dict[str, str]] = {}
        for recipient in self.recipients:
            value = record.get(recipient.address_field)
            if value in (None, "") and recipient.optional:
                continue
            if not isinstance(value, str):
                raise RecordRefused(f"{recipient.address_field}: an address is a text")
            try:
                address = CHANNELS[recipient.channel].canonical_address(value)
            except PermanentError as exc:
                raise RecordRefused(f"{recipient.address_field}: {exc.detail}") from None
            addresses[address] = {"ChannelType": recipient.channel}
        return addresses

    def _substitutions(self, record: Mapping[str, Any]) -> dict[str, str]:
        if self.substitution_fields is None:
            return {k: v for k, v in record.items() if isinstance(v, str)}
        return {field: _text(record[field]) or "" for field in self.substitution_fields}


def queued_message(caller: Mapping[str, Any], request: Mapping[str, Any]) -> str:
    """The queue's envelope, as the API's mapping template writes it for `POST /`."""
    message = json.dumps({"Caller": caller, "Request": request}, separators=(",", ":"))
    if len(message.encode("utf-8")) > MAX_QUEUED_BYTES:
        raise RecordRefused("the queued request would exceed the queue's 256 KB")
    return message


# ---------------------------------------------------------------------- helpers
def _text(value: object) -> str | None:
    """A record value as substitution text: strings as they are, numbers and booleans as JSON."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return None


def _texts(record: Mapping[str, Any]) -> dict[str, str]:
    return {key: text for key, value in record.items() if (text := _text(value)) is not None}


def _list(definition: Mapping[str, Any], key: str) -> list[Any]:
    value = definition.get(key)
    if not isinstance(value, list):
        raise InvalidTrigger(f"{key} must be a list")
    return value


def _field_names(value: object, key: str) -> list[str]:
    if not isinstance(value, list) or not all(
        isinstance(name, str) and name.strip() for name in value
    ):
        raise InvalidTrigger(f"{key} names record fields (texts)")
    return value


def _recipient(spec: object) -> Recipient:
    if not isinstance(spec, dict) or set(spec) - {"ChannelType", "AddressField", "Optional"}:
        raise InvalidTrigger(
            "each of Recipients is {ChannelType, AddressField[, Optional]}, not " + repr(spec)
        )
    channel = spec.get("ChannelType")
    if channel not in CHANNELS:
        raise InvalidTrigger(f"ChannelType must be one of {', '.join(sorted(CHANNELS))}")
    (field,) = _field_names([spec.get("AddressField")], "AddressField")
    optional = spec.get("Optional", False)
    if not isinstance(optional, bool):
        raise InvalidTrigger("Optional is true or false")
    return Recipient(channel, field, optional)


def _blocks(definition: Mapping[str, Any]) -> list[str]:
    return [c.block for c in CHANNELS.values() if c.block in definition]


def _block(definition: Mapping[str, Any], block: str) -> dict[str, Any]:
    message = definition[block]
    if not isinstance(message, dict):
        raise InvalidTrigger(f"{block} must be an object, as in a request")
    if "Substitutions" in message:
        raise InvalidTrigger(
            f"{block}.Substitutions: a trigger's substitutions come from the record "
            "(list its fields in Substitutions)"
        )
    return dict(message)
