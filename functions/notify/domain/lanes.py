"""Which queue a request takes: small ones are batched into executions, large ones run alone.

A batch of up to PipeBatchSize (at most 10) pipe records must fit Step Functions' 256 KB
execution input. On its way a request's text grows at most sixfold (UTF-8, then escaped
as a JSON string twice: a control character becomes `\\\\u0001`), so ten requests of 3500
characters and their records' envelopes always fit. The API's SQS integration applies the
same limit to the body it receives (`$input.body.length()`, in UTF-16 units as here).
"""

SMALL_REQUEST_MAX_CHARACTERS = 3500


def is_small(request_json: str) -> bool:
    """Whether a request (its JSON text) goes to the batched queue."""
    return len(request_json.encode("utf-16-le")) // 2 <= SMALL_REQUEST_MAX_CHARACTERS
