"""The queue is a trust boundary: a queued envelope the API could not have written is refused.

Such a message is dead-lettered alone, as it arrived, `InvalidMessage`; nobody's trace is
written for it, nothing is sent, and the other requests of its batch go on.
"""

from __future__ import annotations

import json

import pytest
from conftest import all_dead_letters, trace_items

pytestmark = pytest.mark.both_workflows("a record dead-lettered out of its batch")

SMS = "+16048621234"


def request(trace_id: str) -> dict:
    return {
        "TraceId": trace_id,
        "SMSMessage": {"MessageBody": "Your code is 1234"},
        "Addresses": {SMS: {"ChannelType": "SMS"}},
    }


@pytest.mark.parametrize(
    ("envelope", "cause"),
    [
        pytest.param(
            '{{"Caller":{{"sub":"mallory"}},"Request":{request},"Caller":{{"sub":"victim"}}}}',
            "the queued body repeats the key 'Caller' in one object",
            id="a-repeated-caller",
        ),
        pytest.param(
            '{{"Caller":{{"sub":"mallory","customer_id":"victim","role":"admin"}},'
            '"Request":{request}}}',
            "the queued Caller has claims the API never writes: ['role']",
            id="a-caller-the-api-never-writes",
        ),
        pytest.param(
            '{{"Caller":{{"sub":"mallory"}},"Request":{request},"Owner":"customer:victim"}}',
            "the queued message has keys beside Caller and Request: ['Owner']",
            id="a-key-beside-caller-and-request",
        ),
    ],
)
def test_an_envelope_the_api_never_writes_is_dead_lettered_alone_and_nothing_is_sent(
    client, local, trace_id, envelope, cause
):
    refused_id, mate_id = f"{trace_id}-refused", f"{trace_id}-mate"
    body = envelope.format(request=json.dumps(request(refused_id)))
    client.sqs.send_message(QueueUrl=client.queue_url, MessageBody=body)
    client.queue(request(mate_id), {"sub": "victim"})

    execution = client.wait(client.start_next())

    assert execution.status == "SUCCEEDED"
    assert local.providers.sent(refused_id) == []
    assert trace_items(local, refused_id) == {}  # no trace, for either tenant
    assert [m.to for m in local.providers.sent(mate_id)] == [SMS]
    [letter] = [m for m in all_dead_letters(local) if m["Body"] == body]
    attributes = {key: value["StringValue"] for key, value in letter["MessageAttributes"].items()}
    assert attributes["ExecutionArn"] == execution.arn
    assert attributes["Error"] == "InvalidMessage"
    assert attributes["Cause"] == f"InvalidMessage: {cause}"
