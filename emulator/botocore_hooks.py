"""Answer chosen AWS calls in-process, ahead of the emulated endpoint.

Handlers registered here join botocore's built-in handlers, so every client created
afterwards (the handlers' clients, the state machine interpreter's) runs them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.handlers import BUILTIN_HANDLERS


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self, *args: Any) -> bytes:
        data, self._data = self._data, b""
        return data

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self.read()


def response(
    url: str, status: int, payload: Any, headers: dict[str, str] | None = None
) -> AWSResponse:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return AWSResponse(
        url, status, {"Content-Type": "application/json", **(headers or {})}, _Body(body)
    )


def json_error(url: str, status: int, code: str, message: str, **fields: Any) -> AWSResponse:
    """An AWS JSON-protocol error, as botocore parses it into ClientError."""
    return response(
        url, status, {"__type": code, "message": message, **fields}, {"x-amzn-ErrorType": code}
    )


def install(hooks: dict[str, Callable[..., Any]]) -> None:
    """Register event handlers for every botocore client created from now on."""
    for event, handler in hooks.items():
        BUILTIN_HANDLERS.append((event, handler))
    boto3.setup_default_session()  # the default session copies the built-in handlers
