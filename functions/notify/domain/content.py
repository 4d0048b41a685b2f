"""Text that no provider can carry, refused as a permanent error about the request's content.

Every provider API takes UTF-8, so a lone UTF-16 surrogate (U+D800-U+DFFF, which JSON's
`"\\ud800"` decodes to) cannot even be encoded for the call, and NUL is refused by SMTP and
by most text pipelines. A header line (an email's Subject) cannot hold control characters
either: a line break there would start another header. The API's JSON Schema refuses these
in every free-text field; this check catches what bypasses the schema (a dead-lettered
request edited and redriven, a substituted value, a stored template), so the same content
is REJECTED once rather than retried, dead-lettered and redriven forever.
"""

from __future__ import annotations

import re

from notify.domain.errors import INVALID_MESSAGE, PermanentError

_NOT_IN_TEXT = re.compile("[\x00\ud800-\udfff]")
_NOT_IN_A_LINE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


def refuse_uncarriable(label: str, text: str, *, one_line: bool = False) -> None:
    """PermanentError(INVALID_MESSAGE) naming the first character of `text` no provider takes.

    The detail names the character by its code point and position, never by itself: the
    error travels on to the execution history and the trace, which must stay encodable.
    """
    found = (_NOT_IN_A_LINE if one_line else _NOT_IN_TEXT).search(text)
    if found:
        raise PermanentError(
            INVALID_MESSAGE,
            f"{label} has {describe(found[0])} at character {found.start() + 1}, "
            "which no provider can carry",
        )


def describe(char: str) -> str:
    """A character named for a reader: 'an unpaired UTF-16 surrogate U+D800', 'NUL (U+0000)'."""
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        return f"an unpaired UTF-16 surrogate U+{code:04X}"
    if code == 0:
        return "NUL (U+0000)"
    return f"the control character U+{code:04X}"


def storable(text: str) -> str:
    """`text` as every AWS API can carry it: a lone surrogate becomes its `\\udxxx` escape.

    For what the service writes itself (an error's message on a trace item): a bad
    character in it must never make the write fail.
    """
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
