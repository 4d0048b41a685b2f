"""Callbacks: registration, the signature's format, verdicts, the retry schedule, dispatch."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest
from cfnlint.decode import cfn_yaml

from notify.domain.callback_urls import UnsafeUrl
from notify.domain.callbacks import (
    Callback,
    Dispatcher,
    InvalidRegistration,
    Unreachable,
    Verdict,
    body_of,
    registration,
    retry_delay,
    retry_schedule,
    signature,
    verdict_of,
)

TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"
SECRET = "k" * 32


def test_the_signature_is_t_and_v1_hex_hmac_sha256_over_timestamp_dot_body():
    body = b'{"EventId":"e1","Status":"SENT"}'

    header = signature(SECRET, body, 1700000000)

    expected = hmac.new(SECRET.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_the_body_is_compact_json_of_the_detail_and_keeps_non_ascii():
    assert body_of({"Address": "josé@example.com", "Attempts": 1}) == (
        '{"Address":"josé@example.com","Attempts":1}'.encode()
    )


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, Verdict.DELIVERED),
        (204, Verdict.DELIVERED),
        (301, Verdict.REFUSED),
        (400, Verdict.REFUSED),
        (404, Verdict.REFUSED),
        (408, Verdict.RETRY),
        (429, Verdict.RETRY),
        (500, Verdict.RETRY),
        (503, Verdict.RETRY),
    ],
    ids=str,
)
def test_only_timeouts_429_and_5xx_are_retried(status, verdict):
    assert verdict_of(status) is verdict


def test_waits_double_from_the_base_up_to_the_cap():
    assert [retry_delay(n, 60, 3600) for n in range(1, 9)] == [
        60, 120, 240, 480, 960, 1920, 3600, 3600,
    ]  # fmt: skip
    assert retry_delay(100, 1, 10**9) == 43200  # SQS's longest visibility timeout


def test_the_deployed_schedule_spans_at_least_24_hours():
    resources = cfn_yaml.load(str(TEMPLATE))["Resources"]
    receives = resources["CallbacksQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"]
    variables = resources["CallbackDispatchFunction"]["Properties"]["Environment"]["Variables"]
    base = int(cfn_yaml.load(str(TEMPLATE))["Parameters"]["CallbackRetryBaseSeconds"]["Default"])
    cap = int(variables["CALLBACK_RETRY_MAX_SECONDS"])

    waits = retry_schedule(base, cap, receives)

    assert len(waits) == receives - 1
    assert 24 * 3600 <= sum(waits) <= 26 * 3600


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"Url": "https://hooks.example.com/"}, "the body is"),
        ({"Url": "https://hooks.example.com/", "Secret": "short"}, "32-256"),
        ({"Url": "https://hooks.example.com/", "Secret": " " + "k" * 40}, "printable"),
        ({"Url": "http://hooks.example.com/", "Secret": SECRET}, "https"),
        ({"Url": "https://10.0.0.1/", "Secret": SECRET}, "private"),
        ({"Url": "https://a/", "Secret": SECRET, "Extra": 1}, "the body is"),
    ],
    ids=["no-secret", "short-secret", "spaces", "http", "private", "extra-field"],
)
def test_a_registration_is_refused_with_a_reason(body, reason):
    with pytest.raises(InvalidRegistration, match=reason):
        registration(body, allow_loopback=False)


def test_a_registration_keeps_its_secret_out_of_its_repr():
    wanted = registration({"Url": "https://hooks.example.com/", "Secret": SECRET}, False)
    assert wanted.url == "https://hooks.example.com/"
    assert SECRET not in repr(wanted)


class FakeCallbacks:
    def __init__(self, callbacks: dict[str, Callback]) -> None:
        self._callbacks = callbacks

    def callback(self, tenant: str) -> Callback | None:
        return self._callbacks.get(tenant)


class FakePoster:
    def __init__(self, answers: dict[str, object]) -> None:
        self.answers = answers
        self.posts: list[tuple[str, bytes, dict[str, str]]] = []

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        self.posts.append((url, body, headers))
        answer = self.answers[url]
        if isinstance(answer, Exception):
            raise answer
        return answer


def detail(tenant: str, event_id: str = "e-1") -> dict:
    return {"EventId": event_id, "Tenant": tenant, "TraceId": "t-1", "Status": "SENT"}


def dispatcher(poster: FakePoster) -> Dispatcher:
    callbacks = FakeCallbacks(
        {
            "customer:a": Callback("https://a.example/", SECRET),
            "customer:b": Callback("https://b.example/", "b" * 32),
        }
    )
    return Dispatcher(callbacks, poster, clock=lambda: 1700000000.5)


def test_an_event_is_posted_signed_with_its_tenants_secret_and_its_event_id():
    poster = FakePoster({"https://a.example/": 200})

    outcome = dispatcher(poster).deliver(detail("customer:a"))

    assert outcome.verdict is Verdict.DELIVERED
    [(_, body, headers)] = poster.posts
    assert json.loads(body) == detail("customer:a")
    assert headers["X-Messaging-Event-Id"] == "e-1"
    assert headers["X-Messaging-Signature"] == signature(SECRET, body, 1700000000)


def test_an_event_of_a_tenant_without_a_callback_is_dropped_unsent():
    poster = FakePoster({})

    assert dispatcher(poster).deliver(detail("customer:nobody")).verdict is Verdict.DROPPED
    assert poster.posts == []


def test_a_receiver_that_timed_out_is_not_called_again_in_the_batch_but_others_are():
    poster = FakePoster({"https://a.example/": Unreachable("timed out"), "https://b.example/": 200})
    batch = dispatcher(poster)

    verdicts = [
        batch.deliver(detail("customer:a", "e-1")).verdict,
        batch.deliver(detail("customer:a", "e-2")).verdict,
        batch.deliver(detail("customer:b", "e-3")).verdict,
    ]

    assert verdicts == [Verdict.RETRY, Verdict.RETRY, Verdict.DELIVERED]
    assert [url for url, _, _ in poster.posts] == ["https://a.example/", "https://b.example/"]


def test_a_url_refused_at_send_time_is_not_retried():
    poster = FakePoster({"https://a.example/": UnsafeUrl("10.0.0.1 is a private address")})

    outcome = dispatcher(poster).deliver(detail("customer:a"))

    assert outcome.verdict is Verdict.REFUSED
    assert "private" in outcome.detail
