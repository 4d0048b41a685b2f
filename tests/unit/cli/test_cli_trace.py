"""`messaging trace`: the trace's items grouped by owner, and their rendering."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from cli.errors import CommandError
from cli.target import Target
from cli.trace import group_by_owner, load_trace, render_trace, trace_document

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:messaging-delivery:run-1"
HEADER = {
    "TraceId": "t-1",
    "Sk": "cust-1",
    "Owner": "cust-1",
    "Status": "FAILED",
    "ExecutionArn": EXECUTION,
    "Executions": [EXECUTION],
    "StartedAt": "2026-11-24T10:43:47.143631+00:00",
    "UpdatedAt": "2026-11-24T10:43:51.513494+00:00",
}
SENT = {
    "TraceId": "t-1",
    "Sk": "cust-1#SMS#+16048621234",
    "Owner": "cust-1",
    "Address": "+16048621234",
    "ChannelType": "SMS",
    "Status": "SENT",
    "ProviderMessageId": "sms-1",
    "SentAt": "2026-11-24T10:43:48+00:00",
    "Attempts": Decimal(2),
    "DeliveryStatus": "undelivered",
    "DeliveryErrorCode": "30003",
}
FAILED = {
    "TraceId": "t-1",
    "Sk": "cust-1#EMAIL#user@example.com",
    "Owner": "cust-1",
    "Address": "user@example.com",
    "ChannelType": "EMAIL",
    "Status": "FAILED",
    "Error": "TransientError",
    "Reason": "ProviderUnavailable: injected 5xx",
    "Attempts": Decimal(5),
}
SENDING = {
    "TraceId": "t-1",
    "Sk": "cust-1#SMS#+16048620000",
    "Owner": "cust-1",
    "Address": "+16048620000",
    "ChannelType": "SMS",
    "Attempts": Decimal(1),
}
RECORDED_BEFORE_ATTEMPTS = {
    "TraceId": "t-1",
    "Sk": "cust-1#SMS#+16048629999",
    "Owner": "cust-1",
    "Address": "+16048629999",
    "ChannelType": "SMS",
    "Status": "REJECTED",
    "Error": "PermanentError",
    "Reason": "OptedOut: +16048629999 has opted out of SMS",
}


def test_recipients_are_grouped_under_their_owners_header():
    other = HEADER | {"Sk": "user-9", "Owner": "user-9", "Executions": []}

    owners = group_by_owner([FAILED, HEADER, SENT, other])

    assert [(o.owner, [r["Address"] for r in o.recipients]) for o in owners] == [
        ("cust-1", ["user@example.com", "+16048621234"]),
        ("user-9", []),
    ]
    assert owners[0].executions == [EXECUTION]


def test_the_trace_renders_owner_recipients_and_each_executions_states():
    document = {
        "TraceId": "t-1",
        "Owners": [
            {
                "Owner": "cust-1",
                "Status": "FAILED",
                "StartedAt": HEADER["StartedAt"],
                "UpdatedAt": HEADER["UpdatedAt"],
                "Recipients": [FAILED, SENT, SENDING, RECORDED_BEFORE_ATTEMPTS],
                "Executions": [
                    {
                        "ExecutionArn": EXECUTION,
                        "Status": "FAILED",
                        "Error": "TransientError",
                        "States": [
                            {
                                "State": "SendEmail",
                                "Depth": 1,
                                "Result": "failed",
                                "Retries": 3,
                                "Errors": ["TransientError"] * 4,
                            }
                        ],
                    }
                ],
            }
        ],
    }

    assert render_trace(document) == [
        "trace t-1",
        "",
        "owner cust-1: FAILED (started 2026-11-24 10:43:47, updated 2026-11-24 10:43:51)",
        "  CHANNEL  ADDRESS           STATUS    ATTEMPTS  DELIVERY             "
        "PROVIDER ID / REASON",
        "  EMAIL    user@example.com  FAILED    5         -                    "
        "TransientError: ProviderUnavailable: injected 5xx",
        "  SMS      +16048621234      SENT      2         undelivered (30003)  sms-1",
        "  SMS      +16048620000      PENDING   1         -",
        "  SMS      +16048629999      REJECTED  -         -                    "
        "PermanentError: OptedOut: +16048629999 has opted out of SMS",
        "",
        f"  execution {EXECUTION}",
        "  FAILED (TransientError)",
        "    STATE        RESULT  RETRIES  ERRORS",
        "      SendEmail  failed  3        TransientError x4",
    ]


@pytest.fixture(scope="module")
def target(mocked_aws, table_from_template) -> Target:
    table: Any = table_from_template("TracesTable", "Traces")
    for item in (HEADER, SENT, FAILED):
        table.put_item(Item=item)
    return Target("messaging", mocked_aws, {"TracesTableName": "Traces"})


def test_an_unknown_trace_is_one_clear_error(target):
    with pytest.raises(CommandError, match=r"^no trace nope$"):
        load_trace(target, "nope")


def test_an_execution_without_history_is_shown_as_unavailable(target):
    document = trace_document(target, "t-1")

    [owner] = document["Owners"]
    assert [r["Status"] for r in owner["Recipients"]] == ["FAILED", "SENT"]
    assert [r["Attempts"] for r in owner["Recipients"]] == [5, 2]
    assert owner["Recipients"][1]["DeliveryStatus"] == "undelivered"
    assert owner["Recipients"][1]["DeliveryErrorCode"] == "30003"
    [execution] = owner["Executions"]
    assert execution["Status"] == "UNKNOWN"
    assert "GetExecutionHistory failed" in execution["Unavailable"]
    assert render_trace(document)[-1].startswith("  history unavailable: ")
