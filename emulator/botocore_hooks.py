"""Answer chosen AWS calls in-process, ahead of the emulated endpoint.

Handlers registered here join botocore's built-in handlers, so every client created
afterwards (the handlers' clients, the state machine interpreter's) runs them.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
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


class RequestCounter:
    """Counts every AWS request made by clients created after it is installed."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def __call__(self, model: Any, **kwargs: Any) -> None:
        with self._lock:
            self.calls[(model.service_model.service_name, model.name)] += 1

    def service(self, name: str, operations: tuple[str, ...] | None = None) -> int:
        """Requests made to one service (`sqs`, `dynamodb`), or to some of its operations."""
        with self._lock:
            return sum(
                n
                for (service, operation), n in self.calls.items()
                if service == name and (not operations or operation in operations)
            )

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()
