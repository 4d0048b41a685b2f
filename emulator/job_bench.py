"""`make bench`'s job scenario: a 2,000-row CSV job through the local stack, end to end.

It checks what a user checks (every row sent exactly once, GET /jobs/{JobId} counting what
the outbox holds), measures how fast the local stack sends a job's rows (the EMAIL budget
opened wide, so the emulator and not the budget sets the pace), and counts what a job
message uses: the parent's state transitions (one per child execution started, as AWS
bills a Distributed Map), the EXPRESS children and their durations (from the Map's result
files), Lambda invocations and their billed time, DynamoDB and S3 requests. Priced with
emulator/cost.py's list prices: `cost_per_million_job_messages`.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import datetime
from typing import Any

import requests

from emulator.bench import DYNAMODB_READS, DYNAMODB_WRITES, STACK, _clear
from emulator.cost import EXPRESS_MEMORY_GB, LAMBDA_MEMORY_GB, PRICES
from emulator.local import LOCAL_JWT_SECRET, LocalStack
from emulator.pacing_bench import budgets_of
from notify.domain.tokens import mint_token

ROWS = 2000
EMAIL = {"FromAddress": "news@example.com", "Subject": "Hello {name}", "TextBody": "Dear {name}"}
# S3 requests of one job: its rows put, read by the ItemReader, the results manifest and
# its result files written (at most one file per status here).
S3_PUTS_PER_JOB, S3_GETS_PER_JOB = 5, 1


def measure(rows: int = ROWS) -> dict[str, Any]:
    local = LocalStack.start(STACK, LogLevel="WARNING")
    try:
        local.serve().seed_demo()
        budgets_of(local).set_rate("EMAIL", 10_000)
        return _run(local, rows)
    finally:
        local.stop()


def _run(local: LocalStack, rows: int) -> dict[str, Any]:
    token = mint_token(LOCAL_JWT_SECRET, "bench", customer_id="bench")
    headers = {"Authorization": f"Bearer {token}"}
    csv = "address,name\n" + "".join(f"row{n}@example.com,P{n}\n" for n in range(1, rows + 1))
    _clear(local)
    posted = time.time()
    answer = requests.post(
        f"{local.http.url}/jobs",
        json={"ChannelType": "EMAIL", "EmailMessage": EMAIL, "Csv": csv},
        headers=headers,
        timeout=120,
    )
    answer.raise_for_status()
    job_id = answer.json()["JobId"]
    job = _ended(local, job_id, headers)
    sent = [m for m in local.providers.sent() if (m.trace_id or "").startswith(job_id + "-")]
    accepted = max(datetime.fromisoformat(m.at).timestamp() for m in sent)
    per_row = Counter(m.to for m in sent)
    usage = _usage(local, job_id, rows)
    return {
        "job_rows": rows,
        "job_rows_per_second": round(rows / (accepted - posted), 1),
        "job_lost": rows - len(per_row),
        "job_duplicated": sum(n - 1 for n in per_row.values()),
        "job_counts_match_outbox": job["Sent"] == len(sent) and job["Pending"] == 0,
        "job_usage_per_message": usage,
        "cost_per_million_job_messages": round(sum(job_breakdown(usage).values()), 2),
        "cost_per_million_job_messages_by_service": {
            service: round(dollars, 2) for service, dollars in job_breakdown(usage).items()
        },
    }


def _ended(local: LocalStack, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        job = requests.get(f"{local.http.url}/jobs/{job_id}", headers=headers, timeout=60).json()
        if job["Status"] in ("COMPLETED", "FAILED", "CANCELLED") and job["Pending"] == 0:
            return job
        time.sleep(2)
    raise AssertionError(f"job {job_id} did not end")


def _usage(local: LocalStack, job_id: str, rows: int) -> dict[str, Any]:
    """What one job message used, on average."""
    children = _children(local, job_id)
    parent = _parent_history(local, job_id)
    invoked = local.runtime.invocations
    calls = local.aws_requests
    return {
        # A Distributed Map bills a state transition per child execution it starts.
        "transitions": (sum(e["type"].endswith("StateEntered") for e in parent) + len(children))
        / rows,
        "express_children": len(children) / rows,
        "express_child_seconds": sum(children) / len(children) if children else 0.0,
        "lambda_invocations": sum(invoked.values()) / rows,
        "lambda_seconds": sum(local.runtime.billed_seconds.values()) / rows,
        "dynamodb_writes": calls.service("dynamodb", DYNAMODB_WRITES) / rows,
        "dynamodb_reads": calls.service("dynamodb", DYNAMODB_READS) / rows,
        "s3_puts": S3_PUTS_PER_JOB / rows,
        "s3_gets": S3_GETS_PER_JOB / rows,
        "api_requests": 1 / rows,
        "events": sum(calls.entries.values()) / rows,
        "dynamodb_by_operation": {
            f"{op}": round(n / rows, 3)
            for (service, op), n in sorted(calls.calls.items())
            if service == "dynamodb"
        },
        "lambda_by_function": {f: round(n / rows, 3) for f, n in sorted(invoked.items())},
    }


def job_breakdown(usage: dict[str, Any]) -> dict[str, float]:
    """Dollars per million job messages, by service (list prices: emulator/cost.py)."""
    p = PRICES
    child_seconds = max(0.1, round(usage["express_child_seconds"], 1))  # billed per 100 ms
    express = usage["express_children"] * (
        p["sfn_express_per_request"]
        + child_seconds * EXPRESS_MEMORY_GB * p["sfn_express_per_gb_second"]
    )
    dollars = {
        "API Gateway REST": usage["api_requests"] * p["api_gateway_rest_per_request"],
        "Step Functions (parent)": usage["transitions"] * p["sfn_standard_per_transition"],
        "Step Functions (children)": express,
        "Lambda": usage["lambda_invocations"] * p["lambda_per_request"]
        + usage["lambda_seconds"] * LAMBDA_MEMORY_GB * p["lambda_arm_per_gb_second"],
        "DynamoDB": usage["dynamodb_writes"] * p["dynamodb_per_write_unit"]
        + usage["dynamodb_reads"] * p["dynamodb_per_read_unit"],
        "S3": usage["s3_puts"] * p["s3_per_put"] + usage["s3_gets"] * p["s3_per_get"],
        "EventBridge events": usage["events"] * p["eventbridge_per_event"],
    }
    return {service: value * 1e6 for service, value in dollars.items()}


def _parent_history(local: LocalStack, job_id: str) -> list[dict[str, Any]]:
    sfn = local.client("stepfunctions")
    machine = local.stack.physical("JobStateMachine")["Ref"]
    arn = machine.replace(":stateMachine:", ":execution:") + f":{job_id}"
    return sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]


def _children(local: LocalStack, job_id: str) -> list[float]:
    """Each child execution's duration in seconds, from the Map's result files."""
    s3 = local.client("s3")
    bucket = local.stack.physical("JobsBucket")["Ref"]
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"jobs/{job_id}/results/")
    seconds = []
    for obj in listed.get("Contents", []):
        if obj["Key"].endswith("manifest.json"):
            continue
        for entry in json.loads(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()):
            if entry.get("StartDate") and entry.get("StopDate"):
                start = datetime.fromisoformat(str(entry["StartDate"]).replace("Z", "+00:00"))
                stop = datetime.fromisoformat(str(entry["StopDate"]).replace("Z", "+00:00"))
                seconds.append((stop - start).total_seconds())
            else:
                seconds.append(0.0)
    return seconds


if __name__ == "__main__":  # `make bench` runs each scenario in a process of its own
    import contextlib
    import io
    import json as _json
    import sys

    with contextlib.redirect_stdout(io.StringIO()):
        found = measure()
    sys.stdout.write(_json.dumps(found, default=str) + "\n")
