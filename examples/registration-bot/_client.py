"""What the four scripts share: the endpoint and key from the environment, and HTTP.

Standard library only, so the scripts run with any Python 3.11 and nothing installed.

    API_URL            the API's base URL: the stack's ApiUrl output, or the local stack's
                       http://127.0.0.1:3000 (the default)
    API_KEY            the API key's value (`aws apigateway get-api-key --include-value
                       --api-key <ApiKeyId>`); against the local stack it is read from its
                       control API when unset
    PARENT_TEL         optional: invite this number instead of the payload's
    TWILIO_AUTH_TOKEN  optional (webhook script): sign requests as Twilio does
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_API_URL = "http://127.0.0.1:3000"
TIMEOUT_SECONDS = 30


def api_url(path: str = "") -> str:
    return os.environ.get("API_URL", DEFAULT_API_URL).rstrip("/") + path


def api_key() -> str:
    key = os.environ.get("API_KEY")
    if key:
        return key
    try:  # the local stack (`make run`) tells its key to whoever asks on loopback
        status, body = request("GET", api_url("/_local/stack"))
        if status == 200:
            return json.loads(body)["ApiKey"]
    except (OSError, ValueError, KeyError):
        pass
    sys.exit(
        "set API_KEY to the stack's API key: aws apigateway get-api-key --include-value "
        "--api-key <the stack's ApiKeyId output> --query value --output text"
    )


def payload(**changes: str) -> dict[str, Any]:
    """The seed's test payload (payload.json), PARENT_TEL and `changes` applied."""
    record = json.loads((HERE / "payload.json").read_text())
    if os.environ.get("PARENT_TEL"):
        record["parent_tel"] = os.environ["PARENT_TEL"]
    return record | changes


def request(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, str]:
    """(status, body text) of one HTTP request; an HTTP error status is an answer too."""
    call = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(call, timeout=TIMEOUT_SECONDS) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def post_json(path: str, record: Any, key: str | None) -> tuple[int, str]:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["x-api-key"] = key
    return request("POST", api_url(path), json.dumps(record).encode(), headers)
