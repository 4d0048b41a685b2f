"""What the local stack's terminal shows: the messages sent and the stack's own notices.

moto's Step Functions interpreter logs every failure it handles itself (a Choice reading
an absent path, a Task error that a Retry or Catch takes) as an ERROR holding the repr of
the whole state machine; moto's server has werkzeug log a traceback for each action moto
does not implement (`messaging redrive` probes RedriveExecution, then falls back). With
`LOG_LEVEL=DEBUG` all of it shows, as moto writes it.
"""

from __future__ import annotations

import logging
import re

# The loggers of moto's ASL interpreter (moto.stepfunctions.parser.asl.component...).
INTERPRETER_LOGGER = "moto.stepfunctions.parser"
# The loopback servers (moto's and the stack's API) log through werkzeug's logger.
WERKZEUG_LOGGER = "werkzeug"
# A traceback that passed through moto server's WSGI app: moto failed, not the stack.
_MOTO_SERVER_APP = re.compile(r"moto[\\/]moto_server[\\/]")
_UNIMPLEMENTED = re.compile(r"The (\w+) action has not been implemented")


class MotoServerTracebacks(logging.Filter):
    """One line instead of the moto server's traceback: its client already has the 500."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if not message.startswith("Error on request") or not _MOTO_SERVER_APP.search(message):
            return True
        last = message.rstrip().rsplit("\n", 1)[-1]
        unimplemented = _UNIMPLEMENTED.search(last)
        if unimplemented:
            record.msg = (
                f"AWS endpoint: moto does not implement {unimplemented[1]} (answered HTTP 500)"
            )
        else:
            record.msg = f"AWS endpoint answered HTTP 500: {last} (LOG_LEVEL=DEBUG shows where)"
        record.args = ()
        return True


def configure(log_level: str) -> None:
    """Quiet moto's internals unless `log_level` is DEBUG; no request lines either way."""
    werkzeug = logging.getLogger(WERKZEUG_LOGGER)
    werkzeug.setLevel(logging.ERROR)
    interpreter = logging.getLogger(INTERPRETER_LOGGER)
    tracebacks = [f for f in werkzeug.filters if isinstance(f, MotoServerTracebacks)]
    if log_level.upper() == "DEBUG":
        interpreter.setLevel(logging.NOTSET)
        for existing in tracebacks:
            werkzeug.removeFilter(existing)
        return
    # The interpreter's failures are in each execution's history (`messaging trace ID`).
    interpreter.setLevel(logging.CRITICAL)
    if not tracebacks:
        werkzeug.addFilter(MotoServerTracebacks())
