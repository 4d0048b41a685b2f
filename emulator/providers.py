"""The providers' side of the local stack: an outbox of everything sent, fault injection, and
the providers' send quotas.

The Lambda code is exactly the code that runs in AWS. SES v2 calls reach the emulated
endpoint (and its checks) and are observed here at the botocore level; End User
Messaging SMS and Voice, which the emulator lacks, and Twilio are local HTTP APIs the
functions reach through configuration (emulator/sms_api.py, emulator/twilio_api.py),
which record their messages here.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError, ConnectionClosedError

from emulator.botocore_hooks import json_error
from notify.domain.addresses import WHATSAPP_PREFIX
from notify.domain.channels import CHANNELS

# A slow provider waits `seconds`, then takes the message.
SLOW = "slow"
# A provider's own throttling error: what a fault `throttle` and a quota answer.
THROTTLE = "throttle"
# A quota counts the sends it accepted over this sliding window.
QUOTA_WINDOW_SECONDS = 1.0
# How each injected error looks on the wire, per channel: (HTTP status, error code).
# End User Messaging answers its SMS and voice calls alike (emulator/sms_api.py).
_END_USER_MESSAGING_FAULTS: dict[str, Any] = {
    "throttle": (400, "ThrottlingException"),
    "5xx": (500, "InternalServerException"),
    "reject": (400, "ValidationException"),
    "crash": None,
    SLOW: None,
}
_CHANNEL_FAULTS: dict[str, dict[str, Any]] = {
    "EMAIL": {
        "throttle": (429, "TooManyRequestsException"),
        "5xx": (500, "InternalFailure"),
        "reject": (400, "MessageRejected"),
        "crash": None,
        SLOW: None,
    },
    "SMS": _END_USER_MESSAGING_FAULTS,
    "VOICE": _END_USER_MESSAGING_FAULTS,
    # Twilio: (HTTP status, Twilio error code); a crash drops the connection.
    "WHATSAPP": {
        "throttle": (429, 20429),
        "5xx": (500, 20500),
        "reject": (400, 21211),
        # 63016: free-form text outside the 24-hour session window (OutsideSessionWindow).
        "outside-window": (400, 63016),
        "crash": None,
        SLOW: None,
    },
}
# Every channel of the registry, in its order (a KeyError here names a channel whose
# provider the local stack does not emulate), then the AWS services the stack calls.
_FAULTS: dict[str, dict[str, Any]] = {name: _CHANNEL_FAULTS[name] for name in CHANNELS} | {
    # A DynamoDB UpdateItem whose write lands, then answers 500: the caller cannot tell
    # it landed. `address` is matched against the item's key (a TraceId, say).
    "DYNAMODB": {
        "lost-response": (500, "InternalServerError"),
        # The write waits `seconds` before it is sent (a Lambda slow to reach it).
        SLOW: None,
    },
    # EventBridge Scheduler refusing to create a scheduled send's schedule.
    "SCHEDULER": {
        "5xx": (500, "InternalServerException"),
    },
}
# What `messaging faults add` offers: each channel's errors, as the table above has them.
FAULT_ERRORS: dict[str, tuple[str, ...]] = {
    channel: tuple(errors) for channel, errors in _FAULTS.items()
}


@dataclass
class Fault:
    """Make sends on a channel (to one address, or all) fail with `error` at `rate`."""

    channel: str
    error: str
    address: str | None = None
    rate: float = 1.0
    times: int | None = None  # fail this many times, then stop; None = until cleared
    seconds: float = 0.0  # how long a slow provider takes
    after: int = 0  # let this many matching calls through first
    fired: int = 0
    passed: int = 0

    def matches(self, channel: str, address: str, rng: random.Random) -> bool:
        if channel != self.channel:
            return False
        if self.channel == "DYNAMODB":
            if self.address is not None and self.address not in address:  # part of the key
                return False
        elif self.address not in (None, address):
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        if self.passed < self.after:
            self.passed += 1
            return False
        return rng.random() < self.rate


@dataclass
class Quota:
    """A provider's send quota: at most `per_second` accepted sends in any rolling second.

    As the provider counts them: for the whole account (EMAIL: SES) or for each sender (the
    others: an origination identity, a WhatsApp From), as the channel's send budget does. A
    send over it is answered with the provider's own throttling error; it is not counted.
    """

    channel: str
    per_second: int
    per_sender: bool
    refused: int = 0


@dataclass
class SentMessage:
    channel: str
    to: str
    sender: str | None
    body: str | None
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    trace_id: str | None = None
    content_sid: str | None = None  # a WhatsApp template, instead of a body
    content_variables: dict[str, str] | None = None
    message_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Providers:
    """The outbox, the fault rules and the quotas, shared by every send of the local stack."""

    def __init__(
        self, seed: int | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._clock = clock
        self.outbox: list[SentMessage] = []
        self.faults: list[Fault] = []
        self.quotas: dict[str, Quota] = {}  # per channel
        # Per (channel, sender or None for the account): when each accepted send was taken.
        self._accepted: dict[tuple[str, str | None], deque[float]] = {}
        self.attempts: list[tuple[str, str]] = []  # every send tried, failed or not

    def hooks(self) -> dict[str, Any]:
        return {
            "before-call.sesv2.SendEmail": self._remember_email,
            "before-send.sesv2.SendEmail": self._before_email,
            "after-call.sesv2.SendEmail": self._after_email,
            "before-call.dynamodb.UpdateItem": self._remember_key,
            "after-call.dynamodb.UpdateItem": self._after_write,
            "before-call.scheduler.CreateSchedule": self._before_schedule,
        }

    def add_fault(self, fault: Fault) -> None:
        if fault.channel not in _FAULTS:
            raise ValueError(f"unknown channel {fault.channel!r}; one of {sorted(_FAULTS)}")
        if fault.error not in _FAULTS[fault.channel]:
            raise ValueError(
                f"unknown error {fault.error!r}; one of {sorted(_FAULTS[fault.channel])}"
            )
        if fault.channel == "WHATSAPP" and (fault.address or "").startswith("+"):
            fault.address = WHATSAPP_PREFIX + fault.address  # Twilio's form of the number
        with self._lock:
            self.faults.append(fault)

    def add_quota(self, channel: str, per_second: int) -> Quota:
        """Make the channel's provider accept at most `per_second` sends in any rolling second
        (replacing its quota, if it had one)."""
        if channel not in CHANNELS:
            raise ValueError(f"no provider quota for {channel!r}; one of {sorted(CHANNELS)}")
        if isinstance(per_second, bool) or not isinstance(per_second, int) or per_second < 1:
            raise ValueError(f"a quota is a whole number of sends per second, not {per_second!r}")
        quota = Quota(channel, per_second, per_sender=CHANNELS[channel].budget_sender is not None)
        with self._lock:
            self.quotas[channel] = quota
            for key in [key for key in self._accepted if key[0] == channel]:
                del self._accepted[key]
        return quota

    def clear_faults(self) -> None:
        """Remove every fault and every quota."""
        with self._lock:
            self.faults.clear()
            self.quotas.clear()
            self._accepted.clear()

    def sent(self, trace_id: str | None = None) -> list[SentMessage]:
        with self._lock:
            return [m for m in self.outbox if trace_id in (None, m.trace_id)]

    def record(self, message: SentMessage) -> None:
        with self._lock:
            self.outbox.append(message)

    def attempt(
        self, channel: str, address: str, sender: str | None = None
    ) -> tuple[str, Any] | None:
        """Count a send; if a fault or the quota refuses it, (why, how it looks on the wire).

        A slow fault is no error: the call takes its time here, then goes on (and only then
        meets the quota, as a provider counts a send when it takes it).
        """
        return self._attempt(channel, address, sender)[0]

    def _attempt(
        self, channel: str, address: str, sender: str | None
    ) -> tuple[tuple[str, Any] | None, float | None]:
        """The refusal, if any, and when the quota took the send (None: no quota counted it)."""
        with self._lock:
            self.attempts.append((channel, address))
            fault = next((f for f in self.faults if f.matches(channel, address, self._rng)), None)
            if fault:
                fault.fired += 1
        if fault is not None and fault.error != SLOW:
            return (fault.error, _FAULTS[channel][fault.error]), None
        if fault is not None:
            time.sleep(fault.seconds)
        return self._take(channel, sender)

    def _take(
        self, channel: str, sender: str | None
    ) -> tuple[tuple[str, Any] | None, float | None]:
        """One send against the channel's quota: accepted (and when), or its throttling error.

        A send is refused while as many sends as the quota allows were accepted within the
        last `QUOTA_WINDOW_SECONDS`; a refused send is not counted.
        """
        with self._lock:
            quota = self.quotas.get(channel)
            if quota is None:
                return None, None
            now = self._clock()
            accepted = self._accepted.setdefault(_quota_key(quota, sender), deque())
            while accepted and accepted[0] <= now - QUOTA_WINDOW_SECONDS:
                accepted.popleft()
            if len(accepted) >= quota.per_second:
                quota.refused += 1
                return (f"quota of {quota.per_second}/s", _FAULTS[channel][THROTTLE]), None
            accepted.append(now)
        return None, now

    def _give_back(self, channel: str, sender: str | None, taken_at: float) -> None:
        """Uncount a send the quota took that the provider then refused for another reason."""
        with self._lock:
            quota = self.quotas.get(channel)
            accepted = self._accepted.get(_quota_key(quota, sender)) if quota else None
            if accepted is not None and taken_at in accepted:
                accepted.remove(taken_at)

    # ------------------------------------------------------------------ hooks
    def _injected(self, channel: str, address: str, url: str, context: dict[str, Any]) -> Any:
        failure, taken_at = self._attempt(channel, address, None)
        context["quota_taken_at"] = taken_at  # given back if the provider refuses it after all
        if failure is None:
            return None
        error, wire = failure
        if wire is None:
            # The provider drops the connection mid-call: no verdict, so a transient error.
            raise ConnectionClosedError(endpoint_url=url)
        status, code = wire
        return json_error(url, status, code, f"injected {error} for {address}")

    def _before_schedule(self, params: dict[str, Any], **kwargs: Any) -> None:
        # Refused before it is sent: nothing reaches the emulated Scheduler.
        name = params["url_path"].rsplit("/", 1)[-1]  # POST /schedules/{Name}
        failure = self.attempt("SCHEDULER", name)
        if failure is not None:
            status, code = failure[1]
            error = {"Code": code, "Message": f"injected {failure[0]} for {name}"}
            raise ClientError(
                {"Error": error, "ResponseMetadata": {"HTTPStatusCode": status}}, "CreateSchedule"
            )

    def _remember_key(self, params: dict[str, Any], context: dict[str, Any], **kwargs: Any) -> None:
        context["fault_key"] = key = json.dumps(json.loads(params["body"]).get("Key", {}))
        slow = self._dynamodb_fault(key, SLOW)
        if slow is not None:
            time.sleep(slow.seconds)

    def _dynamodb_fault(self, key: str, error: str) -> Fault | None:
        """The first DynamoDB fault of this kind that matches the item's key, counted."""
        with self._lock:
            fault = next(
                (
                    f
                    for f in self.faults
                    if f.error == error and f.matches("DYNAMODB", key, self._rng)
                ),
                None,
            )
            if fault is not None:
                fault.fired += 1
        return fault

    def _after_write(self, http_response: Any, context: dict[str, Any], **kwargs: Any) -> None:
        # Only in-process calls pass here; the write itself has landed.
        if http_response.status_code != 200 or not self.faults:
            return
        key = context.get("fault_key", "")
        fault = self._dynamodb_fault(key, "lost-response")
        if fault is None:
            return
        status, code = _FAULTS["DYNAMODB"][fault.error]
        error = {"Code": code, "Message": f"injected {fault.error} after the write to {key}"}
        raise ClientError(
            {"Error": error, "ResponseMetadata": {"HTTPStatusCode": status}}, "UpdateItem"
        )

    def _before_email(self, request: Any, **kwargs: Any) -> Any:
        params = json.loads(request.body)
        to = params["Destination"]["ToAddresses"][0]
        # The request's context is the call's: after-call sees what was taken here.
        return self._injected("EMAIL", to, request.url, request.context)

    @staticmethod
    def _remember_email(params: dict[str, Any], context: dict[str, Any], **kwargs: Any) -> None:
        # after-call sees only the response; keep the request for it in the call's context.
        context["outbox_request"] = json.loads(params["body"])

    def _after_email(
        self, http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **kwargs: Any
    ) -> None:
        if http_response.status_code != 200:
            taken_at = context.get("quota_taken_at")
            if taken_at is not None:  # SES refused it after the quota took it: not accepted
                self._give_back("EMAIL", None, taken_at)
            return
        request = context["outbox_request"]
        simple = request["Content"]["Simple"]
        tags = {tag["Name"]: tag["Value"] for tag in request.get("EmailTags", [])}
        message = SentMessage(
            channel="EMAIL",
            to=request["Destination"]["ToAddresses"][0],
            sender=request["FromEmailAddress"],
            body=None,
            subject=simple["Subject"]["Data"],
            text=simple["Body"].get("Text", {}).get("Data"),
            html=simple["Body"].get("Html", {}).get("Data"),
            trace_id=tags.get("TraceId"),
            message_id=parsed["MessageId"],
        )
        self.record(message)


def _quota_key(quota: Quota, sender: str | None) -> tuple[str, str | None]:
    """Whose sends a quota counts together: the account's, or one sender's."""
    return quota.channel, sender if quota.per_sender else None
