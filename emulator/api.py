"""What the API's SQS integration queues: the caller beside the request.

Mirrors the mapping template in api/openapi.yaml (POST /), which writes
`{"Caller": <authorizer context.caller>, "Request": <request body>}`.
"""

from __future__ import annotations


def queued_body(caller_json: str, request_body: str) -> str:
    return '{"Caller":' + caller_json + ',"Request":' + request_body + "}"
