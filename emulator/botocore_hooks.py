"""Answer chosen AWS calls in-process, ahead of the emulated endpoint.

Handlers are registered on the sessions a stack creates, never on botocore's global
handler list: a client copies its session's handlers when it is created, so a stack's
handlers reach the clients made from its sessions while it runs, and no others (another
stack's in the same process, or any made after it stopped).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse


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


class SessionHooks:
    """Event handlers registered on the sessions made through it, until `remove`."""

    def __init__(self, hooks: dict[str, Callable[..., Any]]) -> None:
        self._hooks = dict(hooks)
        self._sessions: list[boto3.Session] = []
        self._default: boto3.Session | None = None
        self._previous_default: boto3.Session | None = None

    def session(self, **kwargs: Any) -> boto3.Session:
        """A new session whose clients, created from now until `remove`, run the hooks."""
        session = boto3.Session(**kwargs)
        for event, handler in self._hooks.items():
            session.events.register(event, handler)
        self._sessions.append(session)
        return session

    def default_session(self, **kwargs: Any) -> boto3.Session:
        """Such a session as boto3's default until `remove`.

        `boto3.client(...)` uses the default session: the Lambda handlers' clients and
        the state machine interpreter's are made that way, as in AWS.
        """
        self._previous_default = boto3.DEFAULT_SESSION
        self._default = boto3.DEFAULT_SESSION = self.session(**kwargs)
        return self._default

    def remove(self) -> None:
        """Unregister the hooks; clients created afterwards no longer run them."""
        for session in self._sessions:
            for event, handler in self._hooks.items():
                session.events.unregister(event, handler)
        self._sessions.clear()
        if self._default is not None and boto3.DEFAULT_SESSION is self._default:
            boto3.DEFAULT_SESSION = self._previous_default
        self._default = self._previous_default = None


class RequestCounter:
    """Counts the AWS requests of the clients whose session it is registered on."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        self.entries: Counter[tuple[str, str]] = Counter()  # billed per entry (PutEvents)
        self.queues: Counter[tuple[str, str]] = Counter()  # (queue name, operation)
        self._lock = threading.Lock()

    def count_queue(self, params: dict[str, Any], model: Any, **kwargs: Any) -> None:
        """Also count an SQS request by its queue (the last part of its QueueUrl)."""
        queue = str(params.get("QueueUrl", "")).rsplit("/", 1)[-1]
        with self._lock:
            self.queues[(queue, model.name)] += 1

    def queue_requests(self, queues: tuple[str, ...], operations: tuple[str, ...]) -> int:
        with self._lock:
            return sum(
                n for (queue, op), n in self.queues.items() if queue in queues and op in operations
            )

    def count_entries(self, params: dict[str, Any], model: Any, **kwargs: Any) -> None:
        with self._lock:
            key = (model.service_model.service_name, model.name)
            self.entries[key] += len(params.get("Entries", []))

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
            self.entries.clear()
            self.queues.clear()
