"""Run Lambda invocations in-process with the real handlers (moto's Lambda needs Docker)."""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
import os
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Iterator
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
    """Each function invoked by up to `concurrency` threads, one event per environment.

    As in Lambda, an environment (here: an instance of the handler's module, with its
    own module-level state) handles one event at a time; a concurrent event gets another
    environment, created on demand (a cold start) and kept for later events. Modules the
    handler imports are shared: they hold no per-event state.
    """

    def __init__(self, concurrency: int = 10) -> None:
        self._concurrency = concurrency
        self._functions: dict[str, FunctionSpec] = {}
        self._idle: dict[str, list[Any]] = {}  # each function's warm environments' handlers
        self._environments: Counter[str] = Counter()  # how many each function has
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        # What Lambda would bill: invocations, and their durations rounded up to 1 ms.
        self.invocations: Counter[str] = Counter()
        self.billed_seconds: Counter[str] = Counter()
        self._counting = threading.Lock()

    def deploy(self, functions: dict[str, FunctionSpec]) -> None:
        """Make these functions invocable (their modules are imported on first use)."""
        for name, spec in functions.items():
            self._functions[name] = spec
            self._idle[name] = []
            self._slots[name] = threading.BoundedSemaphore(self._concurrency)
        self._import_lock = threading.Lock()

    def deployed(self, function: str) -> bool:
        """Whether `function` (a name or an ARN) is one of this runtime's."""
        return function.rsplit(":function:", 1)[-1].split(":", 1)[0] in self._functions

    def invoke(self, function: str, payload: Any) -> tuple[Any, str | None]:
        """Run the function; return (result, error type or None) like the Lambda service."""
        spec = self._spec(function)
        context = LambdaContext(spec.name, spec.arn, str(uuid.uuid4()))
        with self._slots[spec.name], self._environment(spec) as handler:
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

    @contextmanager
    def _environment(self, spec: FunctionSpec) -> Iterator[Any]:
        """A warm environment's handler for one event, or a new environment's."""
        with self._import_lock:
            handler = self._idle[spec.name].pop() if self._idle[spec.name] else None
            if handler is None:
                handler = self._cold_start(spec)
        try:
            yield handler
        finally:
            with self._import_lock:
                self._idle[spec.name].append(handler)

    def _cold_start(self, spec: FunctionSpec) -> Any:
        # Every environment is a fresh instance of the handler's file, never the module
        # imported before: its clients (and the hooks they copied from their session)
        # could belong to a stack that has stopped, or to a unit test.
        module_name, attribute = spec.handler.rsplit(".", 1)
        self._environments[spec.name] += 1
        with _environment(spec.environment):
            module = _fresh_instance(module_name, self._environments[spec.name])
        return getattr(module, attribute)


def _fresh_instance(module_name: str, number: int) -> Any:
    origin = importlib.util.find_spec(module_name).origin
    spec = importlib.util.spec_from_file_location(f"{module_name}@{number}", origin)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def _environment(variables: dict[str, str]) -> Any:
    """Handler modules read their settings at import (cold start), like in Lambda.

    The import sees a copy of the process's environment with the function's variables; the
    process's own is never changed: another thread iterating it (botocore reads the proxy
    variables for every client it makes) would fail on a variable removed meanwhile.
    """
    process = os.environ
    os.environ = {**process, **variables}  # type: ignore[assignment]  # noqa: B003 (a view)
    try:
        yield
    finally:
        os.environ = process  # noqa: B003 (the process's own, never changed)


def _error_payload(exc: Exception, request_id: str) -> dict[str, Any]:
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }
