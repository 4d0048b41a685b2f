"""Substitution variables: merging the message's and the recipient's, and filling a template.

A placeholder is `{name}`. Only that exact shape is a placeholder, so any other text in
braces (CSS rules, JSON, `{ }`) passes through untouched, and so does the text around a
placeholder: `${amount}` keeps its dollar sign.
"""

from __future__ import annotations

import html as html_lib
import re
from typing import Any

from notify.domain.errors import INVALID_MESSAGE, MISSING_VARIABLE, PermanentError

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.-]*)\}")


def merge_substitutions(
    message_level: dict[str, Any] | None,
    recipient_level: dict[str, Any] | None,
) -> dict[str, str]:
    """One value per variable; the recipient's values override the message's."""
    return {**_flatten(message_level), **_flatten(recipient_level)}


def render(text: str, values: dict[str, str], *, html: bool = False) -> str:
    """Fill every `{name}` in `text` from `values`, HTML-escaping the values if `html`.

    Raises PermanentError(MISSING_VARIABLE) naming every placeholder without a value,
    so the sender can fix them all at once rather than one retry at a time.
    """
    missing = sorted({name for name in PLACEHOLDER.findall(text) if name not in values})
    if missing:
        raise PermanentError(MISSING_VARIABLE, f"no value for: {', '.join(missing)}")

    def substitute(match: re.Match[str]) -> str:
        value = values[match.group(1)]
        # Only the values are escaped: the template is the sender's own markup.
        return html_lib.escape(value, quote=True) if html else value

    # A single re.sub pass: a value containing "{x}" is inserted as it is, never expanded.
    return PLACEHOLDER.sub(substitute, text)


def _flatten(substitutions: dict[str, Any] | None) -> dict[str, str]:
    if substitutions is None:
        return {}
    if not isinstance(substitutions, dict):
        raise PermanentError(INVALID_MESSAGE, "substitutions must be an object")
    return {name: _single_value(name, value) for name, value in substitutions.items()}


def _single_value(name: str, value: Any) -> str:
    # The original API took every value as a one-element array; both forms are accepted.
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, str):
        raise PermanentError(
            INVALID_MESSAGE,
            f"substitution {name!r} must be a string or a one-element list of strings",
        )
    return value
