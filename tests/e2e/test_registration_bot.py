"""The registration bot's four test scripts (examples/registration-bot/), run as a user runs them.

Each script is a subprocess given only API_URL and API_KEY (and TWILIO_AUTH_TOKEN for the
signed webhooks), against the local stack's API served with usage-plan buckets of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from conftest import wait_until

from emulator.local import LOCAL_TWILIO_AUTH_TOKEN, LocalStack

SCRIPTS = Path(__file__).resolve().parents[2] / "examples" / "registration-bot"
SEED_RESPONSE = {
    "message": "Registration data received successfully",
    "player": "John Smith",
    "parent": "Jane Smith",
    "team": "Panthers u11s",
    "status": "pending",
}
TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


@pytest.fixture(scope="module")
def bot_api(local: LocalStack) -> Iterator[str]:
    server = local.serve_api()
    yield server.url
    server.stop()


@pytest.fixture
def run(bot_api, local):
    def run(script: str, **env: str) -> list[str]:
        environment = (
            {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
            | {"API_URL": bot_api, "API_KEY": local.api_key}
            | env
        )
        done = subprocess.run(
            [sys.executable, str(SCRIPTS / script)],
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.splitlines()

    return run


def test_api_key_script_gets_the_seeds_response_with_the_key_and_403_without(run):
    lines = run("api_key.py")

    assert lines[0] == "Testing with valid API key..."
    accepted = json.loads(lines[1])
    assert accepted.pop("request_id")
    assert accepted == SEED_RESPONSE
    assert lines[4] == "Testing without API key (should fail)..."
    assert json.loads(lines[5]) == {
        "message": "Forbidden",
        "reason": "A valid x-api-key header is required",
    }


def test_rate_limiting_script_gets_202_for_each_of_its_30_paced_requests(run):
    lines = run("rate_limiting.py")

    assert lines[0] == "Sending 30 requests in quick succession to test rate limiting..."
    assert lines[1::2] == [f"Request {i}" for i in range(1, 31)]
    assert lines[2::2] == ["202"] * 30


def test_bulk_script_invites_25_players_each_sent_exactly_once(run, local):
    lines = run("bulk_invitations.py", PARENT_TEL="+447911000111")

    assert lines[0] == "Simulating bulk invitation of 25 players..."
    assert lines[-1] == "All bulk invitation requests sent."
    answers = [json.loads(line) for line in lines[1:-1]]
    assert sorted(a["player"] for a in answers) == sorted(f"Player{i} Smith" for i in range(1, 26))
    request_ids = {a["request_id"] for a in answers}
    assert len(request_ids) == 25

    def sent() -> Counter[str]:
        messages = requests.get(f"{local.http.url}/_local/outbox", timeout=30).json()
        return Counter(m["trace_id"] for m in messages if m["trace_id"] in request_ids)

    counts = wait_until(lambda: len(c := sent()) == 25 and c, "25 invitations sent")
    assert set(counts.values()) == {1}
    invitation = requests.get(
        f"{local.http.url}/_local/outbox", params={"trace": next(iter(request_ids))}, timeout=30
    ).json()[0]
    assert invitation["to"] == "whatsapp:+447911000111"
    assert invitation["body"].startswith("Hi Parent")


def test_webhook_script_is_refused_unsigned_and_accepted_signed(run):
    lines = run("webhook_concurrency.py", TWILIO_AUTH_TOKEN=LOCAL_TWILIO_AUTH_TOKEN)

    assert lines[0] == "Sending 20 concurrent webhook requests..."
    assert lines[1:21] == ['403 {"message": "Invalid Twilio signature"}'] * 20
    assert lines[22] == "Sending 20 concurrent webhook requests signed as Twilio signs them..."
    assert lines[23:43] == [f"200 {TWIML}"] * 20
    assert lines[-1] == "All webhook requests sent."
