"""The WhatsApp bot plan's loads, four times over, against the running local stack.

The plan sent invitations in bulks of 25 and took concurrent webhooks; here 100 invitation
requests and 100 concurrent webhooks (LOAD=250 runs 250 of each, ten times the plan).
Every request must be answered (202/200, or 429 past the limits, never 5xx) and every
accepted message processed exactly once.
"""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from twilio.request_validator import RequestValidator

from emulator.local import LOCAL_TWILIO_AUTH_TOKEN, LocalStack
from tests.e2e.conftest import example, wait_until

INVITATIONS = WEBHOOKS = int(os.environ.get("LOAD", "100"))
CLIENTS = 25
DEADLINE_SECONDS = 240


@pytest.fixture(scope="module")
def load_api(local: LocalStack) -> Iterator[str]:
    """The stack's API with its own usage-plan buckets, so other tests keep theirs."""
    server = local.serve_api()
    yield server.url
    server.stop()


def all_sent(local: LocalStack) -> Counter[tuple[str, str]]:
    messages = requests.get(f"{local.http.url}/_local/outbox", timeout=30).json()
    return Counter((message["trace_id"], message["to"]) for message in messages)


def test_bulk_invitations_are_answered_and_each_accepted_one_sent_exactly_once(
    local, token, load_api
):
    def invite(n: int) -> tuple[str, str, int]:
        request = example("whatsapp-invitation.json")
        ((_, recipient),) = request["Addresses"].items()
        parent = f"whatsapp:+44783506{n:04d}"
        request["Addresses"] = {parent: recipient}
        response = requests.post(
            load_api + "/",
            json=request,
            headers={"Authorization": f"Bearer {token}", "x-api-key": local.api_key},
            timeout=60,
        )
        return request["TraceId"], parent, response.status_code

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        answers = list(pool.map(invite, range(INVITATIONS)))

    statuses = Counter(status for _, _, status in answers)
    assert set(statuses) <= {202, 429}, statuses
    assert statuses[202] >= 50, statuses  # at least the usage plan's burst
    accepted = {(trace_id, parent) for trace_id, parent, status in answers if status == 202}
    refused = {(trace_id, parent) for trace_id, parent, status in answers if status == 429}

    sent = wait_until(
        lambda: (counts := all_sent(local)).keys() >= accepted and counts,
        f"{len(accepted)} accepted invitations sent",
        deadline=DEADLINE_SECONDS,
    )
    assert all(sent[key] == 1 for key in accepted), "an invitation was sent twice"
    assert not refused & sent.keys(), "a throttled request was sent"


class InboundBusWatch:
    """Collects every event on the inbound bus through a rule and an SQS queue of its own."""

    def __init__(self, local: LocalStack) -> None:
        name = f"e2e-load-{uuid.uuid4().hex[:8]}"
        self._sqs = local.client("sqs")
        self._url = self._sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])
        events = local.client("events")
        bus = local.stack.physical("InboundEventBus")["Ref"]
        pattern = {"source": ["messaging.inbound"], "detail-type": ["InboundMessage"]}
        events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern))
        target = {"Id": "watch", "Arn": arn["Attributes"]["QueueArn"]}
        events.put_targets(Rule=name, EventBusName=bus, Targets=[target])
        self.sids: Counter[str] = Counter()

    def drain(self) -> Counter[str]:
        while batch := self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for message in batch:
                self.sids[json.loads(message["Body"])["detail"]["MessageSid"]] += 1
                self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])
        return self.sids


def test_concurrent_webhooks_are_answered_and_each_accepted_one_published_once(local, load_api):
    watch = InboundBusWatch(local)
    url = f"{load_api}/webhook"
    validator = RequestValidator(LOCAL_TWILIO_AUTH_TOKEN)

    def reply(n: int) -> tuple[str, int]:
        params: dict[str, Any] = {
            "MessageSid": f"SM{uuid.uuid4().hex}",
            "AccountSid": "AC" + "0" * 32,
            "From": f"whatsapp:+44783507{n:04d}",
            "To": "whatsapp:+14155238886",
            "Body": f"REGISTER player {n}",
            "NumMedia": "0",
        }
        signature = validator.compute_signature(url, params)
        response = requests.post(
            url, data=params, headers={"X-Twilio-Signature": signature}, timeout=60
        )
        return params["MessageSid"], response.status_code

    with ThreadPoolExecutor(max_workers=WEBHOOKS) as pool:
        answers = list(pool.map(reply, range(WEBHOOKS)))

    statuses = Counter(status for _, status in answers)
    assert set(statuses) <= {200, 429}, statuses
    accepted = {sid for sid, status in answers if status == 200}
    refused = {sid for sid, status in answers if status == 429}
    assert accepted, statuses

    published = wait_until(
        lambda: (sids := watch.drain()).keys() >= accepted and sids,
        f"{len(accepted)} accepted webhooks published",
        deadline=DEADLINE_SECONDS,
    )
    assert all(published[sid] == 1 for sid in accepted), "a webhook was processed twice"
    assert not refused & published.keys(), "a throttled webhook was processed"
