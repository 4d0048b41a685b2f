"""Plain-text helpers: fixed-width tables, one-line texts, short times, JSON."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any


def table(headers: list[str], rows: list[list[str]], indent: str = "") -> list[str]:
    """Left-aligned columns two spaces apart; the last column is not padded."""
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    return [
        (
            indent + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        ).rstrip()
        for row in [headers, *rows]
    ]


def one_line(text: str | None, limit: int = 160) -> str:
    """The first line of `text`, cut to `limit` characters."""
    first = (text or "").strip().split("\n", 1)[0].strip()
    return first if len(first) <= limit else first[: limit - 1] + "…"


def short_time(value: str | None) -> str:
    """An ISO timestamp as 'YYYY-MM-DD HH:MM:SS' (the stack writes UTC); '-' when absent."""
    if not value:
        return "-"
    try:
        return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return value


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, default=_plain, ensure_ascii=False)


def _plain(value: Any) -> Any:
    # DynamoDB numbers arrive as Decimal, Step Functions times as datetime.
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def cause_text(cause: str | None, limit: int = 160) -> str:
    """A Step Functions cause as one line: a Lambda error's JSON shows its errorMessage."""
    try:
        parsed = json.loads(cause or "")
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("errorMessage"), str):
        cause = parsed["errorMessage"]
    return one_line(cause, limit)
