"""POST /trigger[/{name}]'s function: the key's trigger maps the record; the request is queued."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from notify.domain.tenants import key_owner
from notify.domain.triggers import REGISTRATION_INVITATION, Trigger
from notify.integration.tenant_store import trigger_item

MODULE = "notify.handlers.trigger"
ROOT = Path(__file__).resolve().parents[3]
DEFINITION = json.loads((ROOT / "events" / "trigger-registration-invitation.json").read_text())
RECORD = json.loads((ROOT / "examples" / "registration-bot" / "payload.json").read_text())
KEY_ID = "key0000001"
OTHER_KEY_ID = "key0000002"
TABLE = "trigger-tenants"


def event(
    record: Any, name: str | None = None, key_id: str = KEY_ID, request_id: str = "req-1"
) -> dict[str, Any]:
    path = "/trigger" if name is None else f"/trigger/{name}"
    return {
        "resource": "/trigger" if name is None else "/trigger/{name}",
        "path": path,
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json"},
        "pathParameters": None if name is None else {"name": name},
        "requestContext": {
            "requestId": request_id,
            "path": "/dev" + path,
            "stage": "dev",
            "identity": {"apiKey": "the-key-value", "apiKeyId": key_id, "sourceIp": "127.0.0.1"},
        },
        "body": record if isinstance(record, str) else json.dumps(record),
        "isBase64Encoded": False,
    }


@pytest.fixture(scope="module")
def aws(mocked_aws, table_from_template) -> Any:
    table = table_from_template("TenantsTable", TABLE)
    trigger = Trigger.from_definition(REGISTRATION_INVITATION, DEFINITION)
    table.put_item(Item=trigger_item(key_owner(KEY_ID), trigger, "2025-01-01T00:00:00+00:00"))
    return mocked_aws


@pytest.fixture
def queue_url(aws, request) -> str:
    """A queue of the test's own: what it finds there, this test queued."""
    name = "trigger-" + str(abs(hash(request.node.nodeid)))
    return aws.client("sqs").create_queue(QueueName=name)["QueueUrl"]


@pytest.fixture
def handler(aws, queue_url, monkeypatch) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    monkeypatch.setenv("TENANTS_TABLE", TABLE)
    monkeypatch.setenv("TENANT_CACHE_SECONDS", "0")
    monkeypatch.setenv("MESSAGE_QUEUE_URL", queue_url)
    large = aws.client("sqs").create_queue(QueueName="trigger-large-messages")["QueueUrl"]
    monkeypatch.setenv("LARGE_MESSAGE_QUEUE_URL", large)
    sys.modules.pop(MODULE, None)
    return importlib.import_module(MODULE).handler


def queued(aws, queue_url) -> list[dict[str, Any]]:
    messages = aws.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def test_the_seed_record_is_queued_for_the_key_and_answered_in_the_seeds_shape(
    handler, aws, queue_url, lambda_context
):
    response = handler(event(RECORD), lambda_context)

    assert response["statusCode"] == 202
    assert json.loads(response["body"]) == {
        "message": "Registration data received successfully",
        "player": "John Smith",
        "parent": "Jane Smith",
        "team": "Panthers u11s",
        "status": "pending",
        "request_id": "req-1",
    }
    [envelope] = queued(aws, queue_url)
    assert envelope["Caller"] == {"sub": KEY_ID, "api_key_id": KEY_ID}
    assert envelope["Request"]["TraceId"] == "req-1"
    assert envelope["Request"]["Addresses"] == {
        "whatsapp:+447835065013": {"ChannelType": "WHATSAPP"}
    }


def test_the_named_route_runs_the_same_trigger(handler, aws, queue_url, lambda_context):
    response = handler(event(RECORD, name=REGISTRATION_INVITATION), lambda_context)

    assert response["statusCode"] == 202
    assert len(queued(aws, queue_url)) == 1


@pytest.mark.parametrize(
    ("name", "key_id"),
    [
        pytest.param("nope", KEY_ID, id="unknown-name"),
        pytest.param(REGISTRATION_INVITATION, OTHER_KEY_ID, id="another-keys-trigger"),
        pytest.param("a%2Fb", KEY_ID, id="a-name-no-trigger-can-have"),
    ],
)
def test_a_trigger_the_key_does_not_have_is_404_and_nothing_is_queued(
    handler, aws, queue_url, lambda_context, name, key_id
):
    response = handler(event(RECORD, name=name, key_id=key_id), lambda_context)

    assert response["statusCode"] == 404
    body = json.loads(response["body"])
    assert body["message"] == "Not Found"
    assert body["reason"].startswith("no trigger ")
    assert queued(aws, queue_url) == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param(
            {k: v for k, v in RECORD.items() if k != "team_name"},
            "the record has no team_name (needed by trigger registration-invitation)",
            id="missing-field",
        ),
        pytest.param(
            RECORD | {"parent_tel": "+44 12"},
            "parent_tel: phone number '+44 12': not a valid number",
            id="invalid-number",
        ),
        pytest.param("[1, 2]", "the body must be a JSON object of fields", id="not-an-object"),
        pytest.param("{", "the body is not JSON", id="not-json"),
    ],
)
def test_a_record_the_trigger_cannot_map_is_400_with_the_reason(
    handler, aws, queue_url, lambda_context, body, reason
):
    response = handler(event(body, name=REGISTRATION_INVITATION), lambda_context)

    assert response["statusCode"] == 400
    assert json.loads(response["body"]) == {"message": "Invalid request body", "reason": reason}
    assert queued(aws, queue_url) == []
