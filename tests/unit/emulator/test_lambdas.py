"""The local Lambda runtime (emulator/lambdas.py): each function's environment, as in Lambda."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from emulator.lambdas import LambdaRuntime
from emulator.stack import FunctionSpec

HANDLER = """
import os

SEEN_AT_IMPORT = os.environ.get("GREETING")


def handler(event, context):
    return {"at_import": SEEN_AT_IMPORT, "at_invoke": os.environ.get("GREETING")}
"""


SPEC = FunctionSpec(
    "Greeter",
    "greeter",
    "arn:aws:lambda:us-east-1:123456789012:function:greeter",
    "greeter.handler",
    {"GREETING": "hello"},
)


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LambdaRuntime:
    (tmp_path / "greeter.py").write_text(HANDLER)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("GREETING", raising=False)
    spec = FunctionSpec(
        "Greeter",
        "greeter",
        "arn:aws:lambda:us-east-1:1:function:greeter",
        "greeter.handler",
        {"GREETING": "hello"},
    )
    runtime = LambdaRuntime()
    runtime.deploy({"greeter": spec})
    yield runtime
    sys.modules.pop("greeter", None)


def test_a_cold_start_reads_its_variables_and_leaves_the_process_environment_alone(runtime):
    process = os.environ
    before = dict(os.environ)

    result, error = runtime.invoke("greeter", {})

    assert error is None
    assert result["at_import"] == "hello"  # its settings, read at import as in Lambda
    assert os.environ is process
    assert dict(os.environ) == before


def test_cold_starts_never_fail_a_thread_reading_the_environment(runtime):
    # botocore reads the proxy variables (os.environ.items()) for every client it makes:
    # a variable set for a cold start and removed after it failed such a read (KeyError).
    done, failures = threading.Event(), []

    def read() -> None:
        while not done.is_set():
            try:
                dict(os.environ.items())
            except KeyError as exc:
                failures.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(30):
            runtime.deploy({"greeter": SPEC})  # deployed again: the next invoke starts cold
            assert runtime.invoke("greeter", {})[1] is None
    finally:
        done.set()
        reader.join()
    assert failures == []
