"""The emulated AWS: moto's backends, executing the real ASL, reached two ways.

Inside the local stack's process (the handlers, the interpreter, the pipe) calls are
answered in-process by moto's mock; other processes (the AWS CLI, `messaging`) reach
the same backends through a moto server on loopback.
"""

from __future__ import annotations

import socket

from moto import mock_aws
from moto.server import ThreadedMotoServer

from emulator import clock, moto_patches

REGION = "us-east-1"


# Configuration the Lambda code reads in this process: a region, dummy credentials, and
# what to skip offline (X-Ray has no daemon here; metrics would only clutter the console).
def client_environment() -> dict[str, str]:
    return {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class EmulatedAws:
    """moto in-process, plus a server bound to 127.0.0.1 only for other processes."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)

    def start(self) -> EmulatedAws:
        moto_patches.apply()
        self._mock.start()  # first: starting the mock resets the backends
        self._server.start()
        return self

    def pass_time(self, seconds: float) -> None:
        """Fast-forward queues and tables by `seconds` (emulator/clock.py), not sleep."""
        clock.pass_time(seconds)

    def stop(self) -> None:
        self._server.stop()
        self._mock.stop()
