"""The emulated AWS endpoint: a moto server on loopback that executes the real ASL."""

from __future__ import annotations

import os
import socket

import requests
from moto.server import ThreadedMotoServer

REGION = "us-east-1"


# Configuration the Lambda code and the AWS CLI read: where AWS is, and what to skip
# offline (X-Ray has no daemon here; metrics would only clutter the console).
def client_environment(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
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
    """A moto server bound to 127.0.0.1 only, with Step Functions execution switched on."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)

    def start(self) -> EmulatedAws:
        # The interpreter calls the other services through the server on this port.
        os.environ["MOTO_PORT"] = str(self.port)
        self._server.start()
        requests.post(
            f"{self.endpoint}/moto-api/config",
            json={"stepfunctions": {"execute_state_machine": True}},
            timeout=10,
        ).raise_for_status()
        return self

    def stop(self) -> None:
        self._server.stop()
