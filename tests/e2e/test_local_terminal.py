"""What `make run`'s terminal shows: the local endpoint's URLs; while sends fail, the
messages and the stack's one-line notices, not moto's internals."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
from conftest import example, finished, wait_until

from emulator import console
from emulator.__main__ import banner

# What moto's interpreter and server write when a send fails or an action is missing.
DUMPS = ("NoSuchJsonPathError", "FailureEventException", "Traceback", "StringJsonPath")


class Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self, logger: str) -> list[str]:
        return [r.getMessage() for r in self.records if r.name.startswith(logger)]


@pytest.fixture
def written() -> Iterator[Recorder]:
    """Every record moto's interpreter and werkzeug let through, from any of the stack's threads."""
    recorder = Recorder()
    loggers = [logging.getLogger(console.INTERPRETER_LOGGER), logging.getLogger("werkzeug")]
    for logger in loggers:
        logger.addHandler(recorder)
    yield recorder
    for logger in loggers:
        logger.removeHandler(recorder)


@pytest.fixture
def messaging(messaging):
    yield messaging
    messaging("faults", "clear")


def test_a_failed_send_and_its_redrive_print_no_moto_dumps(local, post, messaging, written, capsys):
    request = example("email-and-sms.json")
    trace_id = request["TraceId"]
    printed = [messaging("faults", "add", "--channel", "EMAIL", "--error", "5xx")]
    printed.append(messaging("faults", "add", "--channel", "SMS", "--error", "reject"))
    assert post(request).status_code == 202
    assert finished(local, trace_id) == "FAILED"
    printed.append(messaging("faults", "clear"))

    code, out, err = messaging("redrive", trace_id)

    assert code == 0, err
    printed.append((code, out, err))
    notice = "AWS endpoint: moto does not implement redrive_execution (answered HTTP 500)"
    wait_until(lambda: written.messages("werkzeug"), "the moto server's notice", deadline=5)
    assert written.messages("werkzeug") == [notice]
    assert written.messages(console.INTERPRETER_LOGGER) == []
    terminal = "".join(out + err for _, out, err in printed) + "".join(capsys.readouterr())
    assert [dump for dump in DUMPS if dump in terminal] == []


def test_log_level_debug_shows_the_interpreters_failures(local, post, messaging, written):
    request = example("email-only.json")
    messaging("faults", "add", "--channel", "EMAIL", "--error", "5xx")
    console.configure("DEBUG")
    try:
        assert post(request).status_code == 202
        assert finished(local, request["TraceId"]) == "FAILED"
    finally:
        console.configure("WARNING")

    dumps = written.messages(console.INTERPRETER_LOGGER)
    assert any(m.startswith("Exception=FailureEventException") for m in dumps)


def test_the_banners_queue_urls_are_the_local_endpoints(local):
    """As the endpoint's GetQueueUrl answers them, for `aws --endpoint-url ... sqs`."""
    printed = banner(local)

    urls = re.findall(r"^  (?:queue|DLQ|large queue) +(\S+)$", printed, re.MULTILINE)
    assert urls == [
        f"{local.aws.endpoint}/123456789012/messaging-messages",
        f"{local.aws.endpoint}/123456789012/messaging-messages-dlq",
        f"{local.aws.endpoint}/123456789012/messaging-large-messages",
    ]
