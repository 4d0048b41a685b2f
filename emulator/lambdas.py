"""Run Lambda invocations in-process with the real handlers (moto's Lambda needs Docker)."""

from __future__ import annotations

import importlib
import json
import math
import os
import threading
import time
import traceback
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from emulator.botocore_hooks import response
from emulator.stack import FunctionSpec


@dataclass
class LambdaContext:
    function_name: str
    invoked_function_arn: str
    aws_request_id: str
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


class LambdaRuntime:
    """Each function imported once (one cold start) and invoked by up to `concurrency` threads.

    In AWS every concurrent invocation has its own process; here they share one, so
    module-level state is shared too (harmless for these handlers, whose state is
    read-only clients and caches).
    """

    def __init__(self, concurrency: int = 10) -> None:
        self._concurrency = concurrency
        self._functions: dict[str, FunctionSpec] = {}
        self._handlers: dict[str, Any] = {}
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        # What Lambda would bill: invocations, and their durations rounded up to 1 ms.
        self.invocations: Counter[str] = Counter()
        self.billed_seconds: Counter[str] = Counter()
        self._counting = threading.Lock()

    def deploy(self, functions: dict[str, FunctionSpec]) -> None:
        """Make these functions invocable (their modules are imported on first use)."""
        for name, spec in functions.items():
            self._functions[name] = spec
            self._slots[name] = threading.BoundedSemaphore(self._concurrency)
        self._import_lock = threading.Lock()

    def invoke(self, function: str, payload: Any) -> tuple[Any, str | None]:
        """Run the function; return (result, error type or None) like the Lambda service."""
        spec = self._spec(function)
        handler = self._handler(spec)
        context = LambdaContext(spec.name, spec.arn, str(uuid.uuid4()))
        with self._slots[spec.name]:
            started = time.perf_counter()
            try:
                return handler(payload, context), None
            except Exception as exc:  # the Lambda runtime reports every uncaught error
                return _error_payload(exc, context.aws_request_id), type(exc).__name__
            finally:
                elapsed = math.ceil((time.perf_counter() - started) * 1000) / 1000
                with self._counting:
                    self.invocations[spec.logical_id] += 1
                    self.billed_seconds[spec.logical_id] += elapsed

    def on_invoke(self, request: Any, **kwargs: Any) -> Any:
        """botocore `before-send.lambda.Invoke` handler."""
        function = unquote(request.url.split("/functions/", 1)[1].split("/", 1)[0])
        payload = json.loads(request.body or b"null")
        result, error = self.invoke(function, payload)
        headers = {"X-Amz-Executed-Version": "$LATEST"}
        if error:
            headers["X-Amz-Function-Error"] = "Unhandled"
        return response(request.url, 200, result, headers)

    def _spec(self, function: str) -> FunctionSpec:
        name = function.rsplit(":function:", 1)[-1].split(":", 1)[0]
        return self._functions[name]

    def _handler(self, spec: FunctionSpec) -> Any:
        with self._import_lock:
            if spec.name not in self._handlers:
                module_name, attribute = spec.handler.rsplit(".", 1)
                with _environment(spec.environment):
                    module = importlib.import_module(module_name)
                self._handlers[spec.name] = getattr(module, attribute)
        return self._handlers[spec.name]


@contextmanager
def _environment(variables: dict[str, str]) -> Any:
    # Handler modules read their settings at import (cold start), like in Lambda.
    saved = {key: os.environ.get(key) for key in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _error_payload(exc: Exception, request_id: str) -> dict[str, Any]:
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }
