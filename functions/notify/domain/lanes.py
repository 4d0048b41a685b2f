"""Which queue a request takes: small ones are batched into executions, large ones run alone.

A batch of up to PipeBatchSize (at most 10) pipe records must fit Step Functions' 256 KB
execution input. On its way a request's text grows at most sixfold (UTF-8, then escaped
as a JSON string twice: a control character becomes `\\\\u0001`), so ten requests of 3500
characters and their records' envelopes always fit. The API's SQS integration applies the
same limit to the body it receives (`$input.body.length()`, in UTF-16 units as here).
"""

import json
from collections.abc import Mapping
from typing import Any

SMALL_REQUEST_MAX_CHARACTERS = 3500


def utf16_length(text: str) -> int:
    """The length API Gateway's VTL gives a string (Java's String.length(): UTF-16 units)."""
    return len(text.encode("utf-16-le")) // 2


def is_small(request_json: str) -> bool:
    """Whether a request (its JSON text) goes to the batched queue."""
    return utf16_length(request_json) <= SMALL_REQUEST_MAX_CHARACTERS


def is_small_request(request: Mapping[str, Any]) -> bool:
    """Whether a request built or read in code goes to the batched queue (as compact JSON)."""
    return is_small(json.dumps(request, ensure_ascii=False, separators=(",", ":")))
