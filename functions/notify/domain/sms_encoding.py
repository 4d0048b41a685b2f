"""How many SMS segments a body takes, and in which encoding.

A body is sent as GSM-7 when every character is in the GSM 03.38 alphabet, otherwise as
UCS-2 (UTF-16 in practice). A message that does not fit in one SMS is split into parts
that each give up some room to the concatenation header: 160 -> 153 septets in GSM-7,
70 -> 67 code units in UCS-2.
"""

from __future__ import annotations

from dataclasses import dataclass

from notify.domain.errors import INVALID_MESSAGE, PermanentError

GSM_7 = "GSM-7"
UCS_2 = "UCS-2"

# GSM 03.38 basic character set, one row per 16 code points (0x00-0x7F). Position 0x1B is
# the escape to the extension table, not a character a user can type; it is left out.
_GSM_BASIC_ROWS = (
    "@£$¥èéùìòÇ\nØø\rÅå",
    "Δ_ΦΓΛΩΠΨΣΘΞ" + "ÆæßÉ",  # 0x1B (ESC) sits between Ξ and Æ
    " !\"#¤%&'()*+,-./",
    "0123456789:;<=>?",
    "¡ABCDEFGHIJKLMNO",
    "PQRSTUVWXYZÄÖÑÜ§",
    "¿abcdefghijklmno",
    "pqrstuvwxyzäöñüà",
)
GSM_BASIC = frozenset("".join(_GSM_BASIC_ROWS))
# Reached through ESC, so each of these costs two septets.
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")

_LIMITS = {GSM_7: (160, 153), UCS_2: (70, 67)}  # (single message, per concatenated part)


@dataclass(frozen=True, slots=True)
class SmsSegments:
    """The encoding a body needs and what it costs.

    `characters` is measured in the encoding's own units, the ones the limits count:
    septets for GSM-7 (an extension character is 2) and UTF-16 code units for UCS-2
    (a character outside the Basic Multilingual Plane, such as an emoji, is 2).
    """

    encoding: str
    characters: int
    segments: int


def sms_segments(body: str) -> SmsSegments:
    """The encoding, length and number of segments that sending `body` takes."""
    if not body:
        raise PermanentError(INVALID_MESSAGE, "empty SMS body")
    encoding = GSM_7 if all(c in GSM_BASIC or c in GSM_EXTENSION for c in body) else UCS_2
    widths = [_width(c, encoding) for c in body]
    single, per_part = _LIMITS[encoding]
    total = sum(widths)
    segments = 1 if total <= single else _count_parts(widths, per_part)
    return SmsSegments(encoding=encoding, characters=total, segments=segments)


def _width(char: str, encoding: str) -> int:
    if encoding == GSM_7:
        return 2 if char in GSM_EXTENSION else 1
    return 2 if ord(char) > 0xFFFF else 1  # a surrogate pair in UTF-16


def _count_parts(widths: list[int], per_part: int) -> int:
    # A two-unit character (escape sequence or surrogate pair) is never split across
    # parts, so a part may end one unit short; plain division would undercount then.
    parts, used = 1, 0
    for width in widths:
        if used + width > per_part:
            parts, used = parts + 1, 0
        used += width
    return parts
