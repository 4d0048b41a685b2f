"""What a sender may read about its trace: the overall status and each recipient's.

Plain logic over the traces table's items (header item Sk = owner, recipient items
Sk = owner#CHANNEL#address). A trace is scoped to its owner (domain/tenants.py:
`customer:<customer_id>`, else `user:<sub>`); a trace of another owner is
indistinguishable from one that does not exist (the API answers 404 for both, so
TraceIds cannot be probed).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from notify.domain import tenants

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
    trace_id: str, header: Mapping[str, Any] | None, recipients: list[Mapping[str, Any]]
) -> dict[str, Any] | None:
    """The status document for a trace, or None when the owner has no such trace."""
    if header is None:
        return None
    return {
        "TraceId": trace_id,
        "Status": header.get("Status", PENDING),
        "StartedAt": header.get("StartedAt"),
        "UpdatedAt": header.get("UpdatedAt"),
        "Recipients": sorted(
            (recipient_view(item) for item in recipients),
            key=lambda r: (r["ChannelType"] or "", r["Address"] or ""),
        ),
    }


def recipient_view(item: Mapping[str, Any]) -> dict[str, Any]:
    """One recipient, every field present (null when not known yet), numbers as ints."""
    view = {name: _plain(item.get(name)) for name in RECIPIENT_FIELDS}
    view["Status"] = view["Status"] or PENDING
    view["Attempts"] = view["Attempts"] or 0
    return view


def not_found(trace_id: str) -> dict[str, str]:
    return {
        "message": "Not Found",
        "reason": f"no trace {trace_id!r} was sent by this caller",
    }


def _plain(value: Any) -> Any:
    # DynamoDB numbers arrive as Decimal; every number here is a count.
    return int(value) if isinstance(value, Decimal) else value
