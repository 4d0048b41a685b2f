"""DELETE /messages/{TraceId}: a tenant cancels what its trace has not sent yet."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest

MODULE = "notify.handlers.cancel_message"
OWNER = "customer:acme"
SMS = f"{OWNER}#SMS#+16048621234"


@pytest.fixture(scope="module")
def cancel(mocked_aws, table_from_template) -> Iterator[tuple[Any, Any]]:
    traces = table_from_template("TracesTable", "cancel-traces")
    mocked_aws.client("scheduler").create_schedule_group(Name="cancel-sends")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TRACES_TABLE", "cancel-traces")
        env.setenv("TRACE_RETENTION_DAYS", "1")
        env.setenv("SCHEDULE_GROUP", "cancel-sends")
        sys.modules.pop(MODULE, None)
        yield importlib.import_module(MODULE).handler, traces
    sys.modules.pop(MODULE, None)


def delete(trace_id: str, customer_id: str = "acme") -> dict[str, Any]:
    return {
        "resource": "/messages/{TraceId}",
        "path": f"/messages/{trace_id}",
        "httpMethod": "DELETE",
        "pathParameters": {"TraceId": trace_id},
        "requestContext": {
            "authorizer": {"sub": "u1", "customer_id": customer_id},
            "requestId": "r1",
        },
        "headers": {},
    }


def header(trace_id: str, status: str) -> dict[str, Any]:
    return {
        "TraceId": trace_id,
        "Sk": OWNER,
        "Status": status,
        "SendAt": "2999-01-01T00:00:00.000000+00:00",
        "Recipients": [["SMS#+16048621234"]],
    }


def test_a_scheduled_trace_is_cancelled_whole(cancel, lambda_context):
    handler, traces = cancel
    traces.put_item(Item=header("scheduled", "SCHEDULED"))

    response = handler(delete("scheduled"), lambda_context)

    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert body["Status"] == "CANCELLED"
    assert body["Cancelled"] == [{"Address": "+16048621234", "ChannelType": "SMS"}]
    item = traces.get_item(Key={"TraceId": "scheduled", "Sk": SMS})["Item"]
    assert item["Status"] == "CANCELLED"


def test_a_trace_whose_recipients_were_all_sent_is_a_conflict(cancel, lambda_context):
    handler, traces = cancel
    traces.put_item(Item=header("sent", "COMPLETED"))
    traces.put_item(
        Item={
            "TraceId": "sent",
            "Sk": SMS,
            "ChannelType": "SMS",
            "Address": "+16048621234",
            "Status": "SENT",
        }
    )

    response = handler(delete("sent"), lambda_context)

    assert response["statusCode"] == 409
    assert json.loads(response["body"])["Sent"] == [
        {"Address": "+16048621234", "ChannelType": "SMS"}
    ]


def test_another_tenants_trace_is_not_found(cancel, lambda_context):
    handler, traces = cancel
    traces.put_item(Item=header("theirs", "SCHEDULED"))

    response = handler(delete("theirs", customer_id="other"), lambda_context)

    assert response["statusCode"] == 404
    assert traces.get_item(Key={"TraceId": "theirs", "Sk": OWNER})["Item"]["Status"] == "SCHEDULED"
