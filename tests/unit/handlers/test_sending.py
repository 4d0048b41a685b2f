"""A send function refuses a sender its tenant may not use, before anything is sent.

The stack's "none" mode (UnlistedTenantSenders=none) is tested here, on the real email
handler over moto: the local stack of the integration tests runs the default, "any".
"""

from __future__ import annotations

import importlib
import re
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key

from notify.domain.errors import SENDER_NOT_ALLOWED, PermanentError
from notify.handlers.settings import SendSettings

MODULE = "notify.handlers.send_email"
ENVIRONMENT = {
    "TEMPLATES_TABLE": "send-templates",
    "IDEMPOTENCY_TABLE": "send-idempotency",
    "OPT_OUTS_TABLE": "send-opt-outs",
    "TRACES_TABLE": "send-traces",
    "TRACE_RETENTION_DAYS": "1",
    "DEFAULT_TEMPLATE_NAME": "alert-template",
    "TEMPLATE_CACHE_SECONDS": "60",
    "TENANTS_TABLE": "send-tenants",
    "TENANT_CACHE_SECONDS": "60",
    "UNLISTED_TENANT_SENDERS": "none",
}


@pytest.fixture(scope="module")
def stack(mocked_aws, table_from_template) -> Iterator[dict[str, Any]]:
    """The email function's tables in moto, a verified domain, the handler in "none" mode."""
    table_from_template("TemplatesTable", "send-templates")
    table_from_template("IdempotencyTable", "send-idempotency")
    table_from_template("OptOutsTable", "send-opt-outs")
    traces = table_from_template("TracesTable", "send-traces")
    tenants = table_from_template("TenantsTable", "send-tenants")
    mocked_aws.client("sesv2").create_email_identity(EmailIdentity="example.com")
    tenants.put_item(
        Item={"Tenant": "customer:listed", "Sk": "SENDERS", "EmailDomains": {"example.com"}}
    )
    with pytest.MonkeyPatch.context() as env:
        for name, value in ENVIRONMENT.items():
            env.setenv(name, value)
        sys.modules.pop(MODULE, None)
        module = importlib.import_module(MODULE)
        yield {"handler": module.handler, "traces": traces}
    sys.modules.pop(MODULE, None)


def delivery(owner: str, sender: str = "alerts@example.com") -> dict[str, Any]:
    """A Send task's payload: the request (TraceId, Owner, Messages) and the recipient."""
    message = {"FromAddress": sender, "Subject": "Hi", "TextBody": "Hello"}
    return {
        "Request": {
            "TraceId": f"t-{uuid.uuid4()}",
            "Owner": owner,
            "Messages": {"EmailMessage": message},
        },
        "Recipient": {"Address": "user@example.com", "ChannelType": "EMAIL"},
    }


def test_in_none_mode_a_tenant_without_a_list_sends_nothing(stack, lambda_context):
    event = delivery("customer:unlisted")

    with pytest.raises(PermanentError) as raised:
        stack["handler"](event, lambda_context)

    assert raised.value.reason == SENDER_NOT_ALLOWED
    assert "customer:unlisted has no allowed senders" in raised.value.detail
    # Refused before the attempt is counted, so before any provider call.
    assert (
        stack["traces"].query(
            KeyConditionExpression=Key("TraceId").eq(event["Request"]["TraceId"])
        )["Items"]
        == []
    )


def test_in_none_mode_a_listed_tenant_sends_from_its_domain(stack, lambda_context):
    outcome = stack["handler"](delivery("customer:listed"), lambda_context)

    assert outcome["Status"] == "SENT"


def test_a_listed_tenant_is_refused_a_sender_off_its_list(stack, lambda_context):
    with pytest.raises(PermanentError) as raised:
        stack["handler"](delivery("customer:listed", "ceo@evil.example"), lambda_context)

    assert raised.value.reason == SENDER_NOT_ALLOWED


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        pytest.param(
            "UNLISTED_TENANT_SENDERS",
            "some",
            "UNLISTED_TENANT_SENDERS must be one of ('any', 'none'), not 'some'",
            id="unknown-mode",
        ),
        pytest.param(
            "UNLISTED_TENANT_SENDERS", "", "UNLISTED_TENANT_SENDERS is required", id="mode"
        ),
        pytest.param("TENANTS_TABLE", "", "TENANTS_TABLE is required", id="table"),
    ],
)
def test_the_send_settings_fail_loudly_at_start(monkeypatch, name, value, message):
    for key, setting in ENVIRONMENT.items():
        monkeypatch.setenv(key, setting)
    monkeypatch.setenv(name, value)

    with pytest.raises(RuntimeError, match=re.escape(message)):
        SendSettings.from_env()
