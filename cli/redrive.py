"""`messaging redrive TRACE_ID`: run a trace's failed execution again, then wait for it."""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from cli.aws import Unsupported, attempt
from cli.errors import CommandError
from cli.output import cause_text
from cli.target import Context, Target
from cli.trace import OwnerTrace, load_trace

PROGRESS_EVERY = 5.0  # seconds between progress lines on stderr
POLL_EVERY = 0.5


EXPRESS_HAS_NO_REDRIVE = (
    "EXPRESS executions cannot be redriven: a failed request goes back to the queue, then"
    " to the DLQ; send it again with `messaging dlq redrive`"
)
# What Step Functions can redrive: every way an execution ends badly.
REDRIVABLE = ("FAILED", "TIMED_OUT", "ABORTED")


def latest_failed(sfn: Any, arns: list[str]) -> dict[str, Any]:
    """describe_execution of the most recently started FAILED (TIMED_OUT, ABORTED) execution.

    Refused when a later execution succeeded or is running: the trace was already
    delivered (e.g. by a DLQ redrive), or is being delivered.
    """
    described = [sfn.describe_execution(executionArn=arn) for arn in dict.fromkeys(arns)]
    described.sort(key=lambda d: d["startDate"], reverse=True)
    for description in described:
        if description["status"] in REDRIVABLE:
            return description
        if description["status"] in ("SUCCEEDED", "RUNNING"):
            raise CommandError(
                f"nothing to redrive: the trace's latest execution is {description['status']}"
                f" ({description['executionArn']})"
            )
    raise CommandError("the trace has no FAILED execution")


def failed_execution(sfn: Any, trace_id: str, owners: list[OwnerTrace]) -> dict[str, Any]:
    """The most recent FAILED execution among the owners (callers) of the TraceId."""
    candidates, refusals = [], []
    for owner in owners:  # each caller's executions are its own attempts at the TraceId
        try:
            if owner.header.get("Status") == "RUNNING":
                # Its execution has ended, but the reconciler has not yet dead-lettered
                # what it left unsent: a run now would find the TraceId still claimed.
                raise CommandError("the trace is still RUNNING; try again in a few seconds")
            candidates.append(latest_failed(sfn, owner.executions))
        except CommandError as exc:
            refusals.append(f"{owner.owner}: {exc}" if len(owners) > 1 else str(exc))
    if not candidates:
        raise CommandError(f"trace {trace_id}: {'; '.join(refusals)}")
    return max(candidates, key=lambda d: d["startDate"])


def redrive_or_rerun(target: Target, failed: dict[str, Any]) -> tuple[str, datetime | None]:
    """Redrive `failed`, or start its input again where the local stack lacks redrive.

    Returns the ARN to wait for and, for a redrive, when it was redriven (the same
    execution reports its earlier FAILED until the redrive shows).
    """
    arn = failed["executionArn"]
    try:
        response = attempt(target, "stepfunctions", "redrive_execution", executionArn=arn)
    except Unsupported as exc:
        # The same input as a new execution: Plan lets a FAILED TraceId be claimed again,
        # and the send functions' idempotency skips every recipient already sent.
        started = target.client("stepfunctions").start_execution(
            stateMachineArn=failed["stateMachineArn"], name=str(uuid.uuid4()), input=failed["input"]
        )
        print(f"redrive is not available ({exc}): started the failed execution's input again")
        print(f"failed:  {arn}")
        print(f"started: {started['executionArn']}")
        return started["executionArn"], None
    print(f"redriven: {arn}")
    return arn, response["redriveDate"]


def finished(description: dict[str, Any], since: datetime | None) -> bool:
    if description["status"] == "RUNNING":
        return False
    stopped = description.get("stopDate")
    return since is None or (stopped is not None and stopped >= since)


def wait_for_execution(
    sfn: Any,
    arn: str,
    timeout: float,
    since: datetime | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll describe_execution until the execution ends; progress goes to stderr."""
    start = clock()
    next_report = start + PROGRESS_EVERY
    print(f"waiting up to {timeout:g} s for {arn.rsplit(':', 1)[-1]} …", file=sys.stderr)
    while True:
        description = sfn.describe_execution(executionArn=arn)
        if finished(description, since):
            return description
        now = clock()
        if now - start >= timeout:
            raise CommandError(f"execution {arn} still {description['status']} after {timeout:g} s")
        if now >= next_report:
            print(f"  {description['status']} after {now - start:.0f} s", file=sys.stderr)
            next_report += PROGRESS_EVERY
        sleep(POLL_EVERY)


def run(args: argparse.Namespace, ctx: Context) -> int:
    target = ctx.target()
    sfn = target.client("stepfunctions")
    machine = sfn.describe_state_machine(stateMachineArn=target.output("StateMachineArn"))
    if machine["type"] == "EXPRESS":
        raise CommandError(EXPRESS_HAS_NO_REDRIVE)
    failed = failed_execution(sfn, args.trace_id, load_trace(target, args.trace_id))
    arn, since = redrive_or_rerun(target, failed)
    if args.no_wait:
        return 0
    final = wait_for_execution(sfn, arn, args.timeout, since)
    print(final_line(final))
    return 0 if final["status"] == "SUCCEEDED" else 1


def final_line(description: dict[str, Any]) -> str:
    line = f"{description['status']}: {description['executionArn']}"
    if description.get("error"):
        line += f" ({description['error']}: {cause_text(description.get('cause'), 120)})"
    return line
