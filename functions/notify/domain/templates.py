"""Stored message templates, as the render step sees them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Template:
    """One item of the templates table. Every body part is optional."""

    name: str
    message_body: str | None = None
    subject: str | None = None
    html_body: str | None = None
    text_body: str | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Template:
        return cls(
            name=item["TemplateName"],
            message_body=item.get("MessageBody"),
            subject=item.get("Subject"),
            html_body=item.get("HtmlBody"),
            text_body=item.get("TextBody"),
        )


class TemplateSource(Protocol):
    def get(self, name: str) -> Template:
        """Return the named template or raise PermanentError(TemplateNotFound)."""
        ...
