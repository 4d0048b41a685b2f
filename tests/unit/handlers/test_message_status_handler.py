"""GET /messages/{TraceId} (a JWT's tenant) and GET /requests/{request_id} (an API key's)."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest

MODULE = "notify.handlers.message_status"
TRACE_ID = "urmston/2025-26"  # holds a "/", as a TraceId may


@pytest.fixture(scope="module")
def status(mocked_aws, table_from_template) -> Iterator[Any]:
    traces = table_from_template("TracesTable", "status-traces")
    for owner in ("customer:acme", "key:k123"):
        traces.put_item(Item={"TraceId": TRACE_ID, "Sk": owner, "Status": "COMPLETED"})
        traces.put_item(
            Item={
                "TraceId": TRACE_ID,
                "Sk": f"{owner}#SMS#+16048621234",
                "Address": "+16048621234",
                "ChannelType": "SMS",
                "Status": "SENT",
            }
        )
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TRACES_TABLE", "status-traces")
        sys.modules.pop(MODULE, None)
        yield importlib.import_module(MODULE).handler
    sys.modules.pop(MODULE, None)


def event(resource: str, parameter: str, context: dict[str, Any]) -> dict[str, Any]:
    # As API Gateway passes it: the path parameter still percent-encoded.
    return {
        "resource": resource,
        "path": resource.replace("{" + parameter + "}", "urmston%2F2025-26"),
        "httpMethod": "GET",
        "pathParameters": {parameter: "urmston%2F2025-26"},
        "requestContext": context,
        "headers": {},
    }


def jwt(customer_id: str) -> dict[str, Any]:
    return {"authorizer": {"sub": "u1", "customer_id": customer_id}, "requestId": "r1"}


def key(key_id: str) -> dict[str, Any]:
    return {"identity": {"apiKeyId": key_id}, "requestId": "r1"}


@pytest.mark.parametrize(
    ("resource", "parameter", "context"),
    [
        pytest.param("/messages/{TraceId}", "TraceId", jwt("acme"), id="jwt"),
        pytest.param("/requests/{request_id}", "request_id", key("k123"), id="api-key"),
    ],
)
def test_a_caller_reads_its_own_trace(status, lambda_context, resource, parameter, context):
    response = status(event(resource, parameter, context), lambda_context)

    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert (body["TraceId"], body["Status"]) == (TRACE_ID, "COMPLETED")
    assert [r["Status"] for r in body["Recipients"]] == ["SENT"]


@pytest.mark.parametrize(
    ("resource", "parameter", "context"),
    [
        pytest.param("/messages/{TraceId}", "TraceId", jwt("other"), id="another-customer"),
        pytest.param("/requests/{request_id}", "request_id", key("k999"), id="another-key"),
    ],
)
def test_another_tenants_trace_is_not_found(status, lambda_context, resource, parameter, context):
    response = status(event(resource, parameter, context), lambda_context)

    assert response["statusCode"] == 404
    assert "urmston/2025-26" in json.loads(response["body"])["reason"]
