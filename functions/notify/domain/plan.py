"""Turn queued messages into the requests and deliveries the state machine maps over."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

from notify.domain.channels import CHANNELS
from notify.domain.content import refuse_uncarriable
from notify.domain.errors import (
    FALLBACK_AFTER_OUT_OF_RANGE,
    INVALID_MESSAGE,
    OPTED_OUT,
    PermanentError,
)
from notify.domain.inbound import opt_out_address
from notify.domain.outcomes import REJECTED
from notify.domain.pacing import BULK, LANES, TRANSACTIONAL
from notify.domain.recipients import channel_key
from notify.domain.steps import AWAITED_RECEIPTS, DeliveryStep, ExecutionPlan, Outcome, Planned
from notify.domain.templates import LOCALE, LOCALE_FIELD
from notify.domain.tenants import queued_owner

# What the API and the trigger function queue: `{"Caller": {...}, "Request": {...}}`.
ENVELOPE_KEYS = ("Caller", "Request")


def plan(queued_body: str) -> Planned:
    """Expand a queued `{"Caller": ..., "Request": ...}` body into per-recipient deliveries.

    The API validated the request against its schema; this re-checks only what the
    rest of the workflow relies on, because a DLQ message can be edited by hand and the
    queue is a trust boundary of its own: the envelope is read strictly (no repeated
    key, no key beside Caller and Request, a Caller as the API or a trigger writes it).
    Each address is planned in its canonical form (see `_deliveries`).
    """
    envelope = _parse(queued_body)
    caller, request = envelope.get("Caller"), envelope.get("Request")
    if not isinstance(caller, dict) or not isinstance(caller.get("sub"), str) or not caller["sub"]:
        raise PermanentError(INVALID_MESSAGE, "the queued message has no Caller.sub")
    if not isinstance(request, dict):
        raise PermanentError(INVALID_MESSAGE, "the queued message has no Request object")
    extra = sorted(key for key in envelope if key not in ENVELOPE_KEYS)
    if extra:
        raise PermanentError(
            INVALID_MESSAGE, f"the queued message has keys beside Caller and Request: {extra}"
        )
    trace_id = request.get("TraceId")
    if not isinstance(trace_id, str) or not trace_id:
        raise PermanentError(INVALID_MESSAGE, "Request.TraceId must be a non-empty string")
    refuse_uncarriable("Request.TraceId", trace_id, one_line=True)
    return Planned(
        trace_id,
        queued_owner(caller),
        caller,
        {c.block: request[c.block] for c in CHANNELS.values() if c.block in request},
        tuple(_deliveries(request.get("Addresses"), request.get(LOCALE_FIELD))),
        send_at=request.get("SendAt"),
        # Whether a recipient who opted out of its channel is tried on its fallbacks.
        fallback_on_opt_out=request.get("FallbackOnOptOut") is True,
        fallback_after_seconds=request.get("FallbackAfterSeconds"),
        # A fallback's continuation: each next channel -> the channel whose receipt decides.
        awaited_receipts=_awaited_receipts(request.get(AWAITED_RECEIPTS)),
        priority=_priority(request.get("Priority")),
    )


def _priority(value: object) -> str | None:
    """The request's lane when it is not the default one (transactional)."""
    if value in (None, TRANSACTIONAL):
        return None
    if value != BULK:
        raise PermanentError(INVALID_MESSAGE, f"Priority must be one of {list(LANES)}")
    return BULK


def _awaited_receipts(value: object) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise PermanentError(INVALID_MESSAGE, f"{AWAITED_RECEIPTS} must map channels to channels")
    return value


def check_fallback_after(planned: Planned) -> None:
    """PermanentError(FallbackAfterOutOfRange) for a wait past the API's bound (a day).

    The wait is a one-time schedule outside any execution, so no execution bounds it.
    """
    seconds = planned.fallback_after_seconds
    if seconds is None:
        return
    if not isinstance(seconds, int) or isinstance(seconds, bool) or not 1 <= seconds <= 86400:
        raise PermanentError(
            FALLBACK_AFTER_OUT_OF_RANGE,
            "FallbackAfterSeconds must be a whole number from 1 to 86400 (a day)",
        )


def recipient_keys(planned: Planned) -> list[list[str]]:
    """Each recipient's channels as `CHANNEL#address`, as the trace's header lists them.

    One list per recipient: its channel, then its fallbacks in order. Kept on the header
    so that a scheduled trace shows its recipients and a cancel reaches those whose send
    has not begun (they have no item of their own yet).
    """
    return [[channel_key(c) for c in chain(r)] for r in planned.deliveries]


def chain(recipient: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A recipient's channels in the order they are tried: its own, then its fallbacks.

    Each fallback is sent with its own channel's block and the recipient's substitutions
    and locale.
    """
    first = {key: value for key, value in recipient.items() if key != "Fallback"}
    shared = {key: first[key] for key in ("Substitutions", LOCALE_FIELD) if key in first}
    fallbacks = [
        {"Address": f["Address"], "ChannelType": f["ChannelType"], **shared}
        for f in recipient.get("Fallback", [])
    ]
    return [first, *fallbacks]


def rejected_all(planned: Planned, error: PermanentError) -> list[Outcome]:
    """A REJECTED outcome for every recipient of a request refused as a whole."""
    return [_rejected(planned, recipient, str(error)) for recipient in planned.deliveries]


def _rejected(planned: Planned, recipient: dict[str, Any], cause: str) -> Outcome:
    return Outcome(
        planned.trace_id, planned.owner, recipient, REJECTED, error="PermanentError", cause=cause
    )


def execution_plan(
    claimed: list[Planned],
    send_functions: Mapping[str, str],
    opted_out: Collection[tuple[str, str]] = (),
) -> ExecutionPlan:
    """The Map's input: each claimed request once, then one delivery per recipient.

    A delivery names its request by index (the Map's ItemSelector picks it), so a
    request's message blocks are in the state once, however many recipients it has,
    and the channel's send function, so one Task state sends every channel. A
    recipient who opted out of its channel is not sent to: it is `Rejected` here, and
    tried on its fallbacks only if the request says `FallbackOnOptOut`. Fallback
    channels the person opted out of are skipped.
    """
    deliveries, rejected = [], []
    for index, planned in enumerate(claimed):
        for recipient in planned.deliveries:
            first, *fallbacks = chain(recipient)
            fallbacks = [f for f in fallbacks if opt_out_key(f) not in opted_out]
            if opt_out_key(first) in opted_out:
                rejected.append(_opted_out(planned, first))
                if not (planned.fallback_on_opt_out and fallbacks):
                    continue
                first, *fallbacks = fallbacks
            channels = _awaiting([first, *fallbacks], planned.fallback_after_seconds)
            deliveries.append(_delivery(index, channels, send_functions))
    requests = tuple(planned.entry() for planned in claimed)
    return ExecutionPlan(requests, tuple(deliveries), tuple(rejected))


def _awaiting(channels: list[dict[str, Any]], seconds: int | None) -> list[dict[str, Any]]:
    """With FallbackAfterSeconds, each channel that has a next one waits for its receipt."""
    if not seconds:
        return channels
    *earlier, last = channels
    return [channel | {"AwaitDeliverySeconds": seconds} for channel in earlier] + [last]


def _delivery(
    index: int, channels: list[dict[str, Any]], send_functions: Mapping[str, str]
) -> DeliveryStep:
    """The first channel's delivery; each fallback nested as the one before's `next`."""

    def step(recipient: dict[str, Any], following: DeliveryStep | None = None) -> DeliveryStep:
        return DeliveryStep(index, send_functions[recipient["ChannelType"]], recipient, following)

    *earlier, last = channels
    delivery = step(last)
    for recipient in reversed(earlier):
        delivery = step(recipient, delivery)
    return delivery


def opt_out_key(recipient: Mapping[str, Any]) -> tuple[str, str] | None:
    """The opt-outs table's (Address, Channel) of a recipient; None for an invalid address.

    An invalid address is left to its send function, which rejects it with the reason.
    """
    channel = recipient["ChannelType"]
    try:
        address = CHANNELS[channel].canonical_address(recipient["Address"])
    except PermanentError:
        return None
    return opt_out_address(channel, address), channel


def _opted_out(planned: Planned, recipient: dict[str, Any]) -> Outcome:
    channel = recipient["ChannelType"]
    cause = f"{OPTED_OUT}: {recipient['Address']} has opted out of {channel}"
    return _rejected(planned, recipient, cause)


class _RepeatedKey(ValueError):
    """A JSON object naming one key twice: json.loads would silently keep the last."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _RepeatedKey(key)
        found[key] = value
    return found


def _parse(queued_body: str) -> dict[str, Any]:
    try:
        envelope = json.loads(queued_body, object_pairs_hook=_unique_keys)
    except _RepeatedKey as exc:
        # repr() escapes what a dead letter's attributes could not carry (a lone surrogate).
        raise PermanentError(
            INVALID_MESSAGE, f"the queued body repeats the key {exc.args[0]!r} in one object"
        ) from None
    except RecursionError:
        raise PermanentError(INVALID_MESSAGE, "the queued body is nested too deeply") from None
    except (TypeError, ValueError) as exc:
        raise PermanentError(INVALID_MESSAGE, f"the queued body is not JSON ({exc})") from exc
    if not isinstance(envelope, dict):
        raise PermanentError(INVALID_MESSAGE, "the queued body is not a JSON object")
    return envelope


def _deliveries(addresses: object, locale: object = None) -> list[dict[str, Any]]:
    """One delivery per recipient, each address (and fallback address) in canonical form,
    each with its locale: its own, else the request's `locale` (if any).

    The canonical form (E.164, `whatsapp:` + E.164, an e-mail with its domain lower-cased)
    is what the provider is given, so it is also what keys the send-once record, the
    trace, the opt-out and a cancel. Two spellings of one recipient on one channel are one
    recipient: the first in the request is planned, the later ones are dropped. An
    invalid address stays as written, so that its send function rejects it with the reason.
    """
    if not isinstance(addresses, dict) or not addresses:
        raise PermanentError(INVALID_MESSAGE, "Request.Addresses must name at least one recipient")
    deliveries, planned = [], set()
    for address, spec in addresses.items():
        # Checked first: the errors below name the address.
        refuse_uncarriable("a key of Request.Addresses", address, one_line=True)
        channel = spec.get("ChannelType") if isinstance(spec, dict) else None
        if channel not in CHANNELS:
            raise PermanentError(
                INVALID_MESSAGE, f"{address}: ChannelType must be one of {sorted(CHANNELS)}"
            )
        _check_address(address, channel, "a key of Request.Addresses")
        fallbacks = _fallbacks(address, spec.get("Fallback", []))
        canonical = _canonical(address, channel)
        if (channel, canonical) in planned:
            continue
        planned.add((channel, canonical))
        delivery = {"Address": canonical} | {k: v for k, v in spec.items() if k != "Address"}
        if locale is not None:
            delivery.setdefault(LOCALE_FIELD, locale)
        _check_locale(address, delivery.get(LOCALE_FIELD))
        if "Fallback" in spec:
            delivery["Fallback"] = fallbacks
        deliveries.append(delivery)
    return deliveries


def _check_locale(address: str, locale: object) -> None:
    """The schema's rule again: the send path splits the tag (`templates.choose_locale`)."""
    if locale is not None and not (isinstance(locale, str) and LOCALE.fullmatch(locale)):
        raise PermanentError(INVALID_MESSAGE, f"{address}: Locale {locale!r} is no language tag")


def _fallbacks(address: str, fallbacks: object) -> list[dict[str, Any]]:
    """The recipient's fallbacks, checked, each address in canonical form."""
    if not isinstance(fallbacks, list) or not all(
        isinstance(f, dict)
        and f.get("ChannelType") in CHANNELS
        and isinstance(f.get("Address"), str)
        for f in fallbacks
    ):
        raise PermanentError(
            INVALID_MESSAGE, f"{address}: each Fallback needs a ChannelType and an Address"
        )
    for fallback in fallbacks:
        _check_address(fallback["Address"], fallback["ChannelType"], f"a Fallback of {address}")
    return [f | {"Address": _canonical(f["Address"], f["ChannelType"])} for f in fallbacks]


def _canonical(address: str, channel: str) -> str:
    """The address as its provider is given it, or as written when it is invalid."""
    try:
        return CHANNELS[channel].canonical_address(address)
    except PermanentError:
        return address


def _check_address(address: str, channel: str, label: str) -> None:
    """PermanentError(INVALID_MESSAGE) for an address that cannot be a key nor be sent.

    What no provider can carry (a lone surrogate, NUL, a control character) would also
    fail the trace's writes; a key is at most 1 KB.
    """
    refuse_uncarriable(label, address, one_line=True)
    limit = CHANNELS[channel].address_limit
    if len(address) > limit:
        raise PermanentError(
            INVALID_MESSAGE, f"{address[:40]}...: a {channel} address is at most {limit} characters"
        )
