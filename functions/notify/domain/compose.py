"""What every channel's renderer shares: the delivery it renders, its checks, its body.

Each channel's own `compose` lives with its entry in `notify.domain.channels`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from notify.domain.content import refuse_uncarriable
from notify.domain.errors import INVALID_MESSAGE, MISSING_MESSAGE, PermanentError
from notify.domain.rendering import merge_substitutions
from notify.domain.templates import LOCALE_FIELD, Template, TemplateSource, TemplateUsed


@dataclass(frozen=True)
class Delivery:
    """One Map iteration: a recipient of a request, with the request's message blocks."""

    trace_id: str
    owner: str
    recipient: dict[str, Any]
    messages: dict[str, Any]
    request: dict[str, Any] = dataclasses.field(default_factory=dict)  # the execution's entry

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> Delivery:
        """A Send task's payload: its request (TraceId, Owner, Messages) and its delivery."""
        request = event["Request"]
        recipient = event["Delivery"]["Recipient"]
        return cls(request["TraceId"], request["Owner"], recipient, request["Messages"], request)

    @property
    def address(self) -> str:
        return self.recipient["Address"]

    @property
    def channel(self) -> str:
        return self.recipient["ChannelType"]

    @property
    def locale(self) -> str | None:
        """The recipient's language tag (its own, else the request's: plan puts it there)."""
        return self.recipient.get(LOCALE_FIELD)

    def block(self, name: str) -> dict[str, Any]:
        """The request's block `name` (the recipient's channel's), or MissingMessage."""
        if name not in self.messages:
            raise PermanentError(MISSING_MESSAGE, f"a {self.channel} recipient needs an {name}")
        return self.messages[name]

    def values(self, block: dict[str, Any]) -> dict[str, str]:
        """The substitutions: the block's, overridden by the recipient's."""
        return merge_substitutions(block.get("Substitutions"), self.recipient.get("Substitutions"))


_P = ParamSpec("_P")
_M = TypeVar("_M")

# The message's free text; every other string field is a single line (header, address, id).
_MULTILINE_FIELDS = frozenset({"text", "html", "body", "content_variables"})


def carriable(compose: Callable[_P, _M]) -> Callable[_P, _M]:
    """Compose, then refuse text no provider can carry, as PermanentError(INVALID_MESSAGE).

    The one place where content errors become permanent: a message is checked whole, once
    rendered, so a value substituted in or a stored template is covered as well as the
    request, and nothing uncarriable reaches a provider's client, where it would fail
    (UnicodeEncodeError) unclassified, be retried, dead-lettered and redriven forever.
    """

    @functools.wraps(compose)
    def checked(*args: _P.args, **kwargs: _P.kwargs) -> _M:
        try:
            message = compose(*args, **kwargs)
        except UnicodeError as exc:  # deterministic: the same content fails the same way
            detail = f"{type(exc).__name__}: {exc}".encode("utf-8", "backslashreplace").decode()
            raise PermanentError(INVALID_MESSAGE, detail) from None
        kind = type(message).__name__
        for field in dataclasses.fields(message):  # type: ignore[arg-type]
            value = getattr(message, field.name)
            one_line = field.name not in _MULTILINE_FIELDS
            if isinstance(value, str):
                refuse_uncarriable(f"the {kind} {field.name}", value, one_line=one_line)
            elif isinstance(value, dict):
                for key, item in value.items():
                    refuse_uncarriable(f"the {kind} {field.name} {key!r}", str(key), one_line=True)
                    refuse_uncarriable(f"the {kind} {field.name} {key!r}", item, one_line=one_line)
        return message

    return checked


def stored_template(
    delivery: Delivery, block: dict[str, Any], templates: TemplateSource, default_template: str
) -> Template:
    """The block's template as the delivery's tenant sees it (its own, else the shared one),
    the version its `TemplateVersion` pins, else the latest; without a TemplateName, the
    stack's default template. Of it, the variant of the recipient's locale."""
    name = block.get("TemplateName") or default_template
    template = templates.get(name, delivery.owner, block.get("TemplateVersion"))
    return template.for_locale(delivery.locale)


def text_body(
    delivery: Delivery, block: dict[str, Any], templates: TemplateSource, default_template: str
) -> tuple[str, TemplateUsed | None]:
    """An SMS, WhatsApp or voice body: inline, else the block's (or the default) template's
    text; with the template it came from (None: inline)."""
    if "MessageBody" in block:
        return block["MessageBody"], None
    template = stored_template(delivery, block, templates, default_template)
    body = template.message_body or template.text_body
    if not body:
        raise PermanentError(INVALID_MESSAGE, f"template {template.name} has no MessageBody")
    return body, template.used
