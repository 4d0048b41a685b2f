"""The local stack's terminal: moto's internals quiet at the default level, shown at DEBUG."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from emulator import console

MOTO_SERVER_TRACEBACK = """Error on request:
Traceback (most recent call last):
  File "/x/site-packages/werkzeug/serving.py", line 374, in run_wsgi
    execute(self.server.app)
  File "/x/site-packages/moto/moto_server/werkzeug_app.py", line 390, in __call__
    return backend_app(environ, start_response)
  File "/x/site-packages/moto/core/responses.py", line 483, in call_action
    raise NotImplementedError(f"The {action} action has not been implemented")
NotImplementedError: The redrive_execution action has not been implemented"""

API_TRACEBACK = """Error on request:
Traceback (most recent call last):
  File "/x/site-packages/werkzeug/serving.py", line 374, in run_wsgi
    execute(self.server.app)
  File "/work/emulator/http.py", line 58, in __call__
    response = self._api(request)
KeyError: 'Request'"""


def werkzeug_record(message: str) -> logging.LogRecord:
    return logging.LogRecord("werkzeug", logging.ERROR, __file__, 1, message, None, None)


@pytest.fixture
def restored() -> Iterator[None]:
    """configure() sets process-wide logger state: put it back for the other tests."""
    werkzeug = logging.getLogger(console.WERKZEUG_LOGGER)
    interpreter = logging.getLogger(console.INTERPRETER_LOGGER)
    levels, filters = (werkzeug.level, interpreter.level), list(werkzeug.filters)
    yield
    werkzeug.setLevel(levels[0])
    interpreter.setLevel(levels[1])
    werkzeug.filters[:] = filters


def test_an_action_moto_does_not_implement_is_one_line_instead_of_a_traceback():
    record = werkzeug_record(MOTO_SERVER_TRACEBACK)

    assert console.MotoServerTracebacks().filter(record)
    assert record.getMessage() == (
        "AWS endpoint: moto does not implement redrive_execution (answered HTTP 500)"
    )


def test_another_moto_server_failure_is_its_last_line():
    record = werkzeug_record(MOTO_SERVER_TRACEBACK.rsplit("\n", 1)[0] + "\nKeyError: 'Name'")

    console.MotoServerTracebacks().filter(record)

    assert record.getMessage() == (
        "AWS endpoint answered HTTP 500: KeyError: 'Name' (LOG_LEVEL=DEBUG shows where)"
    )


def test_a_traceback_of_the_stacks_own_api_is_kept_whole():
    record = werkzeug_record(API_TRACEBACK)

    assert console.MotoServerTracebacks().filter(record)
    assert record.getMessage() == API_TRACEBACK


def test_the_default_level_quiets_the_interpreter_and_the_moto_servers_tracebacks(restored):
    console.configure("WARNING")
    console.configure("WARNING")

    interpreter = logging.getLogger("moto.stepfunctions.parser.asl.component.eval_component")
    assert not interpreter.isEnabledFor(logging.ERROR)
    werkzeug = logging.getLogger("werkzeug")
    assert not werkzeug.isEnabledFor(logging.INFO)  # request lines
    assert [type(f) for f in werkzeug.filters].count(console.MotoServerTracebacks) == 1


def test_debug_shows_moto_as_it_writes(restored):
    console.configure("WARNING")
    console.configure("DEBUG")

    interpreter = logging.getLogger("moto.stepfunctions.parser.asl.component.eval_component")
    assert interpreter.isEnabledFor(logging.ERROR)
    werkzeug = logging.getLogger("werkzeug")
    assert not any(isinstance(f, console.MotoServerTracebacks) for f in werkzeug.filters)
