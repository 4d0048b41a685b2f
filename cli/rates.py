"""`messaging rates` and `messaging senders rate`: each sender's send budget.

The send budgets table (output SendBudgetsTableName) holds one item per budget that a send
has booked or an operator has set, keyed as `Channel.budget_key` builds it (`EMAIL`, the
SES account; `SMS#pool-1`, `WHATSAPP#whatsapp:+14155238886`, `VOICE#+18005550100`, one per
sender): the operator's rate if there is one, and the slot timeline the send functions book
(functions/notify/integration/budgets.py). A budget without an operator's rate has its
channel's default, the stack's *SendRate parameters (output SendRates).
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

from cli.errors import CommandError
from cli.output import table, to_json
from cli.target import Context
from notify.domain.channels import CHANNELS, Channel, InvalidSender
from notify.integration.budgets import BudgetStore
from notify.integration.dynamodb_table import DynamoTable

EXAMPLES = "EMAIL, SMS#pool-1, WHATSAPP#whatsapp:+14155238886, VOICE#+18005550100"
# The sender of the budget that a message naming none spends: the account's own identity.
ACCOUNT_IDENTITY = "-"
OPERATOR, DEFAULT = "operator", "default"


def _store(ctx: Context) -> BudgetStore:
    target = ctx.target()
    return BudgetStore(
        DynamoTable(target.client("dynamodb"), target.output("SendBudgetsTableName"))
    )


def parse_rates(text: str) -> dict[str, float]:
    """The SendRates output, `EMAIL=14,SMS=20,...`: each channel's default, per second."""
    try:
        pairs = (entry.split("=", 1) for entry in text.split(",") if entry)
        return {channel.strip(): float(rate) for channel, rate in pairs}
    except ValueError:
        raise CommandError(f"the stack's output SendRates is not CHANNEL=N,...: {text!r}") from None


def budget_key(channel: Channel, sender: str | None) -> str:
    """The budget of `channel`'s `sender`, as the send functions key it (`budget_key`)."""
    if channel.budget_sender is None:
        if sender:
            raise CommandError(f"{channel.name} has one budget, the account's: {channel.name}")
        return channel.budget_key({})
    if not sender:
        raise CommandError(
            f"{channel.name} has a budget per sender: {channel.name}#SENDER "
            f"({channel.name}#{ACCOUNT_IDENTITY}: the account's own identity)"
        )
    if sender == ACCOUNT_IDENTITY:
        return channel.budget_key({})
    try:
        channel.budget_sender(sender)
    except InvalidSender as exc:
        raise CommandError(str(exc)) from None
    return channel.budget_key({channel.sender_field: sender})


def parse_budget(text: str) -> str:
    """A budget as an operator writes it, `SMS#pool-1`, in the send functions' form."""
    name, _, sender = text.partition("#")
    channel = CHANNELS.get(name.upper())
    if channel is None:
        raise CommandError(f"unknown budget {text!r}: CHANNEL or CHANNEL#SENDER, e.g. {EXAMPLES}")
    return budget_key(channel, sender)


def _rate(text: str) -> float:
    try:
        rate = float(text)
    except ValueError:
        rate = 0.0
    if not rate > 0 or rate == float("inf"):
        raise CommandError(f"a rate is a positive number of messages per second, not {text!r}")
    return rate


def requested(args: argparse.Namespace) -> tuple[str, float | None]:
    """(the budget, its new rate or None for the channel's default) from the arguments."""
    words = [word for word in (args.budget, args.rate) if word is not None]
    if args.channel is not None:
        budget = budget_key(CHANNELS[args.channel], args.sender)
    elif args.sender is not None:
        raise CommandError("--sender goes with --channel")
    elif not words:
        raise CommandError(f"name the budget: SENDER (e.g. {EXAMPLES}) or --channel C --sender S")
    else:
        budget = parse_budget(words.pop(0))
    if args.default:
        if words:
            raise CommandError("give either a rate N or --default, not both")
        return budget, None
    if len(words) != 1:
        raise CommandError("give the rate N (messages per second), or --default")
    return budget, _rate(words[0])


def set_rate(args: argparse.Namespace, ctx: Context) -> int:
    budget, rate = requested(args)
    _store(ctx).set_rate(budget, rate)
    default = _default_of(budget, ctx.target().outputs.get("SendRates"))
    if rate is None:
        print(f"{budget}: back to its channel's default" + (f", {default:g}/s" if default else ""))
    else:
        suffix = f" (its channel's default: {default:g}/s)" if default else ""
        print(f"{budget}: {rate:g}/s, set by the operator{suffix}")
    return 0


def _default_of(budget: str, send_rates: str | None) -> float | None:
    return parse_rates(send_rates).get(_channel_of(budget)) if send_rates else None


def _channel_of(budget: str) -> str:
    return budget.partition("#")[0]


def run(args: argparse.Namespace, ctx: Context) -> int:
    defaults = parse_rates(ctx.target().output("SendRates"))
    budgets = [describe(item, defaults, time.time()) for item in _store(ctx).budgets()]
    if args.json:
        print(to_json(budgets))
        return 0
    print("\n".join(render(budgets, defaults)))
    return 0


def describe(item: dict[str, Any], defaults: dict[str, float], now: float) -> dict[str, Any]:
    """One budget: its rate, how far ahead its slots are booked, and its bulk line.

    `Tat` is when the budget's next free slot begins, so the time booked ahead is what the
    transactional lane waits behind; `BulkTat` ends the bulk line, which waits after it.
    """
    default = defaults.get(_channel_of(item["Budget"]))
    rate = float(item["Rate"]) if "Rate" in item else default
    tat = float(item.get("Tat", 0))
    ahead = max(0.0, tat - now)
    bulk = max(0.0, float(item.get("BulkTat", 0)) - max(tat, now))
    return {
        "Budget": item["Budget"],
        "Rate": rate,
        "RateSetBy": OPERATOR if "Rate" in item else DEFAULT,
        "DefaultRate": default,
        "BookedAheadSeconds": round(ahead, 3),
        "BookedAheadSends": _sends(ahead, rate),
        "BulkLineSeconds": round(bulk, 3),
        "BulkLineSends": _sends(bulk, rate),
    }


def _sends(seconds: float, rate: float | None) -> int | None:
    """The sends in `seconds` of a timeline: the slots not begun, and the one under way."""
    return math.ceil(round(seconds * rate, 3)) if rate else None


def render(budgets: list[dict[str, Any]], defaults: dict[str, float]) -> list[str]:
    lines = ["no send budget booked or set yet"] if not budgets else []
    if budgets:
        headers = ["BUDGET", "RATE/S", "SET BY", "BOOKED AHEAD", "BULK LINE"]
        rows = [
            [
                b["Budget"],
                f"{b['Rate']:g}" if b["Rate"] is not None else "?",
                b["RateSetBy"],
                _waiting(b["BookedAheadSeconds"], b["BookedAheadSends"]),
                _waiting(b["BulkLineSeconds"], b["BulkLineSends"]),
            ]
            for b in budgets
        ]
        lines += table(headers, rows)
    scopes = [
        f"{name} {defaults[name]:g}" + ("" if channel.budget_sender is None else " per sender")
        for name, channel in CHANNELS.items()
        if name in defaults
    ]
    return [*lines, "defaults, messages per second: " + ", ".join(scopes)]


def _waiting(seconds: float, sends: int | None) -> str:
    if not seconds:
        return "-"
    return f"{seconds:.1f} s" + (f" ({sends} sends)" if sends is not None else "")
