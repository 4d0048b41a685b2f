"""A send function refuses a sender its tenant may not use, before anything is sent.

The stack's "none" and "defaults" modes (UnlistedTenantSenders) are tested here, on the
real email handler over moto; the local stack of the integration tests runs "defaults"
with the demo's senders as its DefaultSenders.
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
from notify.handlers.sending import SendResources
from notify.handlers.settings import SendSettings

MODULE = "notify.handlers.send_email"
ENVIRONMENT = {
    "TEMPLATES_TABLE": "send-templates",
    "TENANT_TEMPLATES_TABLE": "send-tenant-templates",
    "IDEMPOTENCY_TABLE": "send-idempotency",
    "OPT_OUTS_TABLE": "send-opt-outs",
    "TRACES_TABLE": "send-traces",
    "TRACE_RETENTION_DAYS": "1",
    "DEFAULT_TEMPLATE_NAME": "alert-template",
    "TEMPLATE_CACHE_SECONDS": "60",
    "TENANTS_TABLE": "send-tenants",
    "TENANT_CACHE_SECONDS": "60",
    "UNLISTED_TENANT_SENDERS": "none",
    "SEND_BUDGETS_TABLE": "send-budgets",
    "SEND_RATE": "1000",  # room for every send: pacing is tested in test_send_handlers.py
    "POWERTOOLS_METRICS_NAMESPACE": "Messaging",
}


@pytest.fixture(scope="module")
def stack(mocked_aws, table_from_template) -> Iterator[dict[str, Any]]:
    """The email function's tables in moto, a verified domain, the handler in "none" mode."""
    table_from_template("TemplatesTable", "send-templates")
    table_from_template("TenantTemplatesTable", "send-tenant-templates")
    table_from_template("IdempotencyTable", "send-idempotency")
    table_from_template("OptOutsTable", "send-opt-outs")
    traces = table_from_template("TracesTable", "send-traces")
    tenants = table_from_template("TenantsTable", "send-tenants")
    table_from_template("SendBudgetsTable", "send-budgets")
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
        "Delivery": {
            "Request": 0,
            "Function": "send-email",
            "Recipient": {"Address": "user@example.com", "ChannelType": "EMAIL"},
        },
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


@pytest.fixture
def defaults_mode(stack, mocked_aws, monkeypatch) -> Iterator[Any]:
    """The email handler in "defaults" mode, the stack's own senders an address and a domain."""
    mocked_aws.client("sesv2").create_email_identity(EmailIdentity="notices@stack.example")
    environment = ENVIRONMENT | {
        "UNLISTED_TENANT_SENDERS": "defaults",
        "DEFAULT_SENDERS": "@example.com,notices@stack.example",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    sys.modules.pop(MODULE, None)
    yield importlib.import_module(MODULE).handler
    sys.modules.pop(MODULE, None)


@pytest.mark.parametrize(
    "sender",
    ["alerts@example.com", "Notices <notices@stack.example>"],
    ids=["in-a-default-domain", "a-default-address"],
)
def test_in_defaults_mode_a_tenant_without_a_list_sends_from_the_stacks_senders(
    defaults_mode, lambda_context, sender
):
    outcome = defaults_mode(delivery("customer:unlisted", sender), lambda_context)

    assert outcome["Status"] == "SENT"


def test_in_defaults_mode_a_tenant_without_a_list_cannot_borrow_another_sender(
    defaults_mode, lambda_context
):
    with pytest.raises(PermanentError) as raised:
        defaults_mode(delivery("customer:unlisted", "ceo@acme.example"), lambda_context)

    assert raised.value.reason == SENDER_NOT_ALLOWED
    assert raised.value.detail.startswith(
        "tenant customer:unlisted has no allowed senders, and EMAIL from 'ceo@acme.example' "
        "is not one of this stack's DefaultSenders"
    )


def test_in_defaults_mode_a_listed_tenant_keeps_to_its_own_list(defaults_mode, lambda_context):
    with pytest.raises(PermanentError) as raised:
        defaults_mode(delivery("customer:listed", "notices@stack.example"), lambda_context)

    assert raised.value.reason == SENDER_NOT_ALLOWED


def test_a_default_sender_in_no_form_stops_the_function_at_start(mocked_aws, monkeypatch):
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DEFAULT_SENDERS", "@example.com,@not a domain")

    with pytest.raises(RuntimeError, match="DEFAULT_SENDERS: email domain 'not a domain'"):
        SendResources.from_env()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        pytest.param(
            "UNLISTED_TENANT_SENDERS",
            "some",
            "UNLISTED_TENANT_SENDERS must be one of ('defaults', 'any', 'none'), not 'some'",
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
