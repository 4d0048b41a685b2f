"""What one state of the Delivery state machine hands the next, as types.

Each payload has one JSON form, written by `to_json` and read by `from_json`. Its field
names are the ones statemachine/delivery.asl.json reads, and its Pass states build
outcomes of their own: tests/unit/domain/test_steps.py checks those against `Outcome`.
Optional fields are left out of the JSON when absent.

`from_json` refuses a key it does not know. These payloads come only from this stack's
functions and its ASL, deployed together: an unknown key means one changed without the
other, and dropping it would silently lose what the producer meant the next state to see.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]

# In a fallback's continuation (a queued request, and so in Planned): each next channel's
# key -> the earlier channel's key, whose delivery receipt decides whether it is sent.
AWAITED_RECEIPTS = "AwaitedReceipts"


def _read(
    data: Any, what: str, required: Iterable[str], optional: Iterable[str] = ()
) -> Mapping[str, Any]:
    """`data`, a JSON object with every required key and no unknown one; else ValueError."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{what} must be a JSON object, not {type(data).__name__}")
    required = tuple(required)
    missing = [key for key in required if key not in data]
    if missing:
        raise ValueError(f"{what} lacks {missing}")
    unknown = sorted(set(data) - {*required, *optional})
    if unknown:
        raise ValueError(f"{what} has keys it does not know: {unknown}")
    return data


def _present(values: Mapping[str, Any]) -> Json:
    """The JSON object of `values`, without the absent (None) ones."""
    return {key: value for key, value in values.items() if value is not None}


@dataclass(frozen=True)
class DeliveryStep:
    """One channel of one recipient in the Deliver Map, and the channel it falls back to.

    `request` is its request's index in the plan's `requests` (the Map's ItemSelector picks
    it, so a request's message blocks are in the state once); `function` is its channel's
    send function. `next` nests the fallback: the ASL moves on with one Pass
    (`$.Delivery.Next`), and its paths cannot slice a list.
    """

    request: int
    function: str
    recipient: Json
    next: DeliveryStep | None = None

    def to_json(self) -> Json:
        return _present(
            {
                "Request": self.request,
                "Function": self.function,
                "Recipient": self.recipient,
                "Next": self.next.to_json() if self.next else None,
            }
        )

    @classmethod
    def from_json(cls, data: Any) -> DeliveryStep:
        _read(data, "a delivery step", ("Request", "Function", "Recipient"), ("Next",))
        following = data.get("Next")
        return cls(
            data["Request"],
            data["Function"],
            data["Recipient"],
            cls.from_json(following) if following is not None else None,
        )

    def chain(self) -> list[Json]:
        """Its recipient, then each fallback's, in the order they are tried."""
        step: DeliveryStep | None = self
        found = []
        while step:
            found.append(step.recipient)
            step = step.next
        return found


@dataclass(frozen=True)
class GivenUp:
    """A channel a recipient was given up on, with the error caught there (`$.Error`)."""

    recipient: Json
    error: str | None = None
    cause: str | None = None


@dataclass(frozen=True)
class Tried:
    """The channels given up on before a recipient's current one, the latest first.

    In the JSON, the ASL's nested `[recipient, error, earlier]` triples ending in `[]`:
    NextChannel builds them with States.Array, as a path cannot append to a list.
    """

    given_up: tuple[GivenUp, ...] = ()

    def to_json(self) -> list[Any]:
        nested: list[Any] = []
        for channel in reversed(self.given_up):
            error = _present({"Error": channel.error, "Cause": channel.cause})
            nested = [channel.recipient, error, nested]
        return nested

    @classmethod
    def from_json(cls, nested: Any) -> Tried:
        given_up = []
        while nested:
            if not isinstance(nested, list) or len(nested) != 3:
                raise ValueError(f"Tried must nest [recipient, error, earlier], not {nested!r}")
            recipient, error, nested = nested
            _read(error, "a Tried error", (), ("Error", "Cause"))
            given_up.append(GivenUp(recipient, error.get("Error"), error.get("Cause")))
        return cls(tuple(given_up))


_OUTCOME_REQUIRED = ("TraceId", "Owner", "Recipient", "Status")
_OUTCOME_OPTIONAL = (
    "Error",
    "Cause",
    "ProviderMessageId",
    "SentAt",
    "Segments",
    "Encoding",
    "Delivery",
    "Tried",
    "FellBack",
)


@dataclass(frozen=True)
class Outcome:
    """What became of one recipient on one channel: a Map iteration's answer, for Record.

    A send function answers SENT, with the provider's id, or CANCELLED. The ASL's Pass
    states build the others from what they caught: AWAITING (sent; the next channel waits
    for its receipt), REJECTED and FAILED, each with the Map's `delivery`, which
    RetryExhausted sends again and Record continues on `delivery.next`. Plan rejects the
    opted-out, and the reconciler fails what an execution left unsent. `tried`: the
    channels given up on before this one; `fell_back` marks each of those once Record
    lists them as outcomes of their own (`outcomes.with_tried`).
    """

    trace_id: str
    owner: str
    recipient: Json
    status: str
    error: str | None = None
    cause: str | None = None
    provider_message_id: str | None = None
    sent_at: str | None = None
    segments: int | None = None
    encoding: str | None = None
    delivery: DeliveryStep | None = None
    tried: Tried = field(default_factory=Tried)
    fell_back: bool = False

    def to_json(self) -> Json:
        return _present(
            {
                "TraceId": self.trace_id,
                "Owner": self.owner,
                "Recipient": self.recipient,
                "Status": self.status,
                "Error": self.error,
                "Cause": self.cause,
                "ProviderMessageId": self.provider_message_id,
                "SentAt": self.sent_at,
                "Segments": self.segments,
                "Encoding": self.encoding,
                "Delivery": self.delivery.to_json() if self.delivery else None,
                "Tried": self.tried.to_json() if self.tried.given_up else None,
                "FellBack": True if self.fell_back else None,
            }
        )

    @classmethod
    def from_json(cls, data: Any) -> Outcome:
        _read(data, "an outcome", _OUTCOME_REQUIRED, _OUTCOME_OPTIONAL)
        delivery = data.get("Delivery")
        return cls(
            *(data[key] for key in _OUTCOME_REQUIRED),
            error=data.get("Error"),
            cause=data.get("Cause"),
            provider_message_id=data.get("ProviderMessageId"),
            sent_at=data.get("SentAt"),
            segments=data.get("Segments"),
            encoding=data.get("Encoding"),
            delivery=DeliveryStep.from_json(delivery) if delivery is not None else None,
            tried=Tried.from_json(data.get("Tried")),
            fell_back=data.get("FellBack") is True,
        )


@dataclass(frozen=True)
class RequestEntry:
    """A claimed request as the execution keeps it: once, however many recipients it has.

    What its sends need (TraceId, Owner, Messages), what Record needs to dead-letter it
    alone (Caller) and, when it waits for receipts, to keep its fallbacks' continuation
    (FallbackAfterSeconds and FallbackOnOptOut, present only with a wait).
    """

    trace_id: str
    owner: str
    caller: Json
    messages: Json
    fallback_after_seconds: int | None = None
    fallback_on_opt_out: bool = False
    # "bulk", or None: transactional (pacing.lane_of).
    priority: str | None = None
    # A continuation's: what a recipient carried on again still awaits (AWAITED_RECEIPTS).
    awaited_receipts: dict[str, str] | None = None

    def to_json(self) -> Json:
        entry = {
            "TraceId": self.trace_id,
            "Owner": self.owner,
            "Caller": self.caller,
            "Messages": self.messages,
        }
        if self.fallback_after_seconds:
            entry["FallbackAfterSeconds"] = self.fallback_after_seconds
            entry["FallbackOnOptOut"] = self.fallback_on_opt_out
        return entry | _present(
            {"Priority": self.priority, AWAITED_RECEIPTS: self.awaited_receipts}
        )

    @classmethod
    def from_json(cls, data: Any) -> RequestEntry:
        required = ("TraceId", "Owner", "Caller", "Messages")
        optional = ("FallbackAfterSeconds", "FallbackOnOptOut", "Priority", AWAITED_RECEIPTS)
        _read(data, "a request entry", required, optional)
        return cls(
            *(data[key] for key in required),
            fallback_after_seconds=data.get("FallbackAfterSeconds"),
            fallback_on_opt_out=data.get("FallbackOnOptOut") is True,
            priority=data.get("Priority"),
            awaited_receipts=data.get(AWAITED_RECEIPTS),
        )


@dataclass(frozen=True)
class Planned:
    """A queued request as Plan reads it: whom to send what, when, and how to fall back.

    `deliveries` are its recipients, each address canonical, each with its `Fallback`s.
    `send_at` and `fallback_after_seconds` are as queued: they are checked where they are
    used (`schedule.send_at`, `plan.check_fallback_after`), so that a bad one rejects the
    request's recipients rather than the request. `awaited_receipts` marks a fallback's
    continuation (AWAITED_RECEIPTS).
    """

    trace_id: str
    owner: str
    caller: Json
    messages: Json
    deliveries: tuple[Json, ...]
    send_at: Any = None
    fallback_on_opt_out: bool = False
    fallback_after_seconds: Any = None
    awaited_receipts: dict[str, str] | None = None
    priority: str | None = None

    def entry(self) -> RequestEntry:
        """What the execution keeps of it."""
        return RequestEntry(
            self.trace_id,
            self.owner,
            self.caller,
            self.messages,
            self.fallback_after_seconds,
            self.fallback_on_opt_out,
            self.priority,
            self.awaited_receipts,
        )

    def to_json(self) -> Json:
        return _present(
            {
                "TraceId": self.trace_id,
                "Owner": self.owner,
                "Caller": self.caller,
                "Messages": self.messages,
                "Deliveries": list(self.deliveries),
                "SendAt": self.send_at,
                "FallbackOnOptOut": self.fallback_on_opt_out,
                "FallbackAfterSeconds": self.fallback_after_seconds,
                AWAITED_RECEIPTS: self.awaited_receipts,
                "Priority": self.priority,
            }
        )

    @classmethod
    def from_json(cls, data: Any) -> Planned:
        required = ("TraceId", "Owner", "Caller", "Messages", "Deliveries", "FallbackOnOptOut")
        optional = ("SendAt", "FallbackAfterSeconds", AWAITED_RECEIPTS, "Priority")
        _read(data, "a planned request", required, optional)
        return cls(
            data["TraceId"],
            data["Owner"],
            data["Caller"],
            data["Messages"],
            tuple(data["Deliveries"]),
            send_at=data.get("SendAt"),
            fallback_on_opt_out=data["FallbackOnOptOut"] is True,
            fallback_after_seconds=data.get("FallbackAfterSeconds"),
            awaited_receipts=data.get(AWAITED_RECEIPTS),
            priority=data.get("Priority"),
        )


@dataclass(frozen=True)
class ExecutionPlan:
    """Plan's answer, the Deliver Map's input: each claimed request once, a step per recipient.

    `rejected`: outcomes decided in Plan, for Record; `already_handled`: the requests other
    executions claimed ({TraceId, Owner}); `held`: the SQS records a synchronous (EXPRESS)
    pipe gives back to the queue, as its `batchItemFailures` entries.
    """

    requests: tuple[RequestEntry, ...] = ()
    deliveries: tuple[DeliveryStep, ...] = ()
    rejected: tuple[Outcome, ...] = ()
    already_handled: tuple[Json, ...] = ()
    held: tuple[Json, ...] = ()

    def to_json(self) -> Json:
        return {
            "Requests": [request.to_json() for request in self.requests],
            "Deliveries": [delivery.to_json() for delivery in self.deliveries],
            "Rejected": [outcome.to_json() for outcome in self.rejected],
            "AlreadyHandled": list(self.already_handled),
            "batchItemFailures": list(self.held),
        }

    @classmethod
    def from_json(cls, data: Any) -> ExecutionPlan:
        keys = ("Requests", "Deliveries", "Rejected", "AlreadyHandled", "batchItemFailures")
        _read(data, "an execution plan", keys)
        return cls(
            tuple(RequestEntry.from_json(request) for request in data["Requests"]),
            tuple(DeliveryStep.from_json(delivery) for delivery in data["Deliveries"]),
            tuple(Outcome.from_json(outcome) for outcome in data["Rejected"]),
            tuple(data["AlreadyHandled"]),
            tuple(data["batchItemFailures"]),
        )
