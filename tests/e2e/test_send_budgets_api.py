"""A burst over the EMAIL budget, through the HTTP API: paced to the budget, nothing lost."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from conftest import example, outbox, trace_status, wait_until

from cli.dlq import read_all
from emulator.local import LocalStack

RATE = 20  # e-mails per second: the operator's rate for the account during the test
REQUESTS, RECIPIENTS = 10, 10
SENDS = REQUESTS * RECIPIENTS
# About SENDS / RATE seconds on an idle machine; a stalled emulator on a loaded one is slower.
ENDED_WITHIN = 180


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
        deadline=ENDED_WITHIN,
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
    # How the budget's windows are kept (RATE a second over any 5 s, twice that in any one)
    # is proven where the clock is the test's own: exact slots in
    # tests/unit/integration/test_budgets.py, accept times in
    # tests/integration/test_send_budgets.py; how long a saturated budget takes, by
    # `make bench`. Here two stacks share two cores, so only the outcome is asserted.


def _trace(message: dict) -> str | None:
    try:
        return json.loads(message["Body"])["Request"]["TraceId"]
    except (ValueError, KeyError, TypeError):
        return None
