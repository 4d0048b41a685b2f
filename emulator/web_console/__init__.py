"""The local stack's web console at /_console/: the outbox, traces, the DLQ, jobs, faults and
templates, in a browser (like Mailpit for the messages a notification service sends).

It is served by the local stack's own HTTP server and is never deployed. It reads what the
`messaging` CLI reads and changes only what the CLI can change, by calling the CLI's own
functions against the local stack's endpoints: there is no second source of truth.
"""

from emulator.web_console.app import CONSOLE_PATH, WebConsole

__all__ = ["CONSOLE_PATH", "WebConsole"]
