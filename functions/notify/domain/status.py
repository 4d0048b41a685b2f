"""What a sender may read about its trace: the overall status and each recipient's.

Plain logic over the traces table's items (header item Sk = owner, recipient items
Sk = owner#CHANNEL#address). A trace is scoped to its owner (domain/tenants.py:
`customer:<customer_id>`, else `user:<sub>`); a trace of another owner is
indistinguishable from one that does not exist (the API answers 404 for both, so
TraceIds cannot be probed).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from notify.domain import tenants
from notify.domain.outcomes import CANCELLED, SCHEDULED
from notify.domain.recipients import split_channel_key
from notify.domain.schedule import seconds_until
from notify.domain.test_keys import TEST_MARK

# A recipient whose send has not been recorded yet (its execution is still running).
PENDING = "PENDING"

RECIPIENT_FIELDS = (
    "Address",
    "ChannelType",
    "Status",
    "Attempts",
    "ProviderMessageId",
    "Error",
    "Reason",
    "DeliveryStatus",
    "DeliveryErrorCode",
    "FirstAttemptAt",
    "LastAttemptAt",
    "SentAt",
    "DeliveryUpdatedAt",
    "UpdatedAt",
    "TemplateName",  # the stored template it was rendered from, and its version (a tenant's)
    "TemplateVersion",
    "Locale",  # the template's variant it was rendered from (None: its default)
)


class CallerUnknown(Exception):
    """The authorizer context names no caller (a misconfigured route, not a bad request)."""


def owner_of(authorizer_context: Mapping[str, Any]) -> str:
    """The tenant a caller's traces belong to (tenants.owner_of of the authorizer's context)."""
    try:
        return tenants.owner_of(authorizer_context)
    except tenants.InvalidTenant as exc:
        # The authorizer refuses such tokens, so this is a route without it, not a bad request.
        raise CallerUnknown(f"the authorizer context names no valid caller: {exc}") from exc


def trace_view(
    trace_id: str,
    header: Mapping[str, Any] | None,
    recipients: list[Mapping[str, Any]],
    now: datetime | None = None,
) -> dict[str, Any] | None:
    """The status document for a trace, or None when the owner has no such trace.

    Every channel tried has its entry (a fallback names the address it stands in for,
    `FallbackFor`); a recipient not tried yet is listed from the header, SCHEDULED
    while its trace waits for its SendAt.
    """
    if header is None:
        return None
    status = header.get("Status", PENDING)
    fallback_for = _fallbacks(header)
    views = [recipient_view(item, fallback_for) for item in recipients]
    views += _untried(header, {(v["ChannelType"], v["Address"]) for v in views}, status)
    view = {
        "TraceId": trace_id,
        "Status": status,
        "StartedAt": header.get("StartedAt"),
        "UpdatedAt": header.get("UpdatedAt"),
        "Recipients": sorted(views, key=lambda r: (r["ChannelType"] or "", r["Address"] or "")),
    }
    if header.get(TEST_MARK):  # only a test key's trace, so a live answer is unchanged
        view[TEST_MARK] = True
    if header.get("SendAt"):
        view["SendAt"] = header["SendAt"]
    if status == SCHEDULED:
        view["SecondsUntilSend"] = seconds_until(header["SendAt"], now or datetime.now(UTC))
    return view


def _fallbacks(header: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    """(channel, address) of each fallback -> the address it stands in for."""
    found = {}
    for chain in header.get("Recipients") or []:
        first = split_channel_key(chain[0])[1]
        for key in chain[1:]:
            found[split_channel_key(key)] = first
    return found


def _untried(
    header: Mapping[str, Any], tried: set[tuple[str, str]], status: str
) -> list[dict[str, Any]]:
    """The header's recipients (first channels) that have no item yet."""
    shown = status if status in (SCHEDULED, CANCELLED) else PENDING
    views = []
    for chain in header.get("Recipients") or []:
        channel, address = split_channel_key(chain[0])
        if (channel, address) not in tried:
            item = {"ChannelType": channel, "Address": address, "Status": shown}
            views.append(recipient_view(item, {}))
    return views


def recipient_view(
    item: Mapping[str, Any], fallback_for: Mapping[tuple[str, str], str] | None = None
) -> dict[str, Any]:
    """One recipient, every field present (null when not known yet), numbers as ints."""
    view = {name: _plain(item.get(name)) for name in RECIPIENT_FIELDS}
    view["Status"] = view["Status"] or PENDING
    view["Attempts"] = view["Attempts"] or 0
    view["FallbackFor"] = (fallback_for or {}).get((view["ChannelType"], view["Address"]))
    if item.get(TEST_MARK):  # only on test traffic, so a live answer is unchanged
        view[TEST_MARK] = True
    return view


def not_found(trace_id: str) -> dict[str, str]:
    return {
        "message": "Not Found",
        "reason": f"no trace {trace_id!r} was sent by this caller",
    }


def _plain(value: Any) -> Any:
    # DynamoDB numbers arrive as Decimal; every number here is a count.
    return int(value) if isinstance(value, Decimal) else value
