"""GET /messages/{TraceId} and the per-client limits, over HTTP against the local stack."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import pytest
import requests
from conftest import example, finished, outbox, trace_status, wait_until

from emulator.local import LOCAL_JWT_SECRET, LocalStack
from emulator.providers import Fault
from notify.domain.tokens import mint_token

THROTTLED = {"message": "Too many requests", "reason": "Rate limit exceeded; retry with backoff"}
QUOTA_EXCEEDED = {"message": "Too many requests", "reason": "Quota exceeded"}


def send(
    url: str, local: LocalStack, token: str, request: dict[str, Any] | None = None
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}", "x-api-key": local.api_key}
    body = request or example("sms-inline.json")
    return requests.post(url, json=body, headers=headers, timeout=30)


def status(local: LocalStack, trace_id: str, bearer: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    url = f"{local.http.url}/messages/{quote(trace_id, safe='')}"
    return requests.get(url, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def sent_trace(local, api, token) -> str:
    """A trace of the e2e customer whose one recipient was throttled once, then sent."""
    request = example("sms-inline.json")
    request["TraceId"] = request["TraceId"].replace("e2e-", "e2e/status:")  # "/" in a TraceId
    address = "+16048627777"
    request["Addresses"] = {address: {"ChannelType": "SMS"}}
    local.providers.add_fault(Fault(channel="SMS", error="throttle", address=address, times=1))
    assert send(api, local, token, request).status_code == 202
    assert finished(local, request["TraceId"]) == "COMPLETED"
    return request["TraceId"]


def test_the_sender_reads_its_traces_status_with_attempts_and_provider_id(local, token, sent_trace):
    response = status(local, sent_trace, token)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert (body["TraceId"], body["Status"]) == (sent_trace, "COMPLETED")
    (recipient,) = body["Recipients"]
    (message,) = outbox(local, sent_trace)
    assert recipient["Address"] == "+16048627777"
    assert recipient["ChannelType"] == "SMS"
    assert recipient["Status"] == "SENT"
    assert recipient["Attempts"] == 2  # throttled once, retried by the state machine
    assert recipient["ProviderMessageId"] == message["message_id"]
    assert recipient["Error"] is None
    assert recipient["FirstAttemptAt"] < recipient["LastAttemptAt"] <= recipient["SentAt"]
    assert body["StartedAt"]


def test_the_same_customer_with_another_user_reads_it_too(local, sent_trace):
    colleague = mint_token(LOCAL_JWT_SECRET, "another-user", customer_id="e2e-customer")

    assert status(local, sent_trace, colleague).status_code == 200


@pytest.mark.parametrize(
    "bearer",
    [
        pytest.param(
            mint_token(LOCAL_JWT_SECRET, "e2e-user", customer_id="other-customer"),
            id="another-tenant",
        ),
        pytest.param(mint_token(LOCAL_JWT_SECRET, "e2e-user"), id="same-user-without-customer"),
    ],
)
def test_another_callers_trace_is_not_found(local, sent_trace, bearer):
    response = status(local, sent_trace, bearer)

    assert response.status_code == 404
    assert response.json() == {
        "message": "Not Found",
        "reason": f"no trace {sent_trace!r} was sent by this caller",
    }


def test_an_unknown_trace_is_not_found(local, token):
    response = status(local, "e2e-never-sent", token)

    assert response.status_code == 404
    assert response.json()["message"] == "Not Found"


def test_reading_a_status_without_a_token_gets_401(local, sent_trace):
    response = status(local, sent_trace, None)

    assert response.status_code == 401
    assert response.json()["message"] == "Unauthorized"


def test_an_unknown_route_gets_api_gateways_403(local, token):
    response = requests.get(
        f"{local.http.url}/no/such/route", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )

    assert response.status_code == 403
    assert response.json() == {"message": "Missing Authentication Token"}


# ---------------------------------------------------------------- per-client limits
@pytest.fixture(scope="module")
def tight_api(local) -> Iterator[str]:
    """The same stack's API behind a usage plan of 2 rps with a burst of 5."""
    server = local.serve_api(ThrottleBurstLimit="5", ThrottleRateLimit="2")
    yield server.url + "/"
    server.stop()


@pytest.fixture(scope="module")
def quota_api(local) -> Iterator[str]:
    """The same stack's API with a daily quota of 3 requests per API key."""
    server = local.serve_api(DailyQuotaLimit="3")
    yield server.url + "/"
    server.stop()


def test_a_client_beyond_its_burst_gets_429_and_is_served_again_after_it(local, token, tight_api):
    with ThreadPoolExecutor(max_workers=12) as pool:
        responses = list(pool.map(lambda _: send(tight_api, local, token), range(12)))

    statuses = sorted(response.status_code for response in responses)
    assert set(statuses) == {202, 429}, statuses
    assert statuses.count(202) >= 5  # the burst
    throttled = [r for r in responses if r.status_code == 429]
    assert all(r.json() == THROTTLED for r in throttled)
    # The bucket refills at 2 rps: the same client is served again.
    wait_until(lambda: send(tight_api, local, token).status_code == 202, "served again")


def test_a_client_past_its_daily_quota_gets_429_quota_exceeded(local, token, quota_api):
    statuses = [send(quota_api, local, token).status_code for _ in range(3)]
    refused = send(quota_api, local, token)

    assert statuses == [202, 202, 202]
    assert refused.status_code == 429
    assert refused.json() == QUOTA_EXCEEDED


def test_a_request_over_sqss_256_kb_is_refused_with_400_and_not_queued(local, api, token):
    # Within every schema limit (100 000 characters each), but 400 000 bytes of UTF-8.
    request = example("email-only.json")
    request["EmailMessage"] |= {"HtmlBody": "é" * 100_000, "TextBody": "é" * 100_000}

    response = send(api, local, token, request)

    assert response.status_code == 400
    assert response.json()["message"] == "The queue refused the message"
    assert response.json()["reason"] == "A queued request is at most 256 KB of UTF-8"
    time.sleep(0.5)
    assert trace_status(local, request["TraceId"]) is None
