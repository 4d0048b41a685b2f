"""`messaging faults add --quota N`: a provider quota, through the local stack's control API."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from werkzeug.test import Client

from cli.main import main
from emulator.http import LocalHttp
from emulator.providers import Providers


class Answer:
    def __init__(self, status: int, body: bytes) -> None:
        self.status_code = status
        self.content = body

    def json(self) -> Any:
        return json.loads(self.content)


class LocalControlApi:
    """Stands in for requests.request: the local stack's real control API, in this process."""

    def __init__(self) -> None:
        self.providers = Providers()
        self._client = Client(LocalHttp(None, self.providers, {}))

    def __call__(self, method: str, url: str, timeout: float, **kwargs: Any) -> Answer:
        answer = self._client.open(urlsplit(url).path, method=method, json=kwargs.get("json"))
        return Answer(answer.status_code, answer.get_data())


@pytest.fixture
def control(monkeypatch) -> LocalControlApi:
    api = LocalControlApi()
    monkeypatch.setattr(requests, "request", api)
    monkeypatch.setenv("MESSAGING_LOCAL_URL", "http://127.0.0.1:3999")
    return api


def test_a_quota_is_added_listed_and_cleared(control, capsys):
    assert main(["faults", "add", "--channel", "EMAIL", "--quota", "20"]) == 0
    assert main(["faults", "add", "--channel", "SMS", "--quota", "3"]) == 0
    assert main(["faults", "add", "--channel", "SMS", "--error", "5xx", "--rate", "0.5"]) == 0
    assert main(["faults", "list"]) == 0
    assert main(["faults", "clear"]) == 0

    assert capsys.readouterr().out.splitlines() == [
        "added quota: EMAIL quota=20/s for the account refused=0",
        "added quota: SMS quota=3/s per sender refused=0",
        "added fault: SMS * 5xx rate=0.5 fired=0",
        "SMS * 5xx rate=0.5 fired=0",
        "EMAIL quota=20/s for the account refused=0",
        "SMS quota=3/s per sender refused=0",
        "cleared all faults",
    ]
    assert control.providers.quotas == {}
    assert control.providers.faults == []


@pytest.mark.parametrize(
    ("argv", "status", "error"),
    [
        pytest.param(
            ["--channel", "DYNAMODB", "--quota", "5"],
            1,
            "messaging: no provider quota for 'DYNAMODB'; one of ['EMAIL', 'SMS', 'VOICE', "
            "'WHATSAPP']\n",
            id="not-a-provider",
        ),
        pytest.param(
            ["--channel", "SMS", "--quota", "5", "--address", "+1604", "--times", "2"],
            1,
            "messaging: --quota counts every send of its channel; drop --address, --times\n",
            id="a-fault-option",
        ),
        pytest.param(
            ["--channel", "SMS", "--quota", "5", "--error", "5xx"],
            2,
            "argument --error: not allowed with argument --quota",
            id="quota-and-error",
        ),
        pytest.param(["--channel", "SMS", "--quota", "0"], 2, "must be at least 1", id="zero"),
        pytest.param(
            ["--channel", "SMS"], 2, "one of the arguments --quota --error is required", id="none"
        ),
    ],
)
def test_a_quota_that_cannot_be_is_refused(control, capsys, argv, status, error):
    assert main(["faults", "add", *argv]) == status

    assert error in capsys.readouterr().err
    assert control.providers.quotas == {}
