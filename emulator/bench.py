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
import logging
import os
import resource
import subprocess
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import redirect_stdout
from dataclasses import asdict, dataclass, replace
from io import StringIO
from multiprocessing import get_context
from pathlib import Path
from statistics import median
from typing import Any

import requests
from cfnlint.decode import cfn_yaml

from emulator.aws import client_environment
from emulator.botocore_hooks import RequestCounter
from emulator.burst_clients import burst
from emulator.cost import Usage, breakdown, cost_per_million
from emulator.local import LOCAL_JWT_SECRET, LocalStack, parameter_overrides
from emulator.stack import ROOT, TEMPLATE
from notify.domain.tokens import mint_token

EVENTS = ROOT / "events"
RESULTS = ROOT / ".bench" / "results.json"
STACK = "messaging"  # the stack name the bench's local stack runs as
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

    def arriving(self, count: int, clients: int = 25) -> set[str]:
        """`count` one-recipient requests from `clients` clients, delivered as they arrive:
        with PipeBatchingWindowSeconds 0 a batch is what the queue holds at each poll."""
        with ThreadPoolExecutor(max_workers=clients) as pool:
            trace_ids = {trace for trace, _ in pool.map(lambda _: self.post(), range(count))}
        self.delivered(trace_ids)
        return trace_ids

    def backlog(self, count: int, clients: int = 25) -> set[str]:
        """`count` one-recipient requests queued faster than executions start (the pipes
        held back meanwhile), then delivered: full batches, as under sustained load."""
        with self.local.pipe.paused(), ThreadPoolExecutor(max_workers=clients) as pool:
            trace_ids = {trace for trace, _ in pool.map(lambda _: self.post(), range(count))}
        self.delivered(trace_ids)
        return trace_ids

    def bursts(
        self, rounds: int = 3, size: int = 150, clients: int = 40, pause: float = 10
    ) -> tuple[list[float], Counter[str]]:
        """The API under bursts, as a new user tried it: `size` requests from `clients`
        clients at once (each minting a fresh token every second), `rounds` times, `pause`
        seconds apart. Every answer's time (ms) and status; "none" when none came in 30 s.
        """
        times: list[float] = []
        statuses: Counter[str] = Counter()
        accepted: set[str] = set()
        # The clients run in a process of their own, as a user's do (emulator/burst_clients.py).
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as clients_process:
            for round_ in range(rounds):
                if round_:
                    time.sleep(pause)
                answers, answered, trace_ids = clients_process.submit(
                    burst, self.api, LOCAL_JWT_SECRET, self.local.api_key, REQUEST, size, clients
                ).result()
                times += answers
                statuses.update(answered)
                accepted.update(trace_ids)
        self.delivered(accepted)  # nothing left running when the stack stops
        return sorted(times), statuses

    def executions(self, trace_ids: set[str]) -> list[dict[str, Any]]:
        """The histories and durations of the executions that delivered these TraceIds."""
        sfn = self.local.client("stepfunctions")
        arns = [e["executionArn"] for e in _all_executions(sfn, self.local.pipe.state_machine_arn)]
        found = []
        for arn in arns:
            history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
            started = history[0]["executionStartedEventDetails"]["input"]
            if any(trace_id in started for trace_id in trace_ids):
                described = sfn.describe_execution(executionArn=arn)
                seconds = (described["stopDate"] - described["startDate"]).total_seconds()
                found.append({"history": history, "seconds": seconds})
        return found


def _all_executions(sfn: Any, state_machine_arn: str) -> list[dict[str, Any]]:
    found, page = [], {}
    while True:
        response = sfn.list_executions(stateMachineArn=state_machine_arn, maxResults=1000, **page)
        found += response["executions"]
        if "nextToken" not in response:
            return found
        page = {"nextToken": response["nextToken"]}


# The Delivery workflow's own functions; the others (status events, callbacks) are features.
WORKFLOW_FUNCTIONS = (
    "PlanFunction",
    "SendEmailFunction",
    "SendSmsFunction",
    "SendWhatsAppFunction",
    "SendVoiceFunction",
    "RecordOutcomesFunction",
)
DYNAMODB_WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem")
DYNAMODB_READS = ("GetItem", "Query", "BatchGetItem", "Scan")


def usage_per_request(
    requests: int,
    calls: RequestCounter,
    runtime: Any,
    executions: list[dict[str, Any]],
    quiet: Quiet | None = None,
) -> Usage:
    """What one request used, from the counts of a run of `requests` requests.

    Durations under load are the local stack's (one process: its Lambdas and executions
    wait for each other), not AWS's, where each runs on its own: `quiet` gives the durations
    measured without load (per invocation of each function, per execution).
    """
    transitions = sum(
        sum(event["type"].endswith("StateEntered") for event in e["history"]) for e in executions
    )
    deletes = calls.service("sqs", ("DeleteMessage", "DeleteMessageBatch"))
    invoked = runtime.invocations
    billed = billed_seconds(invoked, runtime, quiet)
    if quiet:
        execution_seconds = quiet.execution_seconds
    else:
        execution_seconds = median(e["seconds"] for e in executions)
    return Usage(
        api_requests=1,
        # Sent by the API, received (one receive per message a pipe takes), deleted.
        sqs_requests=(calls.service("sqs", ("SendMessage",)) + 2 * deletes) / requests,
        executions=len(executions) / requests,
        transitions=transitions / requests,
        lambda_invocations=sum(invoked.values()) / requests,
        workflow_invocations=sum(n for f, n in invoked.items() if f.endswith(WORKFLOW_FUNCTIONS))
        / requests,
        lambda_seconds=billed / requests,
        dynamodb_writes=calls.service("dynamodb", DYNAMODB_WRITES) / requests,
        dynamodb_reads=calls.service("dynamodb", DYNAMODB_READS) / requests,
        execution_seconds=execution_seconds,
        events=sum(calls.entries.values()) / requests,
    )


def billed_seconds(invoked: dict[str, int], runtime: Any, quiet: Quiet | None) -> float:
    """Lambda's billed duration of these invocations: as measured, or at quiet durations."""
    if quiet:
        return sum(n * quiet.seconds_per_invocation.get(f, 0) for f, n in invoked.items())
    return sum(runtime.billed_seconds[f] for f in invoked)


def workflow_only(
    usage: Usage, requests: int, calls: RequestCounter, runtime: Any, quiet: Quiet | None
) -> Usage:
    """The same request without the status events and callbacks: what delivering costs."""
    queues = tuple(f"{STACK}-{name}" for name in ("messages", "large-messages"))
    sent = calls.queue_requests(queues, ("SendMessage", "SendMessageBatch"))
    deletes = calls.queue_requests(queues, ("DeleteMessage", "DeleteMessageBatch"))
    workflow = {f: n for f, n in runtime.invocations.items() if f.endswith(WORKFLOW_FUNCTIONS)}
    seconds = billed_seconds(workflow, runtime, quiet)
    return replace(
        usage,
        sqs_requests=(sent + 2 * deletes) / requests,
        lambda_invocations=usage.workflow_invocations,
        lambda_seconds=seconds / requests,
        events=0,
    )


@dataclass(frozen=True)
class Quiet:
    """Durations on a quiet stack, as each invocation and execution would take in AWS."""

    seconds_per_invocation: dict[str, float]
    execution_seconds: float

    @classmethod
    def of(cls, runtime: Any, usage: Usage) -> Quiet:
        per_invocation = {
            function: runtime.billed_seconds[function] / n
            for function, n in runtime.invocations.items()
            if n
        }
        return cls(per_invocation, usage.execution_seconds)


SEND_FUNCTIONS = {
    "SendEmailFunction": "notify.handlers.send_email",
    "SendSmsFunction": "notify.handlers.send_sms",
    "SendWhatsAppFunction": "notify.handlers.send_whatsapp",
    "SendVoiceFunction": "notify.handlers.send_voice",
}


def cold_start_ratio(logical_id: str, runs: int = 9) -> float:
    """A send handler's cold start (import and init, a fresh process) over a bare boto3's.

    The two run in turn and each pair gives a ratio of CPU seconds (user + system, the
    kernel's account of the finished child): pairing and CPU time keep the median ratio
    steady on a busy machine, where wall times drift.
    """
    module = SEND_FUNCTIONS[logical_id]
    environment = os.environ | client_environment() | _placeholder_environment(logical_id)
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT / "functions"), str(ROOT)])

    def cpu_seconds(code: str) -> float:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-c", code], env=environment, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    cpu_seconds(f"import {module}")  # warm the file cache
    ratios = [
        cpu_seconds(f"import {module}") / cpu_seconds("import boto3; boto3.client('sqs')")
        for _ in range(runs)
    ]
    return median(ratios)


def _placeholder_environment(logical_id: str) -> dict[str, str]:
    """The function's environment from the template: literal values and parameter defaults
    kept, resource names replaced by placeholders (a cold start reads but does not call)."""
    template = cfn_yaml.load(str(TEMPLATE))
    variables = {
        **template["Globals"]["Function"]["Environment"]["Variables"],
        **template["Resources"][logical_id]["Properties"]["Environment"]["Variables"],
    }
    parameters = template["Parameters"]

    def value(raw: Any) -> str:
        if isinstance(raw, str):
            return raw
        ref = raw.get("Ref") if isinstance(raw, dict) else None
        if ref in parameters and "Default" in parameters[ref]:
            return str(parameters[ref]["Default"])
        return "cold-start-placeholder"

    return {name: value(raw) for name, raw in variables.items()}


@dataclass(frozen=True)
class Measured:
    usage: Usage  # of one one-recipient request, alone on a quiet stack
    arriving: Usage  # of one one-recipient request among many arriving at once
    batched: Usage  # of one one-recipient request in a backlog: full batches
    workflow_alone: Usage  # `usage` without status events and callbacks
    workflow_arriving: Usage  # `arriving` without status events and callbacks
    workflow_batched: Usage  # `batched` without status events and callbacks
    latencies_ms: list[float]  # sorted
    messages_per_second: float
    lost: int
    duplicated: int
    cpu_ms_per_message: float
    dynamodb_requests_per_message: float  # under load, RECIPIENTS recipients a request
    burst_ms: list[float]  # sorted answer times of the API under bursts
    burst_statuses: dict[str, int]


def measure(latency_samples: int, throughput_requests: int, parameters: dict[str, str]) -> Measured:
    """Run the stack: one-recipient requests alone and under load, then the load of
    RECIPIENTS-recipient requests, then bursts at the API."""
    local = LocalStack.start(STACK, LogLevel="WARNING", **parameters)
    try:
        local.serve()
        bench = Bench(local)
        bench.latency(5)  # warm up: imports, cold starts
        _clear(local)
        started = len(local.providers.outbox)
        samples = sorted(bench.latency(latency_samples))
        one = {m.trace_id for m in local.providers.outbox[started:]}
        time.sleep(1)  # the outbox fills before the execution records its outcome
        usage, workflow_alone = _usage(local, bench, latency_samples, one)
        quiet = Quiet.of(local.runtime, usage)
        _clear(local)
        arrived = bench.arriving(throughput_requests)
        time.sleep(1)
        arriving, workflow_arriving = _usage(local, bench, throughput_requests, arrived, quiet)
        _clear(local)
        queued = bench.backlog(throughput_requests)
        time.sleep(1)
        batched, workflow_batched = _usage(local, bench, throughput_requests, queued, quiet)
        _clear(local)
        rate, lost, doubled, cpu_ms = bench.throughput(throughput_requests)
        dynamodb = local.aws_requests.service("dynamodb") / (throughput_requests * RECIPIENTS)
        burst_ms, statuses = bench.bursts()
    finally:
        local.stop()
    return Measured(
        usage,
        arriving,
        batched,
        workflow_alone,
        workflow_arriving,
        workflow_batched,
        samples,
        rate,
        lost,
        doubled,
        cpu_ms,
        dynamodb,
        burst_ms,
        dict(statuses),
    )


def _clear(local: LocalStack) -> None:
    local.aws_requests.clear()
    local.runtime.invocations.clear()
    local.runtime.billed_seconds.clear()


def _usage(
    local: LocalStack, bench: Bench, requests: int, trace_ids: set[str], quiet: Quiet | None = None
) -> tuple[Usage, Usage]:
    """(everything, the workflow alone) one request used."""
    executions = bench.executions(trace_ids)
    calls, runtime = local.aws_requests, local.runtime
    usage = usage_per_request(requests, calls, runtime, executions, quiet)
    return usage, workflow_only(usage, requests, calls, runtime, quiet)


def percentile(samples: list[float], fraction: float) -> float:
    """Of sorted samples: the value `fraction` of them are at or below."""
    return samples[max(0, int(len(samples) * fraction + 0.5) - 1)]


def main(
    parameters: dict[str, str], latency_samples: int = 50, throughput_requests: int = 200
) -> int:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the local APIs' request lines
    # The handlers' metric lines go nowhere: the table is the output.
    with redirect_stdout(StringIO()):
        run = measure(latency_samples, throughput_requests, parameters)
    usage, arriving, batched, samples = run.usage, run.arriving, run.batched, run.latencies_ms
    cold_starts = {name: round(cold_start_ratio(name), 2) for name in SEND_FUNCTIONS}
    results = {
        "parameters": parameters,
        "transitions_one_recipient": usage.transitions,
        "transitions_per_request_batched": round(batched.transitions, 2),
        "transitions_per_request_arriving": round(arriving.transitions, 2),
        "lambda_invocations_per_request": round(usage.workflow_invocations, 2),
        "lambda_invocations_per_request_batched": round(batched.workflow_invocations, 2),
        "lambda_invocations_per_request_all_functions": round(usage.lambda_invocations, 2),
        "dynamodb_requests_per_message": round(run.dynamodb_requests_per_message, 2),
        "dynamodb_requests_one_recipient": round(usage.dynamodb_writes + usage.dynamodb_reads, 2),
        "messages_per_second": round(run.messages_per_second, 1),
        "p50_ms": round(median(samples)),
        "p99_ms": round(percentile(samples, 0.99)),
        "api_burst_p50_ms": round(median(run.burst_ms)),
        "api_burst_p99_ms": round(percentile(run.burst_ms, 0.99)),
        "api_burst_max_ms": round(run.burst_ms[-1]),
        "api_burst_statuses": run.burst_statuses,
        "lost": run.lost,
        "duplicated": run.duplicated,
        "cpu_ms_per_message": round(run.cpu_ms_per_message, 1),
        "cold_start_ratio_send": max(cold_starts.values()),
        "cold_start_ratios": cold_starts,
        # Delivering, what the baseline ($211) counted; then with the status events
        # and callbacks added since (issue 11), which every request also pays for.
        "cost_per_million_standard": cost_per_million(run.workflow_alone, "STANDARD"),
        "cost_per_million_standard_batched": cost_per_million(run.workflow_batched, "STANDARD"),
        "cost_per_million_standard_arriving": cost_per_million(run.workflow_arriving, "STANDARD"),
        "cost_per_million_express_alone": cost_per_million(run.workflow_alone, "EXPRESS"),
        "cost_per_million_express": cost_per_million(run.workflow_batched, "EXPRESS"),
        "cost_per_million_with_status_events": {
            "standard": cost_per_million(usage, "STANDARD"),
            "standard_batched": cost_per_million(batched, "STANDARD"),
            "standard_arriving": cost_per_million(arriving, "STANDARD"),
            "express_alone": cost_per_million(usage, "EXPRESS"),
            "express": cost_per_million(batched, "EXPRESS"),
        },
        "usage_one_recipient": asdict(usage),
        "usage_one_recipient_batched": asdict(batched),
        "usage_one_recipient_arriving": asdict(arriving),
    }
    # Each in a process of its own: executions a stopped stack leaves running in this one
    # would otherwise share its cores with the next scenario.
    results |= in_own_process("emulator.pacing_bench") | in_own_process("emulator.job_bench")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    replace_block(COST_DOC, cost_table(usage, batched, run.workflow_alone, run.workflow_batched))
    print(table(results, latency_samples, throughput_requests))
    print(
        f"\n(also in {RESULTS.relative_to(ROOT)}; the cost table in {COST_DOC.relative_to(ROOT)})"
    )
    paced_faults = results["paced_lost"] + results["paced_duplicated"] + results["paced_exhausted"]
    job_faults = results["job_lost"] + results["job_duplicated"]
    job_faults += not results["job_counts_match_outbox"]
    return 1 if run.lost or run.duplicated or paced_faults or job_faults else 0


def in_own_process(module: str) -> dict[str, Any]:
    """The results a bench scenario module prints as JSON, run by `python -m module`."""
    run = subprocess.run(
        [sys.executable, "-m", module], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return json.loads(run.stdout.strip().splitlines()[-1])


COST_DOC = ROOT / "docs" / "cost.md"
BLOCK_START, BLOCK_END = "<!-- make bench: cost table -->", "<!-- end of the cost table -->"


def cost_table(alone: Usage, backlog: Usage, workflow_alone: Usage, workflow: Usage) -> str:
    """Dollars per 1 M one-recipient requests by service: alone, and from a backlog; and
    the totals of delivering alone, without the status events and callbacks."""
    columns = [
        breakdown(alone, "STANDARD"),
        breakdown(backlog, "STANDARD"),
        breakdown(alone, "EXPRESS"),
        breakdown(backlog, "EXPRESS"),
    ]
    lines = [
        "| service | STANDARD, alone | STANDARD, backlog | EXPRESS, alone | EXPRESS, backlog |",
        "| --- | --- | --- | --- | --- |",
    ]
    for service in columns[0]:
        lines.append(f"| {service} | " + " | ".join(f"${c[service]:.2f}" for c in columns) + " |")
    totals = " | ".join(f"**${sum(c.values()):.2f}**" for c in columns)
    lines.append(f"| **total** | {totals} |")
    delivering = [
        cost_per_million(u, mode)
        for mode in ("STANDARD", "EXPRESS")
        for u in (workflow_alone, workflow)
    ]
    lines.append(
        "| of which delivering (no status events, callbacks) | "
        + " | ".join(f"${d:.2f}" for d in delivering)
        + " |"
    )
    counts = [
        ("state transitions", "transitions"),
        ("executions", "executions"),
        ("Lambda invocations", "lambda_invocations"),
        ("DynamoDB writes / reads", None),
        ("SQS requests", "sqs_requests"),
        ("status events", "events"),
    ]
    lines += ["", "| per request | alone | backlog |", "| --- | --- | --- |"]
    for label, field_name in counts:
        if field_name is None:
            values = [f"{u.dynamodb_writes:.2f} / {u.dynamodb_reads:.2f}" for u in (alone, backlog)]
        else:
            values = [f"{getattr(u, field_name):.2f}" for u in (alone, backlog)]
        lines.append(f"| {label} | {values[0]} | {values[1]} |")
    return "\n".join(lines)


def replace_block(path: Path, text: str) -> None:
    """Put `text` between the block markers of a document (the rest is left as it is)."""
    document = path.read_text()
    start, end = document.index(BLOCK_START), document.index(BLOCK_END)
    path.write_text(document[: start + len(BLOCK_START)] + "\n" + text + "\n" + document[end:])


def table(results: dict[str, Any], latency_samples: int, throughput_requests: int) -> str:
    statuses = ", ".join(f"{n} x {s}" for s, n in sorted(results["api_burst_statuses"].items()))
    r = results
    rows = [
        ("state transitions, one-recipient request alone", f"{r['transitions_one_recipient']:g}"),
        (
            f"state transitions per one-recipient request, {throughput_requests} from 25 clients"
            " / from a backlog",
            f"{r['transitions_per_request_arriving']:g} / {r['transitions_per_request_batched']:g}",
        ),
        (
            "Lambda invocations of the workflow per one-recipient request, alone / backlog"
            " (all functions, alone)",
            f"{r['lambda_invocations_per_request']:g} / "
            f"{r['lambda_invocations_per_request_batched']:g}"
            f" ({r['lambda_invocations_per_request_all_functions']:g})",
        ),
        ("DynamoDB requests, one-recipient request", r["dynamodb_requests_one_recipient"]),
        (
            f"DynamoDB requests per message ({RECIPIENTS} recipients)",
            r["dynamodb_requests_per_message"],
        ),
        (
            f"latency p50 / p99 (POST -> outbox, {latency_samples} sequential)",
            f"{r['p50_ms']} / {r['p99_ms']} ms",
        ),
        (
            f"throughput ({throughput_requests} requests x {RECIPIENTS})",
            f"{r['messages_per_second']:.0f} messages/s",
        ),
        ("lost / delivered twice", f"{r['lost']} / {r['duplicated']}"),
        ("CPU per message (whole stack, one process)", f"{r['cpu_ms_per_message']:.0f} ms"),
        (
            "API answer p50 / p99 / max, 3 bursts of 150 from 40 clients",
            f"{r['api_burst_p50_ms']} / {r['api_burst_p99_ms']} / {r['api_burst_max_ms']} ms"
            f" ({statuses})",
        ),
        (
            "send handler cold start / bare boto3 (email, SMS, WhatsApp, voice)",
            ", ".join(f"{ratio}x" for ratio in r["cold_start_ratios"].values()),
        ),
        (
            "cost per 1M one-recipient requests delivered, STANDARD, alone / from 25 clients"
            " / backlog",
            f"${r['cost_per_million_standard']:.2f}"
            f" / ${r['cost_per_million_standard_arriving']:.2f}"
            f" / ${r['cost_per_million_standard_batched']:.2f}",
        ),
        (
            "cost per 1M one-recipient requests delivered, EXPRESS, alone / backlog",
            f"${r['cost_per_million_express_alone']:.2f} / ${r['cost_per_million_express']:.2f}",
        ),
        (
            "the same with status events and callbacks: STANDARD alone / backlog,"
            " EXPRESS alone / backlog",
            " / ".join(
                f"${e[key]:.2f}"
                for e in [r["cost_per_million_with_status_events"]]
                for key in ("standard", "standard_batched", "express_alone", "express")
            ),
        ),
        *paced_rows(r),
        *job_rows(r),
    ]
    lines = ["| measure | value |", "| --- | --- |"]
    return "\n".join(lines + [f"| {name} | {value} |" for name, value in rows])


if __name__ == "__main__":
    sys.exit(main(parameter_overrides(sys.argv[1:])))


def job_rows(r: dict[str, Any]) -> list[tuple[str, Any]]:
    """The job scenario's rows (emulator/job_bench.py)."""
    return [
        (
            f"job of {r['job_rows']} CSV rows: rows per second (local, budget wide open)",
            r["job_rows_per_second"],
        ),
        (
            "job: lost / sent twice / counts match the outbox",
            f"{r['job_lost']} / {r['job_duplicated']} / {r['job_counts_match_outbox']}",
        ),
        (
            "job: cost per 1M job messages (provider fees apart)",
            f"${r['cost_per_million_job_messages']:.2f}",
        ),
    ]


def paced_rows(r: dict[str, Any]) -> list[tuple[str, Any]]:
    """The paced scenarios' rows (emulator/pacing_bench.py)."""
    below, cost = r["below_quota"], r["waiting_cost_per_million_messages"]
    return [
        (
            f"paced: 50 x 20 e-mails at {r['paced_budget']}/s, provider quota"
            f" {r['paced_budget']}/s: most in 1 s / per s over 5 s",
            f"{r['paced_max_per_second']} / {r['paced_max_per_5_seconds']:g}",
        ),
        (
            "paced: utilisation (sent per second / budget), STANDARD / EXPRESS",
            f"{r['paced_utilisation']:g} / {r['paced_utilisation_express']:g}"
            f" ({r['paced_seconds']:g} s / {r['paced_seconds_express']:g} s)",
        ),
        (
            "paced: exhausted / lost / sent twice (both types)",
            f"{r['paced_exhausted']} / {r['paced_lost']} / {r['paced_duplicated']}",
        ),
        (
            f"provider quota {below['quota']}/s under a budget of {r['paced_budget']}/s:"
            " exhausted / lost / sent twice",
            f"{below['exhausted']} / {below['lost']} / {below['duplicated']}"
            f" ({below['refused_by_provider']} throttles outlasted, {below['seconds']:g} s)",
        ),
        (
            "transactional during a bulk burst: POST -> provider, p99 of 10",
            f"{r['priority_p99_ms']} ms",
        ),
        (
            "what waiting costs per 1M paced messages, STANDARD / EXPRESS",
            f"${cost['standard']:.2f} / ${cost['express']:.2f}",
        ),
    ]
