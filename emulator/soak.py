"""`make soak`: throttle half the provider calls, stop executions, poison a request; count the harm.

Starts a private local stack and throttles half the sends on every channel. Queues 50
requests of 20 recipients (most by e-mail, a few of those with an SMS fallback, the rest
by SMS or WhatsApp) and, among them, one poisoned request: an address key holding a lone
surrogate, put straight onto the queue past the API, as a hand-edited dead letter would
be. Stops some executions mid-flight, waits for every execution to end and be
reconciled, and compares the dead-letter queue with what was really not sent. Then it
clears the faults, redrives this run's dead letters as `messaging dlq redrive` does,
waits for the redriven executions to end, and counts recipients lost (neither sent nor
rejected), sent twice, dead-lettered although sent, and traces left RUNNING. The
poisoned request ends as one dead letter `InvalidMessage`, sending nothing: its redrive
is dead-lettered again, alone. The requests, the poison's place and the stops follow the
seed; which calls are throttled depends on the order concurrent sends reach the provider.
"""

from __future__ import annotations

import json
import logging
import random
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import redirect_stdout, suppress
from dataclasses import dataclass, field
from io import StringIO
from typing import Any

from botocore.exceptions import ClientError

from emulator.api import queued_body
from emulator.local import LocalStack
from emulator.providers import Fault
from notify.domain.addresses import WHATSAPP_PREFIX
from notify.domain.errors import INVALID_MESSAGE
from notify.domain.lanes import is_small_request
from notify.integration.traces.keys import is_header, unreadable_trace_id
from notify.integration.traces.reads import TraceReader

CALLER = {"sub": "soak"}
POISON_ADDRESS = "p\ud800@example.com"  # no service can store it; the API's schema refuses it
DEADLINE_SECONDS = 900
RUNNING = "RUNNING"
# Most recipients by e-mail, as a busy user sends; some by SMS and WhatsApp.
CHANNEL_WEIGHTS = {"EMAIL": 0.7, "SMS": 0.15, "WHATSAPP": 0.15}
FALLBACK_SHARE = 0.15  # of the e-mail recipients: an SMS fallback, tried once e-mail gives up
ADDRESSES = {
    "EMAIL": lambda n: f"soak{n}@example.com",
    "SMS": lambda n: f"+1604555{n:04d}",
    "WHATSAPP": lambda n: f"{WHATSAPP_PREFIX}+1604666{n:04d}",
    "FALLBACK": lambda n: f"+1604777{n:04d}",
}


@dataclass(frozen=True)
class Recipient:
    key: str  # as the request's Addresses names it
    channels: tuple[str, ...]  # every address it may be sent on: its own, then its fallback


@dataclass(frozen=True)
class DeadLetter:
    trace_id: str
    addresses: tuple[str, ...]
    error: str
    body: str


@dataclass
class SoakResult:
    requests: int  # besides the poisoned one
    recipients: int
    with_fallback: int
    throttled: float  # the share of provider calls throttled, on every channel
    executions: int
    stopped: int
    failed_executions: int  # FAILED or TIMED_OUT
    dead_letters: int  # before the redrive, the poisoned request's apart
    dead_lettered_recipients: int
    requests_with_unsent: int
    dead_letters_exactly_unsent: int  # naming exactly their request's unsent recipients
    dead_lettered_but_sent: int  # must be 0: a dead letter means "not sent"
    redriven_executions: int
    dead_letters_after_redrive: int  # the poisoned request's apart
    lost: int
    duplicated: int
    traces_running: int
    poison_errors_before: list[str] = field(default_factory=list)  # its letters' Error
    poison_errors_after: list[str] = field(default_factory=list)
    poison_sent: int = 0
    seconds: float = 0.0

    def problems(self) -> list[str]:
        found = [
            f"{name} = {value}"
            for name, value in (
                ("lost", self.lost),
                ("duplicated", self.duplicated),
                ("dead_lettered_but_sent", self.dead_lettered_but_sent),
                ("traces_running", self.traces_running),
                ("dead_letters_after_redrive", self.dead_letters_after_redrive),
                ("poison_sent", self.poison_sent),
            )
            if value
        ]
        if len(self.poison_errors_before) != 1:
            found.append(f"poisoned request: {self.poison_errors_before} dead-lettered")
        if self.poison_errors_after != [INVALID_MESSAGE]:
            found.append(f"poisoned request redriven: {self.poison_errors_after} dead-lettered")
        return found


def soak(
    local: LocalStack,
    requests: int = 50,
    recipients: int = 20,
    throttled: float = 0.5,
    stop_every: int = 3,
    stop_after: tuple[float, float] = (0.5, 3.0),
    seed: int = 7,
    fault: str = "throttle",
) -> SoakResult:
    """Queue, throttle, stop, reconcile, redrive and count, as the module says.

    Every `stop_every`-th execution is stopped `stop_after` seconds (a range) after it
    starts. A stop with sends in flight makes the reconciler wait for them, up to a send
    task's timeout (65 s): a quick soak stops its executions early. `fault`: what the
    provider answers a `throttled` share of the calls with (a throttle is outlasted, with
    a backoff of up to minutes; a `5xx` is retried, then dead-lettered).
    """
    if (requests + 1) * recipients > 10_000:
        raise ValueError("addresses are numbered in 4 digits: 10,000 recipients at most")
    started = time.monotonic()
    rng = random.Random(seed)
    for channel in CHANNEL_WEIGHTS:
        local.providers.add_fault(Fault(channel=channel, error=fault, rate=throttled))
    prefix = f"soak-{uuid.uuid4().hex[:8]}-"
    poisoned = f"{prefix}poisoned"
    message_ids: set[str] = set()  # a request dead-lettered as it arrived is marked by its id
    wanted = _queue(local, prefix, requests, recipients, rng, message_ids)
    executions = _start_all(local, stop_every, stop_after, rng)
    _wait(local, executions)

    letters = _take_dead_letters(local, prefix)
    sends = _sends(local)
    rejected = _rejected(local)
    unsent = {
        trace: left
        for trace, people in wanted.items()
        if (left := {r.key for r in people if not _done(trace, r, sends, rejected)})
    }
    ordinary = [letter for letter in letters if letter.trace_id != poisoned]
    dead_lettered = {(letter.trace_id, a) for letter in ordinary for a in letter.addresses}
    by_key = {(trace, r.key): r for trace, people in wanted.items() for r in people}
    dead_lettered_but_sent = sum(
        1
        for trace, key in dead_lettered
        if (trace, key) in by_key and _count(trace, by_key[(trace, key)], sends)
    )
    statuses = _statuses(local, executions)

    local.providers.clear_faults()
    redriven = _redrive(local, letters, message_ids)
    running = _wait_for_traces(local, prefix, message_ids)
    after = _take_dead_letters(local, prefix)
    sends = _sends(local)
    rejected = _rejected(local)
    return SoakResult(
        requests=requests,
        recipients=len(by_key),
        with_fallback=sum(1 for r in by_key.values() if len(r.channels) > 1),
        throttled=throttled,
        executions=len(executions),
        stopped=statuses["ABORTED"],
        failed_executions=statuses["FAILED"] + statuses["TIMED_OUT"],
        dead_letters=len(ordinary),
        dead_lettered_recipients=len(dead_lettered),
        requests_with_unsent=len(unsent),
        dead_letters_exactly_unsent=sum(
            1 for letter in ordinary if set(letter.addresses) == unsent.get(letter.trace_id)
        ),
        dead_lettered_but_sent=dead_lettered_but_sent,
        redriven_executions=len(redriven),
        dead_letters_after_redrive=sum(1 for letter in after if letter.trace_id != poisoned),
        lost=sum(1 for (trace, _), r in by_key.items() if not _done(trace, r, sends, rejected)),
        duplicated=sum(max(0, _count(trace, r, sends) - 1) for (trace, _), r in by_key.items()),
        traces_running=running,
        poison_errors_before=[letter.error for letter in letters if letter.trace_id == poisoned],
        poison_errors_after=[letter.error for letter in after if letter.trace_id == poisoned],
        poison_sent=len(local.providers.sent(poisoned)),
        seconds=round(time.monotonic() - started, 1),
    )


# ---------------------------------------------------------------- queueing
def _queue(
    local: LocalStack,
    prefix: str,
    requests: int,
    recipients: int,
    rng: random.Random,
    message_ids: set[str],
) -> dict[str, list[Recipient]]:
    """Queue the requests, the poisoned one among them; each one's recipients by TraceId."""
    wanted = {}
    poison_at = rng.randrange(requests + 1)
    for n in range(requests + 1):
        if n == poison_at:
            poisoned = _request(f"{prefix}poisoned", {POISON_ADDRESS: {"ChannelType": "EMAIL"}})
            message_ids.add(_put(local, poisoned, "MessageQueue"))  # past the API
            continue
        trace_id = f"{prefix}{n}"
        addresses: dict[str, Any] = {}
        people = []
        for i in range(recipients):
            number = n * recipients + i
            channel = rng.choices(list(CHANNEL_WEIGHTS), weights=list(CHANNEL_WEIGHTS.values()))[0]
            address = ADDRESSES[channel](number)
            spec: dict[str, Any] = {"ChannelType": channel}
            channels = [address]
            if channel == "EMAIL" and rng.random() < FALLBACK_SHARE:
                fallback = ADDRESSES["FALLBACK"](number)
                spec["Fallback"] = [{"ChannelType": "SMS", "Address": fallback}]
                channels.append(fallback)
            addresses[address] = spec
            people.append(Recipient(address, tuple(channels)))
        request = _request(trace_id, addresses)
        lane = "MessageQueue" if is_small_request(request) else "LargeMessageQueue"
        message_ids.add(_put(local, request, lane))
        wanted[trace_id] = people
    return wanted


def _request(trace_id: str, addresses: dict[str, Any]) -> dict[str, Any]:
    return {
        "TraceId": trace_id,
        "EmailMessage": {"FromAddress": "soak@example.com", "Subject": "S", "TextBody": "T"},
        "SMSMessage": {"MessageBody": "Soak"},
        "WhatsAppMessage": {"FromNumber": "whatsapp:+14155238886", "MessageBody": "Soak"},
        "Addresses": addresses,
    }


def _put(local: LocalStack, request: dict[str, Any], queue: str) -> str:
    """Queue a request as the API's SQS integration does; its SQS message id."""
    sqs = local.client("sqs")
    body = queued_body(json.dumps(CALLER, separators=(",", ":")), json.dumps(request))
    url = local.stack.physical(queue)["QueueUrl"]
    return str(sqs.send_message(QueueUrl=url, MessageBody=body)["MessageId"])


# ---------------------------------------------------------------- running
def _start_all(
    local: LocalStack, stop_every: int, stop_after: tuple[float, float], rng: random.Random
) -> list[str]:
    """Run the pipes until the queues are empty; stop every `stop_every`-th execution mid-flight."""
    sfn = local.client("stepfunctions")
    started: list[str] = []
    for arn in _drain(local):
        started.append(arn)
        if len(started) % stop_every == 0:
            delay = rng.uniform(*stop_after)
            threading.Timer(delay, _stop, args=(sfn, arn)).start()
    return started


def _stop(sfn: Any, arn: str) -> None:
    with suppress(ClientError):  # it ended first: counted as what it ended as
        sfn.stop_execution(executionArn=arn)


def _drain(local: LocalStack) -> Iterator[str]:
    """Every execution the pipes start until nothing is left on their queues, nor can come:
    an execution still running may queue a continuation (sends paced to their budget)."""
    sqs = local.client("sqs")
    urls = [pipe.spec.queue["QueueUrl"] for pipe in local.pipe.all]
    running: set[str] = set()
    while True:
        # A short poll: a long one would wait on each empty queue while another has work.
        started = local.pipe.poll_once(wait_seconds=0)
        running = (running | set(started)) - local.ended
        yield from started
        if not started:
            if not running and not any(_waiting(sqs, url) for url in urls):
                return
            time.sleep(0.1)


def _waiting(sqs: Any, url: str) -> int:
    """Messages to come on the queue: visible now, or delayed (a paced send's continuation)."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes.get(name, 0)) for name in names)


def _wait(local: LocalStack, executions: list[str]) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not set(executions) <= local.ended:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(set(executions) - local.ended)} executions still running")
        time.sleep(0.2)
    local.events.wait_idle(timeout=120)  # the reconciler of those that ended badly


def _statuses(local: LocalStack, executions: list[str]) -> Counter[str]:
    sfn = local.client("stepfunctions")
    return Counter(sfn.describe_execution(executionArn=arn)["status"] for arn in executions)


# ---------------------------------------------------------------- the dead-letter queue
def _take_dead_letters(local: LocalStack, prefix: str) -> list[DeadLetter]:
    """This run's dead letters, taken off the DLQ (any other run's are left there)."""
    sqs, url = local.client("sqs"), local.stack.physical("DeadLetterQueue")["QueueUrl"]
    letters = []
    while messages := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages"):
        for message in messages:
            request = json.loads(message["Body"]).get("Request") or {}
            if not str(request.get("TraceId")).startswith(prefix):
                continue  # another run's: left for its owner once visible again
            error = message.get("MessageAttributes", {}).get("Error", {}).get("StringValue", "")
            letters.append(
                DeadLetter(request["TraceId"], tuple(request["Addresses"]), error, message["Body"])
            )
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return letters


def _redrive(local: LocalStack, letters: list[DeadLetter], message_ids: set[str]) -> list[str]:
    """What `messaging dlq redrive` does: each dead letter to the unbatched queue, then run."""
    sqs, url = local.client("sqs"), local.stack.physical("LargeMessageQueue")["QueueUrl"]
    for letter in letters:
        message_ids.add(sqs.send_message(QueueUrl=url, MessageBody=letter.body)["MessageId"])
    executions = list(_drain(local))
    _wait(local, executions)
    return executions


# ---------------------------------------------------------------- what reached whom
def _sends(local: LocalStack) -> Counter[tuple[str | None, str]]:
    """How often each (TraceId, address) was sent."""
    return Counter((m.trace_id, _address(m.to, m.channel)) for m in local.providers.sent())


def _address(to: str, channel: str) -> str:
    return to if channel != "WHATSAPP" or to.startswith(WHATSAPP_PREFIX) else WHATSAPP_PREFIX + to


def _count(trace_id: str, recipient: Recipient, sends: Counter[tuple[str | None, str]]) -> int:
    """Sends to the recipient, on all its channels."""
    return sum(sends[(trace_id, address)] for address in recipient.channels)


def _done(
    trace_id: str,
    recipient: Recipient,
    sends: Counter[tuple[str | None, str]],
    rejected: set[tuple[str, str]],
) -> bool:
    return _count(trace_id, recipient, sends) > 0 or any(
        (trace_id, address) in rejected for address in recipient.channels
    )


def _trace_items(local: LocalStack) -> list[dict[str, Any]]:
    table = local.session.resource("dynamodb").Table(local.stack.physical("TracesTable")["Ref"])
    return TraceReader(table).every_trace()


def _rejected(local: LocalStack) -> set[tuple[str, str]]:
    return {
        (i["TraceId"], i["Address"]) for i in _trace_items(local) if i.get("Status") == "REJECTED"
    }


def _running_traces(local: LocalStack, prefix: str, message_ids: set[str]) -> list[str]:
    """This run's traces whose header says RUNNING: its requests' and its messages' markers."""
    markers = {unreadable_trace_id(message_id) for message_id in message_ids}
    return [
        item["TraceId"]
        for item in _trace_items(local)
        if is_header(item["Sk"])
        and (item["TraceId"].startswith(prefix) or item["TraceId"] in markers)
        and item.get("Status") == RUNNING
    ]


def _wait_for_traces(
    local: LocalStack, prefix: str, message_ids: set[str], seconds: float = 30
) -> int:
    """How many of this run's traces are still RUNNING once `seconds` have passed (0 sooner)."""
    deadline = time.monotonic() + seconds
    while (running := _running_traces(local, prefix, message_ids)) and time.monotonic() < deadline:
        time.sleep(1)
    return len(running)


# ---------------------------------------------------------------- the report
def table(result: SoakResult) -> str:
    """The figures, one a line, each one checked beside what it must be."""

    def letters(errors: list[str]) -> str:
        return f"{len(errors)} ({', '.join(errors)})" if errors else "0"

    rows = [
        ("requests (+ 1 poisoned)", result.requests, ""),
        ("recipients", result.recipients, ""),
        ("  with an SMS fallback", result.with_fallback, ""),
        ("calls throttled, every channel", f"{result.throttled:.0%}", ""),
        ("executions", result.executions, ""),
        ("  stopped", result.stopped, ""),
        ("  failed or timed out", result.failed_executions, ""),
        ("dead letters (the poisoned apart)", result.dead_letters, ""),
        ("  recipients in them", result.dead_lettered_recipients, ""),
        ("  requests with unsent recipients", result.requests_with_unsent, ""),
        ("  naming exactly their unsent", result.dead_letters_exactly_unsent, ""),
        ("  dead-lettered but sent", result.dead_lettered_but_sent, 0),
        ("  the poisoned request's", letters(result.poison_errors_before), "1"),
        ("faults cleared, DLQ redriven: executions", result.redriven_executions, ""),
        ("dead letters after it (the poisoned apart)", result.dead_letters_after_redrive, 0),
        ("  the poisoned request's", letters(result.poison_errors_after), f"1 ({INVALID_MESSAGE})"),
        ("  the poisoned request's sends", result.poison_sent, 0),
        ("lost", result.lost, 0),
        ("sent twice", result.duplicated, 0),
        ("traces RUNNING", result.traces_running, 0),
        ("seconds", result.seconds, ""),
    ]
    width = max(len(name) for name, _, _ in rows)
    lines = [f"{'':<{width}}  {'figure':>18}  must be", "-" * (width + 30)]
    lines += [f"{name:<{width}}  {value!s:>18}  {must!s}".rstrip() for name, value, must in rows]
    return "\n".join(lines)


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the local APIs' request lines
    # The interpreter logs every failed state at ERROR: here failures are the point.
    logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
    local = LocalStack.start(LogLevel="WARNING")
    try:
        local.seed_demo()
        with redirect_stdout(StringIO()):  # the handlers' metrics lines
            result = soak(local)
        print(table(result))
        problems = result.problems()
        print("\n" + ("FAILED: " + "; ".join(problems) if problems else "OK"))
        return 1 if problems else 0
    finally:
        local.stop()


if __name__ == "__main__":
    sys.exit(main())
