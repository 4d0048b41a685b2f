"""`make bench`: end-to-end latency and throughput of the local stack, and transitions.

Starts a private local stack on free ports, then:
- latency: N sequential single-recipient requests, POST -> message in the outbox;
- throughput: M requests of 5 SMS recipients each, posted by 25 concurrent clients that
  back off on 429 as a real client would (the usage plan allows 25 requests/s per key),
  until every message is delivered;
- loss: every accepted request must produce exactly one message;
- cost: CPU time and AWS requests (by service) of the whole stack per message sent,
  during the throughput run: where the local stack's time goes, on any machine;
- transitions: states entered by one single-recipient execution.
Figures depend on the machine; the counts (loss, requests, transitions) do not.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from statistics import median
from typing import Any

import requests

from emulator import botocore_hooks
from emulator.local import LOCAL_JWT_SECRET, LocalStack
from notify.domain.tokens import mint_token

EVENTS = Path(__file__).resolve().parent.parent / "events"
REQUEST = json.loads((EVENTS / "sms-inline.json").read_text())
RECIPIENTS = 10
BULK = REQUEST | {
    "Addresses": {f"+1604862{n:04d}": {"ChannelType": "SMS"} for n in range(RECIPIENTS)}
}


class Bench:
    def __init__(self, local: LocalStack) -> None:
        self.local = local
        self.api = local.http.url + "/"
        self.session = requests.Session()
        self.headers = {
            "Authorization": f"Bearer {mint_token(LOCAL_JWT_SECRET, 'bench')}",
            "x-api-key": local.api_key,
        }

    def post(self, request: dict = REQUEST) -> tuple[str, float]:
        trace_id = f"bench-{uuid.uuid4()}"
        started = time.perf_counter()
        while True:
            response = requests.post(
                self.api, json=request | {"TraceId": trace_id}, headers=self.headers, timeout=30
            )
            if response.status_code != 429:
                break
            time.sleep(0.1)
        if response.status_code != 202:
            raise SystemExit(f"POST answered {response.status_code}: {response.text}")
        return trace_id, started

    def delivered(
        self, trace_ids: set[str], per_trace: int = 1, deadline: float = 120
    ) -> dict[str, float]:
        """Wait until every TraceId has its messages in the outbox; return when each did.

        Only new outbox entries are read at each poll: re-reading thousands of messages
        every few milliseconds would take the CPU the stack is being measured on.
        """
        done: dict[str, float] = {}
        counts: Counter[str] = Counter()
        seen = 0
        end = time.perf_counter() + deadline
        while len(done) < len(trace_ids) and time.perf_counter() < end:
            new = self.local.providers.outbox[seen:]
            seen += len(new)
            now = time.perf_counter()
            for message in new:
                counts[message.trace_id] += 1
                if message.trace_id in trace_ids and counts[message.trace_id] == per_trace:
                    done[message.trace_id] = now
            time.sleep(0.005)
        return done

    def latency(self, count: int) -> list[float]:
        samples = []
        for _ in range(count):
            trace_id, started = self.post()
            arrived = self.delivered({trace_id})
            samples.append((arrived[trace_id] - started) * 1000)
        return samples

    def throughput(self, count: int, clients: int = 25) -> tuple[float, int, int, float]:
        """Messages per second, messages lost, messages sent twice, CPU ms per message."""
        per_request = len(BULK["Addresses"])
        cpu = time.process_time()
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            posted = pool.map(lambda _: self.post(BULK), range(count))
            trace_ids = {trace for trace, _ in posted}
        done = self.delivered(trace_ids, per_trace=per_request)
        elapsed = max(done.values()) - started
        sent = Counter(
            (m.trace_id, m.to) for m in self.local.providers.sent() if m.trace_id in trace_ids
        )
        expected = count * per_request
        lost = expected - len(sent)
        doubled = sum(n - 1 for n in sent.values())
        cpu_ms = (time.process_time() - cpu) * 1000 / max(1, expected - lost)
        return (expected - lost) / elapsed, lost, doubled, cpu_ms

    def transitions(self) -> int:
        sfn = self.local.client("stepfunctions")
        trace_id, _ = self.post()
        self.delivered({trace_id})
        time.sleep(1)  # the outbox fills before the execution records its outcome
        for execution in sfn.list_executions(stateMachineArn=self.local.pipe.state_machine_arn)[
            "executions"
        ]:
            history = sfn.get_execution_history(executionArn=execution["executionArn"])["events"]
            if trace_id in history[0]["executionStartedEventDetails"]["input"]:
                return sum(event["type"].endswith("StateEntered") for event in history)
        raise SystemExit("the execution was not found")


class RequestCounter:
    """Counts every AWS request the stack's clients make (handlers, interpreter, pipe)."""

    def __init__(self) -> None:
        self.by_service: Counter[str] = Counter()

    def __call__(self, model: Any, **kwargs: Any) -> None:
        self.by_service[model.service_model.service_name] += 1


def main(latency_samples: int = 50, throughput_requests: int = 200) -> int:
    requests_made = RequestCounter()
    botocore_hooks.install({"before-call": requests_made})  # before any client exists
    local = LocalStack.start(LogLevel="WARNING")
    try:
        local.serve()
        bench = Bench(local)
        bench.latency(5)  # warm up: imports, cold starts
        samples = sorted(bench.latency(latency_samples))
        requests_made.by_service.clear()
        rate, lost, doubled, cpu_ms = bench.throughput(throughput_requests)
        per_message = {
            service: calls / (throughput_requests * RECIPIENTS)
            for service, calls in requests_made.by_service.most_common()
        }
        transitions = bench.transitions()
    finally:
        local.stop()
    p99 = samples[max(0, int(len(samples) * 0.99) - 1)]
    rows = [
        (
            f"latency p50 (POST -> outbox, {latency_samples} sequential)",
            f"{median(samples):.0f} ms",
        ),
        ("latency p99", f"{p99:.0f} ms"),
        (f"throughput ({throughput_requests} requests x {RECIPIENTS})", f"{rate:.0f} messages/s"),
        ("lost / delivered twice", f"{lost} / {doubled}"),
        ("CPU per message (whole stack, one process)", f"{cpu_ms:.0f} ms"),
        (
            "AWS requests per message",
            ", ".join(f"{service} {calls:.1f}" for service, calls in per_message.items()),
        ),
        ("state transitions, one recipient", str(transitions)),
    ]
    print("| measure | value |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")
    return 1 if lost or doubled else 0


if __name__ == "__main__":
    sys.exit(main(*map(int, sys.argv[1:])))
