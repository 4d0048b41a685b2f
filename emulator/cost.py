"""What a request costs: AWS list prices kept in one place, times the counts a bench measured.

Prices are us-east-1 list prices (on demand, no free tier). The counts come from a run of
the local stack: AWS requests by service and operation, Lambda invocations and their
durations, state transitions and execution durations. Provider fees (SES, SMS, Twilio)
are not included: they are the same whatever the orchestration costs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PRICES = {
    "api_gateway_rest_per_request": 3.50 / 1e6,
    "sqs_per_request": 0.40 / 1e6,
    "pipes_per_request": 0.40 / 1e6,  # per batch of up to 64 KB handed to the target
    "sfn_standard_per_transition": 0.025 / 1e3,
    "sfn_express_per_request": 1.00 / 1e6,
    "sfn_express_per_gb_second": 0.00001667,  # billed in 64 MB steps and 100 ms steps
    "lambda_per_request": 0.20 / 1e6,
    "lambda_arm_per_gb_second": 0.0000133334,
    "dynamodb_per_write_unit": 0.625 / 1e6,
    "dynamodb_per_read_unit": 0.125 / 1e6,
    "eventbridge_per_event": 1.00 / 1e6,  # custom events put on a bus (status events)
    "s3_per_put": 0.005 / 1e3,  # S3 Standard PUT, COPY, POST, LIST
    "s3_per_get": 0.0004 / 1e3,  # S3 Standard GET and others
}
LAMBDA_MEMORY_GB = 0.25  # every function's MemorySize (template Globals)
EXPRESS_MEMORY_GB = 0.0625  # the smallest step: these executions carry small state


@dataclass(frozen=True)
class Usage:
    """What one request used, on average."""

    api_requests: float
    sqs_requests: float
    executions: float  # a batched execution serves several requests: a fraction each
    transitions: float
    lambda_invocations: float  # every function's, all billed
    workflow_invocations: float  # of them, Plan, the send functions and Record
    lambda_seconds: float  # billed duration of all its invocations
    dynamodb_writes: float
    dynamodb_reads: float
    execution_seconds: float  # how long an execution ran, median (Express bills it)
    events: float = 0  # put on an EventBridge bus (status events)


def cost_per_million(usage: Usage, mode: str) -> float:
    """Dollars for a million such requests, in STANDARD or EXPRESS mode."""
    return round(sum(breakdown(usage, mode).values()), 2)


def breakdown(usage: Usage, mode: str) -> dict[str, float]:
    """Dollars per million such requests, by service."""
    p = PRICES
    lambda_seconds = usage.lambda_seconds * LAMBDA_MEMORY_GB * p["lambda_arm_per_gb_second"]
    dollars = {
        "API Gateway REST": usage.api_requests * p["api_gateway_rest_per_request"],
        "SQS": usage.sqs_requests * p["sqs_per_request"],
        "EventBridge Pipes": usage.executions * p["pipes_per_request"],  # one request a batch
        "Step Functions": _workflow(usage, mode),
        "Lambda": usage.lambda_invocations * p["lambda_per_request"] + lambda_seconds,
        "DynamoDB": usage.dynamodb_writes * p["dynamodb_per_write_unit"]
        + usage.dynamodb_reads * p["dynamodb_per_read_unit"],
        "EventBridge events": usage.events * p["eventbridge_per_event"],
    }
    return {service: value * 1e6 for service, value in dollars.items()}


def _workflow(usage: Usage, mode: str) -> float:
    p = PRICES
    if mode == "STANDARD":
        return usage.transitions * p["sfn_standard_per_transition"]
    if mode == "EXPRESS":
        billed = math.ceil(usage.execution_seconds * 10) / 10
        per_execution = p["sfn_express_per_request"] + (
            billed * EXPRESS_MEMORY_GB * p["sfn_express_per_gb_second"]
        )
        return usage.executions * per_execution
    raise ValueError(f"no such workflow type {mode!r}")
