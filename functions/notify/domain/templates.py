"""Stored message templates, as the render step and the templates API see them.

Two kinds: a tenant's own (versioned: every write is a new immutable version, a send uses
the latest unless its block names `TemplateVersion`) and the operator's shared ones (the
original table, one unversioned item per name, readable by every tenant). A tenant's own
template of a name wins over the shared one of that name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from notify.domain.rendering import PLACEHOLDER

# The parts a template may carry, as today's items name them: an e-mail's Subject, HtmlBody
# and TextBody, and MessageBody, the text of an SMS, WhatsApp message or call.
BODY_FIELDS = ("HtmlBody", "TextBody", "MessageBody")
TEMPLATE_FIELDS = ("Subject", *BODY_FIELDS)
# As the request's TemplateName (api/openapi.yaml): no "#", so a name is one key segment.
NAME = re.compile(r"[A-Za-z0-9._-]{1,128}")
# DynamoDB's item limit is 400 KB; a version item holds the parts and a few keys.
MAX_TEMPLATE_BYTES = 350 * 1024


@dataclass(frozen=True)
class TemplateUsed:
    """Which template a message was rendered from: what its recipient's trace records."""

    name: str
    version: int | None  # None: a shared template (the operator's, unversioned)

    def fields(self) -> dict[str, Any]:
        found: dict[str, Any] = {"TemplateName": self.name}
        if self.version is not None:
            found["TemplateVersion"] = self.version
        return found


@dataclass(frozen=True)
class Template:
    """One template (one version of a tenant's). Every body part is optional."""

    name: str
    message_body: str | None = None
    subject: str | None = None
    html_body: str | None = None
    text_body: str | None = None
    version: int | None = None  # None: a shared template

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Template:
        version = item.get("Version")
        return cls(
            name=item["TemplateName"],
            message_body=item.get("MessageBody"),
            subject=item.get("Subject"),
            html_body=item.get("HtmlBody"),
            text_body=item.get("TextBody"),
            version=int(version) if version is not None else None,
        )

    @property
    def used(self) -> TemplateUsed:
        return TemplateUsed(self.name, self.version)

    @property
    def shared(self) -> bool:
        return self.version is None

    def parts(self) -> dict[str, str]:
        """The parts it carries, by their API names."""
        values = (self.subject, self.html_body, self.text_body, self.message_body)
        named = dict(zip(("Subject", "HtmlBody", "TextBody", "MessageBody"), values, strict=True))
        return {name: text for name, text in named.items() if text is not None}


class TemplateSource(Protocol):
    def get(self, name: str, owner: str | None = None, version: int | None = None) -> Template:
        """The template `name` as `owner` sees it (its own, else the shared one), its
        `version` if named, else the latest; PermanentError(TemplateNotFound) if none."""
        ...


class InvalidTemplate(ValueError):
    """A template write that cannot be stored (the message says why)."""


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise InvalidTemplate(
            f"template name {name!r}: 1-128 characters of A-Z a-z 0-9 . _ - (no other)"
        )
    return name


def template_parts(body: Any) -> dict[str, str]:
    """The parts of a PUT's body, checked: known fields, strings, at least one body."""
    if not isinstance(body, Mapping):
        raise InvalidTemplate("the body must be a JSON object of the template's parts")
    unknown = sorted(set(body) - set(TEMPLATE_FIELDS))
    if unknown:
        raise InvalidTemplate(
            f"unknown field(s) {', '.join(unknown)}; a template has {', '.join(TEMPLATE_FIELDS)}"
        )
    not_text = sorted(k for k, v in body.items() if not isinstance(v, str) or not v.strip())
    if not_text:
        raise InvalidTemplate(f"{', '.join(not_text)}: must be non-empty text")
    if not any(field in body for field in BODY_FIELDS):
        raise InvalidTemplate(f"a template needs a body: one of {', '.join(BODY_FIELDS)}")
    size = sum(len(k.encode()) + len(v.encode()) for k, v in body.items())
    if size > MAX_TEMPLATE_BYTES:
        raise InvalidTemplate(f"the template is {size} bytes; at most {MAX_TEMPLATE_BYTES}")
    return dict(body)


def missing_variables(texts: Iterable[str | None], values: Mapping[str, str]) -> list[str]:
    """Every `{name}` of `texts` without a value, sorted: a preview names them all at once."""
    wanted = {name for text in texts if text for name in PLACEHOLDER.findall(text)}
    return sorted(wanted - set(values))
