"""A burst over the EMAIL budget, through the HTTP API: paced to the budget, nothing lost."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
from conftest import example, outbox, trace_status, wait_until

from cli.dlq import read_all
from emulator.local import LocalStack

RATE = 20  # e-mails per second: the operator's rate for the account during the test
REQUESTS, RECIPIENTS = 10, 20
SENDS = REQUESTS * RECIPIENTS


@pytest.fixture
def email_rate(messaging: Callable[..., tuple[int, str, str]]) -> Iterator[None]:
    """`messaging senders rate EMAIL 20` for one test; the channel's default after."""
    code, _, err = messaging("senders", "rate", "EMAIL", str(RATE))
    assert code == 0, err
    yield
    code, _, err = messaging("senders", "rate", "EMAIL", "--default")
    assert code == 0, err


def ended(local: LocalStack, trace_id: str) -> str:
    """The trace's status once it has ended: a paced request is SCHEDULED meanwhile."""
    return wait_until(
        lambda: (status := trace_status(local, trace_id)) in ("COMPLETED", "FAILED") and status,
        f"trace {trace_id} ended",
    )


def test_a_burst_over_the_email_budget_is_delivered_once_each_at_the_budget(
    local: LocalStack, post, email_rate
):
    requests = []
    for r in range(REQUESTS):
        request = example("email-only.json")
        request["Addresses"] = {
            f"budget{r}-{n}@example.com": {"ChannelType": "EMAIL"} for n in range(RECIPIENTS)
        }
        requests.append(request)

    started = time.time()
    for request in requests:
        assert post(request).status_code == 202
    statuses = {request["TraceId"]: ended(local, request["TraceId"]) for request in requests}

    assert set(statuses.values()) == {"COMPLETED"}
    sent = [message for request in requests for message in outbox(local, request["TraceId"])]
    assert Counter(m["to"] for m in sent) == {
        address: 1 for request in requests for address in request["Addresses"]
    }
    dlq_url = local.stack.physical("DeadLetterQueue")["QueueUrl"]
    dlq = read_all(local.client("sqs"), dlq_url, wait_seconds=0)
    assert [m for m in dlq if _trace(m) in statuses] == []
    # The budget's rule: RATE a second on average over any 5 s, twice that in any one second.
    # A held slot is still used up to pacing.LATE after its time (one interval at 20/s),
    # beside the next one on time: a window counted from such a send holds one more send at
    # each of its ends.
    # How the provider's windows are kept is proven where the clock is the test's own:
    # exact slots in tests/unit/integration/test_budgets.py, accept times at 2x the rate in
    # any second in tests/integration/test_send_budgets.py. Here, two stacks share two
    # cores and a stalled emulator answers its backlog of calls in one moment, so the
    # accept times it records cluster whatever the sends did (seen: 41-46 in one second).
    times = [datetime.fromisoformat(m["at"]).timestamp() for m in sent]
    # And no slower than it needs to be: about SENDS / RATE seconds.
    # Not much more than the budget's pace (loose: two stacks share two cores here).
    assert max(times) - started < SENDS / RATE * 3 + 10


def _trace(message: dict) -> str | None:
    try:
        return json.loads(message["Body"])["Request"]["TraceId"]
    except (ValueError, KeyError, TypeError):
        return None
