"""`messaging outbox` and `messaging faults`: the local control API's answers, rendered."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from werkzeug.test import Client

from cli.local import fault_line, render_outbox
from cli.main import main
from emulator.http import LocalHttp
from emulator.providers import FAULT_ERRORS, Providers


def test_a_fault_is_one_line():
    fault = {"channel": "EMAIL", "address": None, "error": "5xx", "rate": 0.5, "fired": 2}

    assert fault_line(fault) == "EMAIL * 5xx rate=0.5 fired=2"
    assert (
        fault_line(fault | {"address": "a@x", "times": 1})
        == "EMAIL a@x 5xx rate=0.5 times=1 fired=2"
    )


def test_the_outbox_shows_time_channel_recipient_trace_and_subject_or_body():
    messages = [
        {"channel": "EMAIL", "to": "user@example.com", "subject": "Alert", "body": None,
         "trace_id": "t-1", "at": "2026-11-24T10:43:48.000621+00:00"},
        {"channel": "SMS", "to": "+1604", "subject": None, "body": "Hi\nthere",
         "trace_id": "t-1", "at": "2026-11-24T10:43:49+00:00"},
    ]  # fmt: skip

    assert render_outbox(messages) == [
        "TIME                 CHANNEL  TO                TRACE  SUBJECT / BODY",
        "2026-11-24 10:43:48  EMAIL    user@example.com  t-1    Alert",
        "2026-11-24 10:43:49  SMS      +1604             t-1    Hi",
    ]


class FakeResponse:
    def __init__(self, status: int, payload: Any) -> None:
        self.status_code = status
        self.content = json.dumps(payload).encode()

    def json(self) -> Any:
        return json.loads(self.content)


class ControlApi:
    """Stands in for requests.request: records each call, answers with the queued replies."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []
        self.answers: list[FakeResponse] = []

    def __call__(self, method: str, url: str, timeout: float, **kwargs: Any) -> FakeResponse:
        self.calls.append((method, url, kwargs.get("json") or kwargs.get("params")))
        return self.answers.pop(0)


@pytest.fixture
def control_api(monkeypatch) -> ControlApi:
    api = ControlApi()
    monkeypatch.setattr(requests, "request", api)
    monkeypatch.setenv("MESSAGING_LOCAL_URL", "http://127.0.0.1:3999")
    return api


def test_faults_add_posts_the_fault_and_prints_it(control_api, capsys):
    fault = {"channel": "SMS", "address": "+1604", "error": "throttle", "rate": 1.0, "fired": 0}
    control_api.answers.append(FakeResponse(201, fault | {"times": None}))

    argv = ["faults", "add", "--channel", "SMS", "--address", "+1604", "--error", "throttle"]
    assert main(argv) == 0

    assert control_api.calls == [
        (
            "POST",
            "http://127.0.0.1:3999/_local/faults",
            {
                "channel": "SMS",
                "address": "+1604",
                "error": "throttle",
                "rate": 1.0,
                "times": None,
                "seconds": 0,
            },
        )
    ]
    assert capsys.readouterr().out == "added fault: SMS +1604 throttle rate=1 fired=0\n"


def test_a_slow_fault_that_fires_a_few_times_is_posted_with_its_count_and_delay(
    control_api, capsys
):
    fault = {"channel": "EMAIL", "address": None, "error": "slow", "rate": 1.0, "fired": 0}
    control_api.answers.append(FakeResponse(201, fault | {"times": 2, "seconds": 5.0}))

    argv = ["faults", "add", "--channel", "EMAIL", "--error", "slow", "--seconds", "5"]
    assert main([*argv, "--times", "2"]) == 0

    assert control_api.calls[0][2] == {
        "channel": "EMAIL",
        "address": None,
        "error": "slow",
        "rate": 1.0,
        "times": 2,
        "seconds": 5.0,
    }
    assert capsys.readouterr().out == "added fault: EMAIL * slow rate=1 times=2 seconds=5 fired=0\n"


def test_a_fault_that_fires_zero_times_is_refused_before_it_is_sent(control_api, capsys):
    assert main(["faults", "add", "--channel", "SMS", "--error", "5xx", "--times", "0"]) == 2

    assert control_api.calls == []
    assert "must be at least 1" in capsys.readouterr().err


def test_a_refused_fault_shows_the_servers_reason(control_api, capsys):
    answer = FakeResponse(400, {"message": "Invalid fault", "reason": "unknown error 'x'"})
    control_api.answers.append(answer)

    assert main(["faults", "add", "--channel", "SMS", "--error", "reject"]) == 1

    assert capsys.readouterr().err == "messaging: unknown error 'x'\n"


def test_the_outbox_asks_for_one_trace(control_api, capsys):
    control_api.answers.append(FakeResponse(200, []))

    assert main(["outbox", "--trace", "t-9"]) == 0

    assert control_api.calls == [("GET", "http://127.0.0.1:3999/_local/outbox", {"trace": "t-9"})]
    assert capsys.readouterr().out == "no messages for trace t-9\n"


def test_faults_clear_accepts_no_content(control_api, capsys):
    control_api.answers.append(FakeResponse(204, None))

    assert main(["faults", "clear"]) == 0

    assert control_api.calls == [("DELETE", "http://127.0.0.1:3999/_local/faults", None)]
    assert capsys.readouterr().out == "cleared all faults\n"


class LocalControlApi:
    """Stands in for requests.request: the local stack's real control API, in this process."""

    def __init__(self) -> None:
        self.providers = Providers()
        self._client = Client(LocalHttp(None, self.providers, {}))

    def __call__(self, method: str, url: str, timeout: float, **kwargs: Any) -> FakeResponse:
        answer = self._client.open(urlsplit(url).path, method=method, json=kwargs.get("json"))
        return FakeResponse(answer.status_code, answer.get_json(silent=True))


INJECTABLE = [(channel, error) for channel, errors in FAULT_ERRORS.items() for error in errors]


@pytest.mark.parametrize(
    ("channel", "error"), INJECTABLE, ids=[f"{channel}-{error}" for channel, error in INJECTABLE]
)
def test_every_error_the_local_stack_can_inject_is_accepted_and_injected(
    channel, error, monkeypatch, capsys
):
    control = LocalControlApi()
    monkeypatch.setattr(requests, "request", control)

    assert main(["faults", "add", "--channel", channel, "--error", error]) == 0

    assert [(f.channel, f.error) for f in control.providers.faults] == [(channel, error)]
    assert capsys.readouterr().out.startswith(f"added fault: {channel} * {error} ")


def test_outside_window_is_a_whatsapp_fault(monkeypatch, capsys):
    control = LocalControlApi()
    monkeypatch.setattr(requests, "request", control)
    argv = ["faults", "add", "--error", "outside-window", "--channel"]

    assert main([*argv, "WHATSAPP", "--address", "+447835065013"]) == 0
    assert main([*argv, "SMS"]) == 1

    assert [f.address for f in control.providers.faults] == ["whatsapp:+447835065013"]
    assert capsys.readouterr().err == (
        "messaging: unknown error 'outside-window'; one of "
        "['5xx', 'crash', 'reject', 'slow', 'throttle']\n"
    )
