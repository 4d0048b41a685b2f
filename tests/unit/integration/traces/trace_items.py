"""What the traces stores' tests share: a trace, its outcomes, and the table's items."""

from __future__ import annotations

import json
from typing import Any

from notify.domain.outcomes import FAILED, REJECTED, SENT
from notify.domain.steps import Outcome

TRACE_ID = "12348"
OWNER = "customer:cust456"
EXECUTION_ARN = "arn:aws:states:us-east-1:123456789012:execution:Delivery:run-1"
OTHER_EXECUTION = EXECUTION_ARN.replace("run-1", "run-2")
RETENTION_DAYS = 30
LATER = "2999-01-01T00:00:00.000000+00:00"  # an attempt in progress until then
LONG_AGO = "2000-01-01T00:00:00.000000+00:00"
FUTURE = "2999-01-01T00:00:00.000000+00:00"
SENT_AT = "2026-11-24T10:00:01+00:00"
SMS_KEY = "customer:cust456#SMS#+16048621234"

SENT_EMAIL = Outcome(
    TRACE_ID,
    OWNER,
    {"Address": "user@example.com", "ChannelType": "EMAIL"},
    SENT,
    provider_message_id="ses-message-1",
    sent_at="2026-11-24T10:00:00+00:00",
)
SENT_SMS = Outcome(
    TRACE_ID,
    OWNER,
    {"Address": "+16048621234", "ChannelType": "SMS", "Substitutions": {"productName": "SAVINGS"}},
    SENT,
    provider_message_id="sms-message-1",
    sent_at="2026-11-24T10:00:01+00:00",
    segments=1,
    encoding="GSM-7",
)
REJECTED_EMAIL = Outcome(
    TRACE_ID,
    OWNER,
    {"Address": "bad@example", "ChannelType": "EMAIL"},
    REJECTED,
    error="PermanentError",
    cause=json.dumps(
        {"errorMessage": "InvalidAddress: email 'bad@example'", "errorType": "PermanentError"}
    ),
)
FAILED_SMS = Outcome(
    TRACE_ID,
    OWNER,
    {"Address": "+447911123456", "ChannelType": "SMS"},
    FAILED,
    error="States.Timeout",
    cause="Task timed out after 60.00 seconds",
)


def items(table: Any) -> dict[str, dict[str, Any]]:
    return {item["Sk"]: item for item in table.scan()["Items"]}
