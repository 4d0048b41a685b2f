"""`make bench`'s paced scenarios: send budgets against a provider's real quota.

- paced: 20 requests x 20 e-mails at EmailSendRate 20 against a provider that accepts at
  most 20 a second: the most accepted in any second, the budget's utilisation (sent per
  second / budget), what was exhausted, lost or sent twice, and what waiting costs per
  message (the same load with room in the budget, subtracted), in both workflow types;
- below quota: the provider accepts 10 a second while the budget says 20: its throttles
  are outlasted (nothing lost, doubled or exhausted);
- priority: a bulk burst of 400 e-mails at 20/s, and meanwhile 10 transactional
  requests: how long each took from POST to the provider (p99).
"""

from __future__ import annotations

import copy
import json
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from emulator.bench import STACK, Bench, _clear, percentile, usage_per_request
from emulator.cost import cost_per_million
from emulator.local import LocalStack
from notify.integration.budgets import BudgetStore
from notify.integration.dynamodb_table import DynamoTable

EMAIL = json.loads((Path(__file__).resolve().parents[1] / "events" / "email-only.json").read_text())
REQUESTS, RECIPIENTS = 20, 20
BUDGET, QUOTA = 20, 20


def email_request(index: int, priority: str | None = None, recipients: int = RECIPIENTS) -> dict:
    request = copy.deepcopy(EMAIL)
    request["Addresses"] = {
        f"paced{index}-{n}@example.com": {"ChannelType": "EMAIL"} for n in range(recipients)
    }
    return request | ({"Priority": priority} if priority else {})


@dataclass
class Paced:
    messages: int
    lost: int
    duplicated: int
    exhausted: int  # dead letters
    max_per_second: int  # most accepted in any 1-second window
    max_per_5_seconds: float  # most accepted in any 5-second window, per second
    utilisation: float  # accepted per second over the run / budget
    seconds: float
    refused_by_provider: int
    usage: Any  # per message


def windows(times: list[float], width: float) -> int:
    """The most of these (sorted) times in any half-open window `width` seconds long."""
    most, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= width:
            start += 1
        most = max(most, end - start + 1)
    return most


def accept_times(local: LocalStack, trace_ids: set[str]) -> list[float]:
    return sorted(
        datetime.fromisoformat(m.at).timestamp()
        for m in local.providers.sent()
        if m.trace_id in trace_ids
    )


def dead_letters(local: LocalStack) -> int:
    sqs = local.client("sqs")
    url = sqs.get_queue_url(QueueName=f"{STACK}-messages-dlq")["QueueUrl"]
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def budgets_of(local: LocalStack) -> BudgetStore:
    name = local.stack.physical("SendBudgetsTable")["Ref"]
    return BudgetStore(DynamoTable(local.client("dynamodb"), name))


def run_paced(
    local: LocalStack, bench: Bench, budget: float, quota: int | None, priority: str | None = None
) -> Paced:
    """REQUESTS x RECIPIENTS e-mails at `budget` a second against a provider quota."""
    budgets = budgets_of(local)
    budgets.set_rate("EMAIL", budget)
    limit = local.providers.add_quota("EMAIL", quota) if quota else None
    letters = dead_letters(local)
    _clear(local)
    started = time.time()
    trace_ids = {bench.post(email_request(i, priority))[0] for i in range(REQUESTS)}
    bench.delivered(trace_ids, per_trace=RECIPIENTS, deadline=600)
    time.sleep(1)  # the last executions record their outcomes
    times = accept_times(local, trace_ids)
    sent = Counter((m.trace_id, m.to) for m in local.providers.sent() if m.trace_id in trace_ids)
    expected = REQUESTS * RECIPIENTS
    usage = usage_per_request(
        expected, local.aws_requests, local.runtime, bench.executions(trace_ids)
    )
    local.providers.clear_faults()
    budgets.set_rate("EMAIL", None)
    span = (times[-1] - times[0]) if len(times) > 1 else 1.0
    return Paced(
        messages=len(sent),
        lost=expected - len(sent),
        duplicated=sum(n - 1 for n in sent.values()),
        exhausted=dead_letters(local) - letters,
        max_per_second=windows(times, 1.0),
        max_per_5_seconds=windows(times, 5.0) / 5,
        utilisation=(len(times) - 1) / span / budget if len(times) > 1 else 0.0,
        seconds=times[-1] - started if times else 0.0,
        refused_by_provider=limit.refused if limit else 0,
        usage=usage,
    )


def priority_latencies(local: LocalStack, bench: Bench) -> list[float]:
    """Milliseconds from POST to the provider of 10 transactional e-mails sent one a
    second while a bulk burst fills the budget."""
    budgets = budgets_of(local)
    budgets.set_rate("EMAIL", BUDGET)
    bulk = {bench.post(email_request(i, "bulk"))[0] for i in range(REQUESTS)}
    time.sleep(3)  # the burst is booked and under way
    urgent: dict[str, float] = {}
    for n in range(10):
        trace_id, _ = bench.post(email_request(1000 + n, recipients=1))
        urgent[trace_id] = time.time()
        time.sleep(1)
    bench.delivered(set(urgent), deadline=120)
    accepted = {
        m.trace_id: datetime.fromisoformat(m.at).timestamp()
        for m in local.providers.sent()
        if m.trace_id in urgent
    }
    bench.delivered(bulk, per_trace=RECIPIENTS, deadline=600)
    budgets.set_rate("EMAIL", None)
    return sorted((accepted[t] - posted) * 1000 for t, posted in urgent.items() if t in accepted)


def measure(workflow_type: str) -> dict[str, Any]:
    """The paced figures of one workflow type, and what waiting costs per message."""
    local = LocalStack.start(STACK, LogLevel="WARNING", WorkflowType=workflow_type)
    try:
        local.serve().seed_demo()  # the sender's domain verified, as a deployer does
        bench = Bench(local)
        bench.latency(3)  # warm up
        roomy = run_paced(local, bench, budget=10_000, quota=None)
        paced = run_paced(local, bench, budget=BUDGET, quota=QUOTA)
        figures: dict[str, Any] = {
            "paced": paced,
            "waiting_cost_per_million_messages": round(
                cost_per_million(paced.usage, workflow_type)
                - cost_per_million(roomy.usage, workflow_type),
                2,
            ),
            "transitions_per_message": (roomy.usage.transitions, paced.usage.transitions),
            "executions_per_message": (roomy.usage.executions, paced.usage.executions),
        }
        if workflow_type == "STANDARD":
            figures["below_quota"] = run_paced(local, bench, budget=BUDGET, quota=QUOTA // 2)
            figures["priority_ms"] = priority_latencies(local, bench)
        return figures
    finally:
        local.stop()


def results() -> dict[str, Any]:
    """Every paced figure, for .bench/results.json."""
    standard, express = measure("STANDARD"), measure("EXPRESS")
    paced, below = standard["paced"], standard["below_quota"]
    priority = standard["priority_ms"]
    return {
        "paced_budget": BUDGET,
        "paced_max_per_second": paced.max_per_second,
        "paced_max_per_5_seconds": round(paced.max_per_5_seconds, 1),
        "paced_utilisation": round(paced.utilisation, 3),
        "paced_exhausted": paced.exhausted + express["paced"].exhausted,
        "paced_lost": paced.lost + express["paced"].lost,
        "paced_duplicated": paced.duplicated + express["paced"].duplicated,
        "paced_seconds": round(paced.seconds, 1),
        "paced_seconds_express": round(express["paced"].seconds, 1),
        "paced_utilisation_express": round(express["paced"].utilisation, 3),
        "paced_refused_by_provider": paced.refused_by_provider,
        "below_quota": {
            "quota": QUOTA // 2,
            "lost": below.lost,
            "duplicated": below.duplicated,
            "exhausted": below.exhausted,
            "seconds": round(below.seconds, 1),
            "refused_by_provider": below.refused_by_provider,
        },
        "priority_p99_ms": round(percentile(priority, 0.99)) if priority else None,
        "priority_ms": [round(ms) for ms in priority],
        "waiting_cost_per_million_messages": {
            "standard": standard["waiting_cost_per_million_messages"],
            "express": express["waiting_cost_per_million_messages"],
        },
        "transitions_per_message_roomy_paced": {
            "standard": [round(n, 2) for n in standard["transitions_per_message"]],
            "express": [round(n, 2) for n in express["transitions_per_message"]],
        },
        "executions_per_message_roomy_paced": {
            "standard": [round(n, 3) for n in standard["executions_per_message"]],
            "express": [round(n, 3) for n in express["executions_per_message"]],
        },
    }


if __name__ == "__main__":  # `make bench` runs each scenario in a process of its own
    import contextlib
    import io
    import json as _json
    import sys

    with contextlib.redirect_stdout(io.StringIO()):
        found = results()
    sys.stdout.write(_json.dumps(found, default=str) + "\n")
