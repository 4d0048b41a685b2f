"""Stored message templates, as the render step and the templates API see them.

Two kinds: a tenant's own (versioned: every write is a new immutable version, a send uses
the latest unless its block names `TemplateVersion`) and the operator's shared ones (the
original table, one unversioned item per name, readable by every tenant). A tenant's own
template of a name wins over the shared one of that name.

Locales: a tenant's version carries its default parts and any locale variants (`Locales`,
tag -> parts, each variant whole by itself). A PUT with a `Locale` makes a new version
with that variant added or replaced and every other part carried over, so a pinned version
never changes. A recipient gets the variant of its exact tag, else of its language, else
the default (`choose_locale`); shared templates have no variants.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
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
# A language tag as the API takes it (api/openapi.yaml `Locale`): a language, then a
# region (`fr-CA`) or a UN M.49 area (`es-419`). Case as BCP 47 writes it, so tags compare.
LOCALE = re.compile(r"[a-z]{2,3}(-[A-Z]{2}|-[0-9]{3})?")
LOCALE_FIELD = "Locale"
VARIANTS_FIELD = "Locales"  # a version item's variants: tag -> parts


@dataclass(frozen=True)
class TemplateUsed:
    """Which template a message was rendered from: what its recipient's trace records."""

    name: str
    version: int | None  # None: a shared template (the operator's, unversioned)
    locale: str | None = None  # None: its default variant

    def fields(self) -> dict[str, Any]:
        found: dict[str, Any] = {"TemplateName": self.name}
        if self.version is not None:
            found["TemplateVersion"] = self.version
        if self.locale is not None:
            found[LOCALE_FIELD] = self.locale
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
    locale: str | None = None  # the variant this is; None: the default
    variants: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @classmethod
    def from_item(cls, item: Mapping[str, Any], locale: str | None = None) -> Template:
        version = item.get("Version")
        return cls(
            name=item["TemplateName"],
            message_body=item.get("MessageBody"),
            subject=item.get("Subject"),
            html_body=item.get("HtmlBody"),
            text_body=item.get("TextBody"),
            version=int(version) if version is not None else None,
            locale=locale,
            variants=item.get(VARIANTS_FIELD) or {},
        )

    def for_locale(self, wanted: str | None) -> Template:
        """The variant a recipient asking for `wanted` gets (`choose_locale`)."""
        chosen = choose_locale(wanted, self.variants)
        if chosen is None:
            return self
        parts = self.variants[chosen]
        return Template.from_item(
            {"TemplateName": self.name, "Version": self.version, **parts}, chosen
        )

    @property
    def used(self) -> TemplateUsed:
        return TemplateUsed(self.name, self.version, self.locale)

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


def check_locale(tag: Any) -> str:
    if not isinstance(tag, str) or not LOCALE.fullmatch(tag):
        raise InvalidTemplate(
            f"Locale {tag!r}: a language tag such as fr, fr-CA or es-419"
            " (language lower case, region upper case)"
        )
    return tag


def choose_locale(wanted: str | None, available: Collection[str]) -> str | None:
    """The variant for `wanted`: its exact tag, else its language's (`fr-CA` -> `fr`), else
    None (the default)."""
    if not wanted:
        return None
    for candidate in (wanted, wanted.split("-")[0]):
        if candidate in available:
            return candidate
    return None


def template_write(body: Any) -> tuple[dict[str, str], str | None]:
    """A PUT's body: its parts (`template_parts`) and the variant they are (None: default)."""
    if not isinstance(body, Mapping) or LOCALE_FIELD not in body:
        return template_parts(body), None
    locale = check_locale(body[LOCALE_FIELD])
    return template_parts({k: v for k, v in body.items() if k != LOCALE_FIELD}), locale


def next_version(
    live: Mapping[str, Any] | None, parts: Mapping[str, str], locale: str | None
) -> dict[str, Any]:
    """What a PUT's new version carries: `parts` as its default (locale None) or as its
    `locale` variant, and every other part of the `live` latest version (None: there is
    none, or it is archived: nothing is carried)."""
    variants = dict(live.get(VARIANTS_FIELD) or {}) if live is not None else {}
    if locale is None:
        carried = dict(parts)
    elif live is None:
        raise InvalidTemplate(
            f"Locale {locale}: the template has no default variant yet; PUT it without Locale first"
        )
    else:
        carried = {name: live[name] for name in TEMPLATE_FIELDS if name in live}
        variants[locale] = dict(parts)
    if variants:
        carried[VARIANTS_FIELD] = variants
    size = _size(carried) + sum(_size(v) for v in variants.values())
    if size > MAX_TEMPLATE_BYTES:
        raise InvalidTemplate(
            f"the template with all its variants is {size} bytes; at most {MAX_TEMPLATE_BYTES}"
        )
    return carried


def _size(parts: Mapping[str, Any]) -> int:
    return sum(len(k.encode()) + len(v.encode()) for k, v in parts.items() if isinstance(v, str))


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
    size = _size(body)
    if size > MAX_TEMPLATE_BYTES:
        raise InvalidTemplate(f"the template is {size} bytes; at most {MAX_TEMPLATE_BYTES}")
    return dict(body)


def missing_variables(texts: Iterable[str | None], values: Mapping[str, str]) -> list[str]:
    """Every `{name}` of `texts` without a value, sorted: a preview names them all at once."""
    wanted = {name for text in texts if text for name in PLACEHOLDER.findall(text)}
    return sorted(wanted - set(values))
