"""`make soak`: break the providers and stop executions, then count what was lost or sent twice.

Starts a private local stack, makes 30 % of the sends on every channel fail (throttling
or 5xx), queues requests of 3 to 5 recipients, stops some executions mid-flight, and
waits for every execution to end and be reconciled. Then it compares the dead-letter
queue with what was really not delivered, clears the faults, redrives the DLQ as an
operator would, and counts recipients lost (neither sent nor rejected) and sent twice.
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
from contextlib import redirect_stdout
from dataclasses import asdict, dataclass
from io import StringIO
from typing import Any

from emulator.local import LocalStack
from emulator.providers import Fault
from notify.domain.addresses import WHATSAPP_PREFIX

CALLER = {"sub": "soak"}
CHANNELS = {
    "EMAIL": lambda n: f"soak{n}@example.com",
    "SMS": lambda n: f"+1604555{n:04d}",
    "WHATSAPP": lambda n: f"whatsapp:+1604666{n:04d}",
}
DEADLINE_SECONDS = 600


@dataclass
class SoakResult:
    requests: int
    recipients: int
    stopped: int
    failed_executions: int
    dead_letters: int
    requests_with_undelivered: int
    dead_letters_exactly_undelivered: int  # name exactly their request's undelivered
    dead_lettered_but_sent: int  # in flight at a stop: the provider took it after all
    lost: int
    duplicated: int


def soak(local: LocalStack, requests: int = 120, stop_every: int = 4, seed: int = 7) -> SoakResult:
    rng = random.Random(seed)
    for channel in CHANNELS:
        # 15 % throttled, then 15 % of the rest... about 30 % fail in all.
        local.providers.add_fault(Fault(channel=channel, error="throttle", rate=0.15))
        local.providers.add_fault(Fault(channel=channel, error="5xx", rate=0.1765))
    prefix = f"soak-{uuid.uuid4().hex[:8]}-"
    wanted = _queue(local, prefix, requests, rng)
    executions = _start_all(local, stop_every)
    _wait(local, executions)
    letters = _take_dead_letters(local, prefix)
    delivered = _delivered(local)
    undelivered = {
        trace: left
        for trace, addresses in wanted.items()
        if (left := {a for a in addresses if (trace, a) not in delivered})
    }
    dead_lettered = {(t, a) for t, addresses, _ in letters for a in addresses}

    local.providers.clear_faults()
    _redrive(local, letters)
    delivered = _delivered(local)
    sent = Counter((m.trace_id, m.to) for m in local.providers.sent() if m.trace_id in wanted)
    statuses = Counter(
        local.client("stepfunctions").describe_execution(executionArn=arn)["status"]
        for arn in executions
    )
    return SoakResult(
        requests=requests,
        recipients=sum(len(a) for a in wanted.values()),
        stopped=statuses["ABORTED"],
        failed_executions=statuses["FAILED"] + statuses["TIMED_OUT"],
        dead_letters=len(letters),
        requests_with_undelivered=len(undelivered),
        dead_letters_exactly_undelivered=sum(
            1 for trace, addresses, _ in letters if set(addresses) == undelivered.get(trace)
        ),
        dead_lettered_but_sent=sum(
            1 for t, a in dead_lettered if (t, a) not in _undelivered_pairs(undelivered)
        ),
        lost=sum(
            1 for t, addresses in wanted.items() for a in addresses if (t, a) not in delivered
        ),
        duplicated=sum(count - 1 for count in sent.values() if count > 1),
    )


def _undelivered_pairs(undelivered: dict[str, set[str]]) -> set[tuple[str, str]]:
    return {(trace, address) for trace, addresses in undelivered.items() for address in addresses}


def _queue(
    local: LocalStack, prefix: str, requests: int, rng: random.Random
) -> dict[str, set[str]]:
    sqs, url = local.client("sqs"), local.stack.physical("MessageQueue")["QueueUrl"]
    wanted = {}
    for n in range(requests):
        trace_id = f"{prefix}{n}"
        channels = [rng.choice(list(CHANNELS)) for _ in range(rng.randint(3, 5))]
        addresses = {CHANNELS[c](n * 10 + i): {"ChannelType": c} for i, c in enumerate(channels)}
        request = {
            "TraceId": trace_id,
            "EmailMessage": {"FromAddress": "soak@example.com", "Subject": "S", "TextBody": "T"},
            "SMSMessage": {"MessageBody": "Soak"},
            "WhatsAppMessage": {"FromNumber": "whatsapp:+14155238886", "MessageBody": "Soak"},
            "Addresses": addresses,
        }
        sqs.send_message(
            QueueUrl=url, MessageBody=json.dumps({"Caller": CALLER, "Request": request})
        )
        wanted[trace_id] = set(addresses)
    return wanted


def _start_all(local: LocalStack, stop_every: int) -> list[str]:
    """Run the pipes until the queues are empty; stop every `stop_every`-th execution soon after."""
    sfn = local.client("stepfunctions")
    started: list[str] = []
    for arn in _drain(local):
        started.append(arn)
        if len(started) % stop_every == 0:
            threading.Timer(0.3, sfn.stop_execution, kwargs={"executionArn": arn}).start()
    return started


def _drain(local: LocalStack) -> Iterator[str]:
    """Every execution the pipes start until nothing is left on their queues."""
    sqs = local.client("sqs")
    urls = [pipe.spec.queue["QueueUrl"] for pipe in local.pipe.all]
    while True:
        started = local.pipe.poll_once(wait_seconds=1)
        yield from started
        if not started and not any(_waiting(sqs, url) for url in urls):
            return


def _waiting(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def _wait(local: LocalStack, executions: list[str]) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not set(executions) <= local.ended:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(set(executions) - local.ended)} executions still running")
        time.sleep(0.2)
    local.events.wait_idle(timeout=120)


def _take_dead_letters(local: LocalStack, prefix: str) -> list[tuple[str, list[str], str]]:
    """This soak's dead letters as (TraceId, addresses, body), taken off the DLQ."""
    sqs, url = local.client("sqs"), local.stack.physical("DeadLetterQueue")["QueueUrl"]
    letters = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            request = json.loads(message["Body"]).get("Request") or {}
            if not str(request.get("TraceId")).startswith(prefix):
                continue  # another run's: left for its owner once visible again
            letters.append((request["TraceId"], list(request["Addresses"]), message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return letters


def _redrive(local: LocalStack, letters: list[tuple[str, list[str], str]]) -> None:
    """What `messaging dlq redrive` does: every dead letter back to the main queue."""
    sqs, url = local.client("sqs"), local.stack.physical("MessageQueue")["QueueUrl"]
    for _, _, body in letters:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    _wait(local, list(_drain(local)))


def _delivered(local: LocalStack) -> set[tuple[str, str]]:
    """(TraceId, address) of every recipient sent, or rejected with a reason."""
    sent = {(m.trace_id, _address(m.to, m.channel)) for m in local.providers.sent()}
    return sent | _rejected(local)


def _address(to: str, channel: str) -> str:
    return to if channel != "WHATSAPP" or to.startswith(WHATSAPP_PREFIX) else WHATSAPP_PREFIX + to


def _rejected(local: LocalStack) -> set[tuple[str, str]]:
    table = local.session.resource("dynamodb").Table(local.stack.physical("TracesTable")["Ref"])
    items: list[dict[str, Any]] = []
    scan: dict[str, Any] = {}
    while True:
        page = table.scan(**scan)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            break
        scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return {(i["TraceId"], i["Address"]) for i in items if i.get("Status") == "REJECTED"}


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the local APIs' request lines
    local = LocalStack.start(LogLevel="WARNING")
    try:
        local.seed_demo()
        started = time.monotonic()
        with redirect_stdout(StringIO()):  # the handlers' metrics lines
            result = soak(local)
        print(json.dumps(asdict(result) | {"seconds": round(time.monotonic() - started)}, indent=2))
        ok = result.lost == 0 and result.duplicated == 0
        return 0 if ok else 1
    finally:
        local.stop()


if __name__ == "__main__":
    sys.exit(main())
