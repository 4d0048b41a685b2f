"""A provider quota on the local stack: at most N accepted sends in any rolling second.

Each channel's provider is reached as its sender reaches it (SES through the botocore
hooks over moto, End User Messaging and Twilio as their local HTTP APIs) and answers the
send over its quota with its own throttling error. Time is a fake clock, moved by hand.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from werkzeug.test import Client

from emulator.botocore_hooks import SessionHooks
from emulator.http import LocalHttp
from emulator.providers import Fault, Providers
from emulator.sms_api import SEND_TEXT_MESSAGE, SEND_VOICE_MESSAGE, SmsApi
from emulator.twilio_api import TwilioApi
from notify.handlers.sending import PROVIDER_CLIENT_CONFIG

TO_PHONE = "+16048621234"
TWILIO_SID, TWILIO_TOKEN = "AC" + "12" * 16, "localtoken"
TWILIO_PATH = f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
# What a refused send looks like on the wire, per channel: (HTTP status, error code).
THROTTLED = {
    "EMAIL": (429, "TooManyRequestsException"),
    "SMS": (400, "ThrottlingException"),
    "VOICE": (400, "ThrottlingException"),
    "WHATSAPP": (429, 20429),
}
# A sender of each channel; EMAIL's quota is the account's whatever the From.
SENDERS = {
    "EMAIL": ("alerts@example.com", "billing@example.com"),
    "SMS": ("pool-1", "pool-2"),
    "VOICE": ("+18005550100", "+18005550101"),
    "WHATSAPP": ("whatsapp:+14155238886", "whatsapp:+14155238887"),
}
# A send answered: None (accepted) or (HTTP status, error code).
Answer = tuple[int, Any] | None
Send = Callable[[str], Answer]


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def providers(clock) -> Providers:
    return Providers(clock=clock)


@pytest.fixture
def ses(mocked_aws, providers) -> Iterator[Any]:
    """An SES v2 client whose calls pass the providers' hooks, as the send function's do."""
    hooks = SessionHooks(providers.hooks())
    client = hooks.session(region_name="us-east-1").client("sesv2", config=PROVIDER_CLIENT_CONFIG)
    client.create_email_identity(EmailIdentity="example.com")
    yield client
    hooks.remove()


def email_send(ses: Any) -> Send:
    def send(sender: str) -> Answer:
        try:
            ses.send_email(
                FromEmailAddress=sender,
                Destination={"ToAddresses": ["user@example.com"]},
                Content={"Simple": {"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "Hi"}}}},
            )
        except ClientError as exc:
            status = exc.response["ResponseMetadata"]["HTTPStatusCode"]
            return status, exc.response["Error"]["Code"]
        return None

    return send


def end_user_messaging_send(providers: Providers, target: str) -> Send:
    api = Client(SmsApi(providers))

    def send(sender: str) -> Answer:
        params = {"DestinationPhoneNumber": TO_PHONE, "MessageBody": "Hi"}
        response = api.post(
            "/",
            data=json.dumps(params | {"OriginationIdentity": sender}),
            headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0"},
        )
        if response.status_code == 200:
            return None
        return response.status_code, json.loads(response.get_data(as_text=True))["__type"]

    return send


def whatsapp_send(providers: Providers) -> Send:
    api = Client(TwilioApi(providers, TWILIO_SID, TWILIO_TOKEN))

    def send(sender: str) -> Answer:
        form = {"To": f"whatsapp:{TO_PHONE}", "From": sender, "Body": "Hi"}
        response = api.post(TWILIO_PATH, data=form, auth=(TWILIO_SID, TWILIO_TOKEN))
        if response.status_code == 201:
            return None
        return response.status_code, response.get_json()["code"]

    return send


def sends_of(name: str, providers: Providers, request: pytest.FixtureRequest) -> Send:
    """How the channel's sender reaches its local provider."""
    if name == "EMAIL":
        return email_send(request.getfixturevalue("ses"))
    if name == "WHATSAPP":
        return whatsapp_send(providers)
    target = SEND_TEXT_MESSAGE if name == "SMS" else SEND_VOICE_MESSAGE
    return end_user_messaging_send(providers, target)


@pytest.mark.parametrize("name", list(THROTTLED))
def test_the_send_over_the_quota_within_a_second_is_throttled_with_the_providers_error(
    name, providers, clock, request
):
    send = sends_of(name, providers, request)
    sender = SENDERS[name][0]
    providers.add_quota(name, 20)

    answers = []
    for _ in range(21):
        answers.append(send(sender))
        clock.now += 0.04  # 21 sends within 0.84 s

    assert answers[:20] == [None] * 20
    assert answers[20] == THROTTLED[name]
    assert len(providers.sent()) == 20
    assert providers.quotas[name].refused == 1


@pytest.mark.parametrize("name", ["SMS", "VOICE", "WHATSAPP"])
def test_a_per_sender_quota_counts_each_sender_alone(name, providers, request):
    send = sends_of(name, providers, request)
    first, second = SENDERS[name]
    providers.add_quota(name, 20)

    assert [send(first) for _ in range(20)] == [None] * 20
    assert send(first) == THROTTLED[name]
    assert send(second) is None


def test_the_email_quota_is_the_whole_accounts_whatever_the_sender(ses, providers):
    send = email_send(ses)
    providers.add_quota("EMAIL", 2)

    assert [send("alerts@example.com"), send("billing@example.com")] == [None, None]
    assert send("news@example.com") == THROTTLED["EMAIL"]


def test_the_window_slides_and_counts_only_accepted_sends(providers, clock):
    send = end_user_messaging_send(providers, SEND_TEXT_MESSAGE)
    providers.add_quota("SMS", 20)

    assert [send("pool-1") for _ in range(10)] == [None] * 10  # at 0 s
    clock.now += 0.5
    assert [send("pool-1") for _ in range(10)] == [None] * 10  # at 0.5 s
    clock.now += 0.499
    refused = [send("pool-1") for _ in range(50)]  # at 0.999 s: none accepted, none counted
    clock.now += 0.001
    at_one_second = [send("pool-1") for _ in range(11)]  # the first 10 have left the window

    assert refused == [THROTTLED["SMS"]] * 50
    assert at_one_second == [None] * 10 + [THROTTLED["SMS"]]
    assert len(providers.sent()) == 30


def test_a_fault_refused_send_is_not_counted_by_the_quota(providers):
    send = end_user_messaging_send(providers, SEND_TEXT_MESSAGE)
    providers.add_quota("SMS", 1)
    providers.add_fault(Fault(channel="SMS", error="5xx", times=3))

    assert [send("pool-1") for _ in range(3)] == [(500, "InternalServerException")] * 3
    assert send("pool-1") is None
    assert send("pool-1") == THROTTLED["SMS"]


def test_an_email_ses_refuses_after_the_quota_took_it_is_given_back(ses, providers):
    send = email_send(ses)
    providers.add_quota("EMAIL", 1)

    # moto refuses a sender of a domain that is not verified: SES did not accept it.
    assert send("alerts@unverified.example") == (400, "MessageRejected")
    assert send("alerts@example.com") is None
    assert send("alerts@example.com") == THROTTLED["EMAIL"]


def test_concurrent_sends_never_pass_the_quota(providers):
    providers.add_quota("WHATSAPP", 20)
    answers: list[Any] = []
    lock = threading.Lock()

    def send() -> None:
        answer = providers.attempt("WHATSAPP", f"whatsapp:{TO_PHONE}", SENDERS["WHATSAPP"][0])
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=send) for _ in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert answers.count(None) == 20
    assert len(answers) == 60


def test_clearing_the_faults_removes_the_quota(providers):
    send = end_user_messaging_send(providers, SEND_TEXT_MESSAGE)
    providers.add_quota("SMS", 1)
    assert [send("pool-1"), send("pool-1")] == [None, THROTTLED["SMS"]]

    providers.clear_faults()

    assert providers.quotas == {}
    assert [send("pool-1") for _ in range(5)] == [None] * 5


@pytest.mark.parametrize(
    ("channel_name", "per_second", "reason"),
    [
        pytest.param("DYNAMODB", 5, "no provider quota for 'DYNAMODB'", id="not-a-channel"),
        pytest.param("SMS", 0, "whole number of sends per second, not 0", id="zero"),
        pytest.param("SMS", 2.5, "whole number of sends per second, not 2.5", id="fraction"),
    ],
)
def test_a_quota_that_cannot_be_is_refused(providers, channel_name, per_second, reason):
    with pytest.raises(ValueError, match=reason):
        providers.add_quota(channel_name, per_second)


def test_the_control_api_adds_lists_and_clears_a_quota(providers):
    control = Client(LocalHttp(None, providers, {}))

    added = control.post("/_local/quotas", json={"channel": "SMS", "per_second": 20})
    refused = control.post("/_local/quotas", json={"channel": "SMS", "per_second": "20"})
    listed = control.get("/_local/quotas").get_json()
    cleared = control.delete("/_local/faults")

    assert added.status_code == 201
    assert added.get_json() == {
        "channel": "SMS",
        "per_second": 20,
        "per_sender": True,
        "refused": 0,
    }
    assert refused.status_code == 400
    assert refused.get_json()["reason"] == "per_second is a whole number of sends, not '20'"
    assert listed == [added.get_json()]
    assert cleared.status_code == 204
    assert control.get("/_local/quotas").get_json() == []
