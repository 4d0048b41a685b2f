"""A paced send is counted for the dashboard (SendsPaced, by channel and lane); one with room
costs no metric. On the real email handler over moto, its metrics read from its output."""

from __future__ import annotations

import importlib
import json
import sys
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

MODULE = "notify.handlers.send_email"
BUDGETS = "paced-budgets"
ENVIRONMENT = {
    "TEMPLATES_TABLE": "paced-templates",
    "TENANT_TEMPLATES_TABLE": "paced-tenant-templates",
    "TRACES_TABLE": "paced-traces",
    "TRACE_RETENTION_DAYS": "1",
    "DEFAULT_TEMPLATE_NAME": "alert-template",
    "TEMPLATE_CACHE_SECONDS": "60",
    "TENANTS_TABLE": "paced-tenants",
    "TENANT_CACHE_SECONDS": "60",
    "UNLISTED_TENANT_SENDERS": "any",
    "SEND_BUDGETS_TABLE": BUDGETS,
    "SEND_RATE": "1000",
    "POWERTOOLS_METRICS_NAMESPACE": "Messaging",
    "POWERTOOLS_SERVICE_NAME": "messaging",
}


@pytest.fixture(scope="module")
def stack(mocked_aws, table_from_template) -> Iterator[dict[str, Any]]:
    table_from_template("TemplatesTable", ENVIRONMENT["TEMPLATES_TABLE"])
    table_from_template("TenantTemplatesTable", "paced-tenant-templates")
    table_from_template("TracesTable", ENVIRONMENT["TRACES_TABLE"])
    table_from_template("TenantsTable", ENVIRONMENT["TENANTS_TABLE"])
    budgets = table_from_template("SendBudgetsTable", BUDGETS)
    mocked_aws.client("sesv2").create_email_identity(EmailIdentity="example.com")
    with pytest.MonkeyPatch.context() as env:
        for name, value in ENVIRONMENT.items():
            env.setenv(name, value)
        env.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
        sys.modules.pop(MODULE, None)
        module = importlib.import_module(MODULE)
        yield {"handler": module.handler, "budgets": budgets}
    sys.modules.pop(MODULE, None)


def delivery(priority: str | None = None) -> dict[str, Any]:
    message = {"FromAddress": "alerts@example.com", "Subject": "Hi", "TextBody": "Hello"}
    request = {"TraceId": f"t-{uuid.uuid4()}", "Owner": "customer:acme"}
    return {
        "Request": request
        | {"Messages": {"EmailMessage": message}}
        | ({"Priority": priority} if priority else {}),
        "Delivery": {
            "Request": 0,
            "Function": "send-email",
            "Recipient": {"Address": "user@example.com", "ChannelType": "EMAIL"},
        },
    }


def metrics(output: str) -> list[dict[str, Any]]:
    """The CloudWatch embedded metric documents printed, among the logs."""
    documents = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [document for document in documents if "_aws" in document]


def booked_far_ahead(stack) -> None:
    """The EMAIL budget's timeline booked a minute ahead: a send now is paced."""
    tat = Decimal(str(round(time.time() + 60, 6)))
    stack["budgets"].put_item(Item={"Budget": "EMAIL", "Tat": tat})


def test_a_send_with_room_costs_no_metric(stack, lambda_context, capsys):
    stack["budgets"].delete_item(Key={"Budget": "EMAIL"})

    outcome = stack["handler"](delivery(), lambda_context)

    assert outcome["Status"] == "SENT"
    assert metrics(capsys.readouterr().out) == []


@pytest.mark.parametrize(
    ("priority", "lane"),
    [(None, "transactional"), ("bulk", "bulk")],
    ids=["transactional-by-default", "bulk"],
)
def test_a_paced_send_counts_one_send_paced_by_channel_and_lane(
    stack, lambda_context, capsys, priority, lane
):
    booked_far_ahead(stack)

    outcome = stack["handler"](delivery(priority), lambda_context)

    assert outcome["Status"] == "PACED"
    [document] = metrics(capsys.readouterr().out)
    [definition] = document["_aws"]["CloudWatchMetrics"]
    assert definition["Namespace"] == "Messaging"
    assert definition["Dimensions"] == [["Channel", "Lane", "service"]]
    assert definition["Metrics"] == [{"Name": "SendsPaced", "Unit": "Count"}]
    assert (document["Channel"], document["Lane"], document["SendsPaced"]) == ("EMAIL", lane, [1.0])
