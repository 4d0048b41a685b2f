"""EXPRESS as `make run` starts it: a request whose execution failed is sent when it returns.

A failed EXPRESS execution leaves its requests on the queue, which hands each back when
its visibility timeout has run from the receive; the next execution may claim the TraceId
only once the failed one's claim is older than the state machine's timeout. This module's
stack is started as `make run PARAMETERS="WorkflowType=EXPRESS"` starts it: the template's
default timeout and the queue's real visibility timeout (300 s), fast-forwarded
(emulator/clock.py), not slept.
"""

from __future__ import annotations

import json
import time

import pytest
from conftest import Client, Execution, dead_letters

from emulator.providers import Fault

EMAIL = "user@example.com"

pytestmark = [
    # A stack of this module's own: no ExecutionTimeoutSeconds, as `make run` has none.
    pytest.mark.parametrize(
        "local", [(("WorkflowType", "EXPRESS"),)], indirect=True, ids=["EXPRESS-as-started"]
    ),
    pytest.mark.express_only("a synchronous pipe returns a failed execution's requests"),
]


def request(trace_id: str) -> dict:
    return {
        "TraceId": trace_id,
        "EmailMessage": {"FromAddress": "alerts@example.com", "Subject": "Hi", "TextBody": "Hi"},
        "Addresses": {EMAIL: {"ChannelType": "EMAIL"}},
    }


def until_returned(client: Client, execution: Execution) -> float:
    """Seconds from now until the queue hands the execution's request back: the queue's
    visibility timeout, counted from the receive."""
    described = client.sfn.describe_execution(executionArn=execution.arn)
    [record] = json.loads(described["input"])
    received = int(record["attributes"]["ApproximateFirstReceiveTimestamp"]) / 1000
    attributes = client.sqs.get_queue_attributes(
        QueueUrl=client.queue_url, AttributeNames=["VisibilityTimeout"]
    )["Attributes"]
    return received + int(attributes["VisibilityTimeout"]) - time.time()


def test_a_request_whose_express_execution_failed_is_sent_once_when_it_returns(
    client, local, providers, trace_id
):
    providers.add_fault(Fault(channel="EMAIL", error="5xx"))  # every try, every retry
    failed = client.send(request(trace_id))
    providers.clear_faults()  # the provider recovers while the request waits on the queue
    local.pipe.wait_settled()

    local.aws.pass_time(until_returned(client, failed))
    returned = client.wait(client.start_next(), trace_id=trace_id)

    assert (failed.status, failed.sent) == ("FAILED", [])
    assert returned.status == "SUCCEEDED"
    assert returned.already_handled() == []  # the failed execution's claim was stale
    assert [(m.channel, m.to) for m in returned.sent] == [("EMAIL", EMAIL)]
    assert dead_letters(local, trace_id) == []
    local.aws.pass_time(300)
    assert local.pipe.poll_once() == []  # deleted once sent: it never comes back
