"""The lane rule: a batch of ten small requests always fits Step Functions' input."""

from __future__ import annotations

import json

from notify.domain.lanes import SMALL_REQUEST_MAX_CHARACTERS, is_small, is_small_request

SFN_MAX_INPUT_BYTES = 262144
# A pipe record's fields besides the body (ids, receipt handle, attributes, ARNs), generously.
RECORD_ENVELOPE = {
    "messageId": "0" * 36,
    "receiptHandle": "r" * 1024,
    "attributes": {"ApproximateReceiveCount": "3", "AWSTraceHeader": "t" * 200},
    "messageAttributes": {},
    "md5OfBody": "0" * 32,
    "eventSource": "aws:sqs",
    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:" + "q" * 80,
    "awsRegion": "us-east-1",
}


def worst_case_body(characters: int) -> str:
    """A queued body whose request has `characters` UTF-16 units, all control characters."""
    caller = json.dumps({"sub": "s" * 128, "customer_id": "c" * 128})
    request = '{"x":"' + "\x01" * (characters - 8) + '"}'
    return f'{{"Caller":{caller},"Request":{request}}}'


def test_ten_small_requests_of_the_worst_text_fit_one_execution_input():
    body = worst_case_body(SMALL_REQUEST_MAX_CHARACTERS)
    records = [RECORD_ENVELOPE | {"body": body} for _ in range(10)]

    assert len(json.dumps(records, ensure_ascii=False).encode()) <= SFN_MAX_INPUT_BYTES


def test_the_limit_counts_utf16_units_as_api_gateway_does():
    assert is_small("a" * SMALL_REQUEST_MAX_CHARACTERS)
    assert not is_small("a" * (SMALL_REQUEST_MAX_CHARACTERS + 1))
    # An emoji is two UTF-16 units (Java's String.length()), one Python character.
    assert not is_small("😀" * (SMALL_REQUEST_MAX_CHARACTERS // 2 + 1))


def test_a_request_in_code_is_measured_as_its_compact_json():
    small = {"TraceId": "t", "Body": "x" * (SMALL_REQUEST_MAX_CHARACTERS - 25)}

    assert len(json.dumps(small, separators=(",", ":"))) == SMALL_REQUEST_MAX_CHARACTERS
    assert is_small_request(small)
    assert not is_small_request(small | {"Body": small["Body"] + "x"})
