"""The send budgets table: one item per sender, its timeline of send slots.

An item (`Budget` = the channel's budget key, e.g. `EMAIL` or `SMS#pool-1`) holds `Tat`,
when its next free slot begins (epoch seconds), `BulkTat`, the end of the bulk line, and,
when an operator set one, `Interval` (seconds per message) and `Rate`. Without an
operator's rate the channel's default applies (the function's SEND_RATE).

Booking the slots of a request's recipients is one conditional UpdateItem when the
budget has room: the timeline is idle (it takes the slots from now), or its next slot
is within the lane's horizon (it takes the slots from there). Which of the two to try
first is guessed from the last answer seen for that budget; each condition also names
the interval assumed, so an operator's new rate is noticed on the next booking.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from notify.domain.errors import THROTTLED, TransientError
from notify.domain.pacing import BULK, BULK_AHEAD, LONGEST_DELAY, Booking
from notify.integration.aws_errors import aws_errors, classify_client_error
from notify.integration.dynamodb_table import plain_item

# Racing other bookings for the same item, a booking tries this often before it is retried.
ATTEMPTS = 12
_INTERVAL = "#interval"


class BudgetStore:
    def __init__(self, table: Any) -> None:
        self._table = table  # a DynamoTable or boto3 Table
        self._busy: dict[str, bool] = {}  # per budget: was its timeline ahead of now?
        self._override: dict[str, float | None] = {}  # per budget: the operator's interval

    def book(
        self, budget: str, lane: str, now: float, default_interval: float, count: int = 1
    ) -> list[Booking]:
        """`count` consecutive slots (or, over the lane's horizon, places in the bulk line)."""
        if count < 1:
            return []
        for _ in range(ATTEMPTS):
            step = self._override.get(budget) or default_interval
            slots = count if lane != BULK else min(count, max(1, math.ceil(BULK_AHEAD / step)))
            horizon = now + (BULK_AHEAD if lane == BULK else LONGEST_DELAY)
            first, seen = self._slots(budget, now, horizon, step, slots, default_interval)
            if first is not None:
                held = [Booking(first + i * step, held=True) for i in range(slots)]
                after = {"Tat": first + slots * step}  # the bulk line starts after them
                return held + self._tickets(budget, now, step, count - slots, after)
            if self._noticed_override(budget, seen, default_interval):
                continue  # an operator's rate: book again with it
            if float(seen.get("Tat", now)) <= horizon:
                continue  # another booking moved the timeline between our two tries
            if lane == BULK:
                return self._tickets(budget, now, step, count, seen)
            return [Booking(now + LONGEST_DELAY, held=False)] * count  # ask again then
        raise TransientError(THROTTLED, f"send budget {budget}: too contended to book, try again")

    def _slots(
        self,
        budget: str,
        now: float,
        horizon: float,
        step: float,
        count: int,
        default_interval: float,
    ) -> tuple[float | None, dict[str, Any]]:
        """The first of `count` slots booked (None: refused, and the item as it was)."""
        assumed = self._override.get(budget)
        interval_is = (
            f"{_INTERVAL} = :interval" if assumed else f"attribute_not_exists({_INTERVAL})"
        )
        values = {":now": _number(now), ":span": _span(count * step)}
        if assumed:
            values[":interval"] = _number(assumed)
        idle = {
            "UpdateExpression": "SET Tat = :now + :span",
            "ConditionExpression": f"(attribute_not_exists(Tat) OR Tat <= :now) AND {interval_is}",
            "ExpressionAttributeValues": values,
        }
        busy = {
            "UpdateExpression": "SET Tat = Tat + :span",
            "ConditionExpression": f"Tat > :now AND Tat <= :horizon AND {interval_is}",
            "ExpressionAttributeValues": values | {":horizon": _number(horizon)},
            "ReturnValues": "UPDATED_OLD",
        }
        order = (busy, idle) if self._busy.get(budget) else (idle, busy)
        seen: dict[str, Any] = {}
        for update in order:
            written, seen = self._update(budget, update)
            if written is not None:
                idle_from = float(values[":now"])  # as stored: the next slot is a span after it
                first = float(written["Tat"]) if "Tat" in written and update is busy else idle_from
                self._busy[budget] = update is busy
                return first, seen
        self._busy[budget] = True
        return None, seen

    def _noticed_override(self, budget: str, seen: dict[str, Any], default_interval: float) -> bool:
        """Whether the item's interval differs from the one assumed (now remembered)."""
        actual = float(seen["Interval"]) if "Interval" in seen else None
        if actual == self._override.get(budget):
            return False
        self._override[budget] = actual
        return True

    def _tickets(
        self, budget: str, now: float, step: float, count: int, seen: dict[str, Any]
    ) -> list[Booking]:
        """`count` places at the end of the bulk line, after the booked timeline."""
        if count < 1:
            return []
        for _ in range(ATTEMPTS):
            line_end = seen.get("BulkTat")
            start = max(float(line_end or 0), float(seen.get("Tat", now)), now)
            update = {
                "UpdateExpression": "SET BulkTat = :end",
                "ConditionExpression": "BulkTat = :was"
                if line_end is not None
                else "attribute_not_exists(BulkTat)",
                "ExpressionAttributeValues": {":end": _number(start + count * step)}
                | ({":was": line_end} if line_end is not None else {}),
            }
            written, refused = self._update(budget, update)
            if written is not None:
                return [Booking(start + (i + 1) * step, held=False) for i in range(count)]
            seen = refused
        raise TransientError(THROTTLED, f"send budget {budget}: the bulk line is contended")

    def _update(
        self, budget: str, update: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """One conditional UpdateItem: (its returned values, {}) or (None, the item as it was)."""
        if _INTERVAL in update["ConditionExpression"]:
            update = update | {"ExpressionAttributeNames": {_INTERVAL: "Interval"}}
        try:
            response = self._table.update_item(
                Key={"Budget": budget}, ReturnValuesOnConditionCheckFailure="ALL_OLD", **update
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise classify_client_error(exc) from exc
            return None, plain_item(exc.response.get("Item", {}))
        return response.get("Attributes", {}), {}

    # ------------------------------------------------------------------ operators
    def set_rate(self, budget: str, rate: float | None) -> None:
        """An operator's rate for one budget (None: back to its channel's default)."""
        if rate is None:
            update: dict[str, Any] = {"UpdateExpression": f"REMOVE {_INTERVAL}, Rate"}
        else:
            update = {
                "UpdateExpression": f"SET {_INTERVAL} = :interval, Rate = :rate",
                "ExpressionAttributeValues": {
                    ":interval": _span(1 / rate),
                    ":rate": _number(rate),
                },
            }
        with aws_errors():
            self._table.update_item(
                Key={"Budget": budget}, ExpressionAttributeNames={_INTERVAL: "Interval"}, **update
            )

    def budgets(self) -> list[dict[str, Any]]:
        """Every budget item (a scan: for operators, not for sends)."""
        items: list[dict[str, Any]] = []
        page: dict[str, Any] = {}
        with aws_errors():
            while True:
                response = self._table.scan(**page)
                items += response.get("Items", [])
                if "LastEvaluatedKey" not in response:
                    return sorted(items, key=lambda item: item["Budget"])
                page = {"ExclusiveStartKey": response["LastEvaluatedKey"]}


def _number(value: float) -> Decimal:
    # Microseconds are precision enough for a slot; DynamoDB numbers are decimal.
    return Decimal(str(round(value, 6)))


def _span(seconds: float) -> Decimal:
    """A block's length to the microsecond, rounded up: slots are never closer than the
    interval (rounded down, three slots of 1/3 s would fit four sends in one second)."""
    microseconds = math.ceil(round(seconds * 1_000_000, 3))  # 0.30000000000000004 is 0.3
    return Decimal(microseconds).scaleb(-6)
