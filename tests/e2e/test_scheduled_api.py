"""Scheduled sends and cancellation on the running local stack, over HTTP and the CLI."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta

import requests
from conftest import E2E_OWNER, example, outbox, trace_status, wait_until

SEND_AFTER_SECONDS = 12  # beyond DUE_TOLERANCE (5 s): queued to wait, not sent as due


def scheduled(seconds: float) -> dict:
    request = example("sms-inline.json")
    return request | {"SendAt": (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()}


def cli_answer(out: str) -> tuple[str, dict]:
    """`messaging cancel`'s status line and answer (the stack's own logs share stdout here)."""
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if re.match(r"^\d{3} ", line))
    return lines[at], json.JSONDecoder().raw_decode("\n".join(lines[at + 1 :]))[0]


def dead_letter_bodies(local) -> list[str]:
    """The DLQ's messages, peeked (several receives: SQS samples its hosts)."""
    sqs, url = local.client("sqs"), local.stack.physical("DeadLetterQueue")["QueueUrl"]
    found = {}
    for _ in range(5):
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        found |= {m["MessageId"]: m["Body"] for m in received.get("Messages", [])}
    return list(found.values())


def status(api: str, token: str, trace_id: str) -> dict:
    response = requests.get(
        f"{api}messages/{trace_id}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    return response.json()


def test_a_request_sent_12_seconds_ahead_is_not_sent_at_6_seconds_and_is_after(
    post, local, api, token
):
    request = scheduled(SEND_AFTER_SECONDS)
    posted = time.monotonic()
    assert post(request).status_code == 202
    trace_id = request["TraceId"]
    wait_until(lambda: trace_status(local, trace_id) == "SCHEDULED", "scheduled")
    view = status(api, token, trace_id)
    assert view["Status"] == "SCHEDULED"
    assert 0 < view["SecondsUntilSend"] <= SEND_AFTER_SECONDS
    assert {r["Status"] for r in view["Recipients"]} == {"SCHEDULED"}

    time.sleep(max(0.0, posted + SEND_AFTER_SECONDS / 2 - time.monotonic()))
    assert outbox(local, trace_id) == []

    sent = wait_until(lambda: outbox(local, trace_id), "sent at its time", deadline=30)
    assert len(sent) == 1
    assert time.monotonic() - posted >= SEND_AFTER_SECONDS - 1  # whole seconds, no earlier
    wait_until(lambda: trace_status(local, trace_id) == "COMPLETED", "completed")


def test_a_request_cancelled_before_its_time_is_never_sent(post, local, api, token, messaging):
    request = scheduled(7)  # beyond DUE_TOLERANCE (5 s), so not "now"
    assert post(request).status_code == 202
    trace_id = request["TraceId"]
    wait_until(lambda: trace_status(local, trace_id) == "SCHEDULED", "scheduled")

    code, out, _ = messaging("cancel", trace_id, "--customer-id", "e2e-customer")

    assert code == 0, out
    status_line, answer = cli_answer(out)
    assert status_line.startswith("200 ")
    assert answer["Status"] == "CANCELLED"
    assert [r["Status"] for r in status(api, token, trace_id)["Recipients"]] == ["CANCELLED"]
    send_at = datetime.fromisoformat(request["SendAt"])
    # Past its time (the scheduler polls every 0.5 s): the schedule was deleted, nothing fires.
    time.sleep(max(0.0, (send_at - datetime.now(UTC)).total_seconds() + 1.5))
    assert outbox(local, trace_id) == []
    assert trace_status(local, trace_id, E2E_OWNER) == "CANCELLED"
    assert not [body for body in dead_letter_bodies(local) if trace_id in body]
    assert messaging("cancel", trace_id, "--customer-id", "e2e-customer")[0] == 1  # 409


def test_another_tenant_cannot_cancel_a_trace(post, local, api, messaging):
    request = scheduled(3600)
    assert post(request).status_code == 202
    wait_until(lambda: trace_status(local, request["TraceId"]) == "SCHEDULED", "scheduled")

    code, out, _ = messaging("cancel", request["TraceId"], "--customer-id", "someone-else")

    assert (code, cli_answer(out)[0][:3]) == (1, "404")
    assert trace_status(local, request["TraceId"]) == "SCHEDULED"
