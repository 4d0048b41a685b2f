"""Turn queued messages into the requests and deliveries the state machine maps over."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

from notify.domain.addresses import normalize_email, normalize_phone, normalize_whatsapp
from notify.domain.errors import (
    FALLBACK_AFTER_OUT_OF_RANGE,
    INVALID_MESSAGE,
    OPTED_OUT,
    PermanentError,
)
from notify.domain.inbound import opt_out_address
from notify.domain.recipients import channel_key
from notify.domain.tenants import queued_owner

# Which block of the request carries each channel's message.
MESSAGE_BLOCKS = {"EMAIL": "EmailMessage", "SMS": "SMSMessage", "WHATSAPP": "WhatsAppMessage"}
# A queued body Plan cannot read is dead-lettered alone; this marker, on the traces table
# under its SQS message id, says it was (tenant owners always have a "kind:" prefix).
UNREADABLE_OWNER = "unreadable"
# An address is part of DynamoDB keys (at most 1 KB), so the API's schema bounds its length.
ADDRESS_LIMITS = {"EMAIL": 254, "SMS": 32, "WHATSAPP": 32}


def plan(queued_body: str) -> dict[str, Any]:
    """Expand a queued `{"Caller": ..., "Request": ...}` body into per-recipient deliveries.

    The API validated the request against its schema; this re-checks only what the
    rest of the workflow relies on, because a DLQ message can be edited by hand.
    """
    envelope = _parse(queued_body)
    caller, request = envelope.get("Caller"), envelope.get("Request")
    if not isinstance(caller, dict) or not isinstance(caller.get("sub"), str) or not caller["sub"]:
        raise PermanentError(INVALID_MESSAGE, "the queued message has no Caller.sub")
    if not isinstance(request, dict):
        raise PermanentError(INVALID_MESSAGE, "the queued message has no Request object")
    trace_id = request.get("TraceId")
    if not isinstance(trace_id, str) or not trace_id:
        raise PermanentError(INVALID_MESSAGE, "Request.TraceId must be a non-empty string")
    return {
        "TraceId": trace_id,
        "Owner": queued_owner(caller),
        "Caller": caller,
        "Messages": {
            block: request[block] for block in MESSAGE_BLOCKS.values() if block in request
        },
        "Deliveries": _deliveries(request.get("Addresses")),
        "SendAt": request.get("SendAt"),
        # Whether a recipient who opted out of its channel is tried on its fallbacks.
        "FallbackOnOptOut": request.get("FallbackOnOptOut") is True,
        "FallbackAfterSeconds": request.get("FallbackAfterSeconds"),
    }


def check_fallback_after(planned: Mapping[str, Any], execution_timeout_seconds: int) -> None:
    """PermanentError(FallbackAfterOutOfRange) for a wait the execution cannot hold.

    At most half the execution's timeout: the other half is for its other steps, the
    sends' retries and the next channel.
    """
    seconds = planned.get("FallbackAfterSeconds")
    if seconds is None:
        return
    longest = execution_timeout_seconds // 2
    if not isinstance(seconds, int) or isinstance(seconds, bool) or not 1 <= seconds <= longest:
        raise PermanentError(
            FALLBACK_AFTER_OUT_OF_RANGE,
            f"FallbackAfterSeconds must be a whole number from 1 to {longest} "
            f"(half the execution timeout, {execution_timeout_seconds} s)",
        )


def recipient_keys(planned: Mapping[str, Any]) -> list[list[str]]:
    """Each recipient's channels as `CHANNEL#address`, as the trace's header lists them.

    One list per recipient: its channel, then its fallbacks in order. Kept on the header
    so that a scheduled trace shows its recipients and a cancel reaches those whose send
    has not begun (they have no item of their own yet).
    """
    return [[channel_key(c) for c in chain(r)] for r in planned["Deliveries"]]


def chain(recipient: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A recipient's channels in the order they are tried: its own, then its fallbacks.

    Each fallback is sent with its own channel's block and the recipient's substitutions.
    """
    first = {key: value for key, value in recipient.items() if key != "Fallback"}
    shared = {"Substitutions": first["Substitutions"]} if "Substitutions" in first else {}
    fallbacks = [
        {"Address": f["Address"], "ChannelType": f["ChannelType"], **shared}
        for f in recipient.get("Fallback", [])
    ]
    return [first, *fallbacks]


def rejected_all(planned: Mapping[str, Any], error: PermanentError) -> list[dict[str, Any]]:
    """A REJECTED outcome for every recipient of a request refused as a whole."""
    return [
        {
            "TraceId": planned["TraceId"],
            "Owner": planned["Owner"],
            "Recipient": recipient,
            "Status": "REJECTED",
            "Error": "PermanentError",
            "Cause": str(error),
        }
        for recipient in planned["Deliveries"]
    ]


def unreadable_trace_id(message_id: str) -> str:
    """Where the dead-lettering of an unreadable queued message is recorded."""
    return f"sqs-message:{message_id}"


def execution_plan(
    claimed: list[dict[str, Any]],
    send_functions: Mapping[str, str],
    opted_out: Collection[tuple[str, str]] = (),
) -> dict[str, Any]:
    """The Map's input: each claimed request once, then one delivery per recipient.

    A delivery names its request by index (the Map's ItemSelector picks it), so a
    request's message blocks are in the state once, however many recipients it has,
    and the channel's send function, so one Task state sends every channel. A
    recipient who opted out of its channel is not sent to: it is `Rejected` here, and
    tried on its fallbacks only if the request says `FallbackOnOptOut`. Fallback
    channels the person opted out of are skipped.
    """
    requests, deliveries, rejected = [], [], []
    for index, planned in enumerate(claimed):
        requests.append({key: planned[key] for key in ("TraceId", "Owner", "Messages")})
        for recipient in planned["Deliveries"]:
            first, *fallbacks = chain(recipient)
            fallbacks = [f for f in fallbacks if opt_out_key(f) not in opted_out]
            if opt_out_key(first) in opted_out:
                rejected.append(_opted_out(planned, first))
                if not (planned.get("FallbackOnOptOut") and fallbacks):
                    continue
                first, *fallbacks = fallbacks
            channels = _awaiting([first, *fallbacks], planned.get("FallbackAfterSeconds"))
            deliveries.append(_delivery(index, channels, send_functions))
    return {"Requests": requests, "Deliveries": deliveries, "Rejected": rejected}


def _awaiting(channels: list[dict[str, Any]], seconds: int | None) -> list[dict[str, Any]]:
    """With FallbackAfterSeconds, each channel that has a next one waits for its receipt."""
    if not seconds:
        return channels
    *earlier, last = channels
    return [channel | {"AwaitDeliverySeconds": seconds} for channel in earlier] + [last]


def _delivery(
    index: int, channels: list[dict[str, Any]], send_functions: Mapping[str, str]
) -> dict[str, Any]:
    """The first channel's delivery; each fallback nested as the one before's `Next`.

    Nesting lets the workflow move on with one Pass (`$.Delivery.Next`): Step Functions'
    paths cannot slice a list.
    """

    def step(recipient: dict[str, Any]) -> dict[str, Any]:
        function = send_functions[recipient["ChannelType"]]
        return {"Request": index, "Function": function, "Recipient": recipient}

    *earlier, last = channels
    delivery = step(last)
    for recipient in reversed(earlier):
        delivery = step(recipient) | {"Next": delivery}
    return delivery


def opt_out_key(recipient: Mapping[str, Any]) -> tuple[str, str] | None:
    """The opt-outs table's (Address, Channel) of a recipient; None for an invalid address.

    An invalid address is left to its send function, which rejects it with the reason.
    """
    channel = recipient["ChannelType"]
    try:
        address = _NORMALIZE[channel](recipient["Address"])
    except PermanentError:
        return None
    return opt_out_address(channel, address), channel


_NORMALIZE = {"EMAIL": normalize_email, "SMS": normalize_phone, "WHATSAPP": normalize_whatsapp}


def _opted_out(planned: Mapping[str, Any], recipient: Mapping[str, Any]) -> dict[str, Any]:
    channel = recipient["ChannelType"]
    return {
        "TraceId": planned["TraceId"],
        "Owner": planned["Owner"],
        "Recipient": recipient,
        "Status": "REJECTED",
        "Error": "PermanentError",
        "Cause": f"{OPTED_OUT}: {recipient['Address']} has opted out of {channel}",
    }


def _parse(queued_body: str) -> dict[str, Any]:
    try:
        envelope = json.loads(queued_body)
    except (TypeError, ValueError) as exc:
        raise PermanentError(INVALID_MESSAGE, f"the queued body is not JSON ({exc})") from exc
    if not isinstance(envelope, dict):
        raise PermanentError(INVALID_MESSAGE, "the queued body is not a JSON object")
    return envelope


def _deliveries(addresses: object) -> list[dict[str, Any]]:
    if not isinstance(addresses, dict) or not addresses:
        raise PermanentError(INVALID_MESSAGE, "Request.Addresses must name at least one recipient")
    deliveries = []
    for address, spec in addresses.items():
        channel = spec.get("ChannelType") if isinstance(spec, dict) else None
        if channel not in MESSAGE_BLOCKS:
            raise PermanentError(
                INVALID_MESSAGE, f"{address}: ChannelType must be one of {sorted(MESSAGE_BLOCKS)}"
            )
        _check_address(address, channel)
        for fallback in _fallbacks(address, spec.get("Fallback", [])):
            _check_address(fallback["Address"], fallback["ChannelType"])
        deliveries.append({"Address": address, **spec})
    return deliveries


def _fallbacks(address: str, fallbacks: object) -> list[dict[str, Any]]:
    if not isinstance(fallbacks, list) or not all(
        isinstance(f, dict)
        and f.get("ChannelType") in MESSAGE_BLOCKS
        and isinstance(f.get("Address"), str)
        for f in fallbacks
    ):
        raise PermanentError(
            INVALID_MESSAGE, f"{address}: each Fallback needs a ChannelType and an Address"
        )
    return fallbacks


def _check_address(address: str, channel: str) -> None:
    if len(address) > ADDRESS_LIMITS[channel]:
        raise PermanentError(
            INVALID_MESSAGE,
            f"{address[:40]}...: a {channel} address is at most {ADDRESS_LIMITS[channel]} "
            "characters",
        )
