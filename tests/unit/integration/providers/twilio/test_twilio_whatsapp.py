"""The Twilio WhatsApp sender, against the local Twilio API over real HTTP, and its secret."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from twilio.base.exceptions import TwilioRestException

from emulator.aws import free_port
from emulator.http import HttpServer
from emulator.providers import Fault, Providers
from emulator.twilio_api import TwilioApi
from notify.domain.channels.whatsapp import WhatsApp
from notify.domain.errors import (
    INVALID_ADDRESS,
    OPTED_OUT,
    OUTSIDE_SESSION_WINDOW,
    PROVIDER_REJECTED,
    PROVIDER_UNAVAILABLE,
    THROTTLED,
    PermanentError,
    TransientError,
)
from notify.integration.providers.twilio.errors import classify_twilio_error
from notify.integration.providers.twilio.whatsapp import (
    TwilioAccount,
    TwilioSecret,
    TwilioWhatsAppSender,
    with_query,
)

ACCOUNT = TwilioAccount("AC" + "ab" * 16, "secrettoken")
TO = "whatsapp:+16048621234"
FROM = "whatsapp:+14155238886"
MESSAGE = WhatsApp(to=TO, from_number=FROM, body="Hi Jane, John is invited to the Panthers.")
CALLBACK = "http://127.0.0.1:9/webhook"  # nothing listens on the discard port


SHARED = Providers()


@pytest.fixture(scope="module")
def twilio() -> Iterator[HttpServer]:
    server = TwilioApi(SHARED, ACCOUNT.account_sid, ACCOUNT.auth_token).start(free_port())
    yield server
    server.stop()


@pytest.fixture
def providers() -> Iterator[Providers]:
    yield SHARED
    SHARED.outbox.clear()
    SHARED.attempts.clear()
    SHARED.clear_faults()


def sender_for(
    twilio: HttpServer, callback: str | None = CALLBACK, account: TwilioAccount = ACCOUNT
) -> TwilioWhatsAppSender:
    return TwilioWhatsAppSender(lambda: account, twilio.url, callback)


def test_a_message_is_sent_to_the_configured_api_and_its_sid_returned(twilio, providers):
    sid = sender_for(twilio).send(MESSAGE, "trace/1+2")

    [sent] = providers.sent()
    assert sid.startswith("SM")
    assert len(sid) == 34
    assert (sent.channel, sent.to, sent.sender, sent.body) == ("WHATSAPP", TO, FROM, MESSAGE.body)
    # The TraceId rides in the status callback URL, escaped, and comes back out intact.
    assert (sent.trace_id, sent.message_id) == ("trace/1+2", sid)


def test_an_approved_template_is_sent_as_content_sid_and_json_variables(twilio, providers):
    message = WhatsApp(TO, FROM, None, "HX" + "0" * 32, {"1": "Jane", "2": "Panthers"})

    sender_for(twilio).send(message, "t-2")

    [sent] = providers.sent()
    assert (sent.body, sent.content_sid) == (None, "HX" + "0" * 32)
    assert sent.content_variables == {"1": "Jane", "2": "Panthers"}


def test_without_a_status_callback_url_no_trace_travels(twilio, providers):
    sender_for(twilio, callback=None).send(MESSAGE, "t-3")

    assert providers.sent()[0].trace_id is None


@pytest.mark.parametrize(
    ("error", "kind", "reason", "code"),
    [
        pytest.param("throttle", TransientError, THROTTLED, "Twilio 20429", id="429"),
        pytest.param("5xx", TransientError, PROVIDER_UNAVAILABLE, "Twilio 20500", id="500"),
        pytest.param("reject", PermanentError, INVALID_ADDRESS, "Twilio 21211", id="invalid-to"),
        pytest.param("crash", TransientError, PROVIDER_UNAVAILABLE, "ConnectionError", id="drop"),
    ],
)
def test_twilio_failures_are_classified(twilio, providers, error, kind, reason, code):
    providers.add_fault(Fault(channel="WHATSAPP", error=error, address=TO))

    with pytest.raises(kind) as caught:
        sender_for(twilio).send(MESSAGE, "t-4")

    assert type(caught.value) is kind
    assert caught.value.reason == reason
    assert caught.value.detail.startswith(code)
    assert providers.sent() == []
    assert providers.attempts == [("WHATSAPP", TO)]


def test_a_fault_on_a_bare_number_applies_to_its_whatsapp_address(twilio, providers):
    providers.add_fault(Fault(channel="WHATSAPP", error="reject", address="+16048621234"))

    with pytest.raises(PermanentError):
        sender_for(twilio).send(MESSAGE, "t-5")


def test_an_unreachable_api_is_transient():
    closed = TwilioWhatsAppSender(lambda: ACCOUNT, f"http://127.0.0.1:{free_port()}", None)

    with pytest.raises(TransientError) as caught:
        closed.send(MESSAGE, "t-6")

    assert caught.value.reason == PROVIDER_UNAVAILABLE


def test_wrong_credentials_are_left_unclassified_for_the_dead_letter_queue(twilio, providers):
    wrong = TwilioAccount(ACCOUNT.account_sid, "not-the-token")

    with pytest.raises(TwilioRestException) as caught:
        sender_for(twilio, account=wrong).send(MESSAGE, "t-7")

    assert (caught.value.status, caught.value.code) == (401, 20003)
    assert providers.sent() == []


def test_rotated_credentials_are_used_on_the_next_send(twilio, providers):
    accounts = [TwilioAccount(ACCOUNT.account_sid, "old-token"), ACCOUNT]
    sender = TwilioWhatsAppSender(lambda: accounts[0], twilio.url, None)
    with pytest.raises(TwilioRestException):
        sender.send(MESSAGE, "t-8")

    accounts.pop(0)  # the secret was rotated and Powertools' cache expired
    sender.send(MESSAGE, "t-8")

    assert len(providers.sent()) == 1


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("https://x/webhook", "https://x/webhook?TraceId=a%2Fb%2Bc", id="no-query"),
        pytest.param("https://x/w?k=v", "https://x/w?k=v&TraceId=a%2Fb%2Bc", id="with-query"),
    ],
)
def test_the_trace_id_is_added_to_the_callback_query(url, expected):
    assert with_query(url, TraceId="a/b+c") == expected


# ---------------------------------------------------------------- the secret


def put_secret(session, name: str, value: object) -> None:
    session.client("secretsmanager").create_secret(Name=name, SecretString=json.dumps(value))


def test_the_secret_json_gives_the_account(mocked_aws):
    put_secret(mocked_aws, "s-1", {"AccountSid": "AC1", "AuthToken": "t1"})

    assert TwilioSecret("s-1", max_age=300)() == TwilioAccount("AC1", "t1")


def test_a_rotated_secret_is_read_once_its_cache_expires(mocked_aws):
    put_secret(mocked_aws, "s-2", {"AccountSid": "AC1", "AuthToken": "t1"})
    secret = TwilioSecret("s-2", max_age=0)
    secret()

    mocked_aws.client("secretsmanager").put_secret_value(
        SecretId="s-2", SecretString=json.dumps({"AccountSid": "AC1", "AuthToken": "t2"})
    )

    assert secret().auth_token == "t2"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"AccountSid": "", "AuthToken": ""}, id="deployed-without-credentials"),
        pytest.param({"AccountSid": "AC1"}, id="no-token"),
        pytest.param(["AC1", "t1"], id="not-an-object"),
    ],
)
def test_a_secret_without_credentials_is_a_configuration_error(mocked_aws, value, request):
    name = f"s-{request.node.callspec.id}"
    put_secret(mocked_aws, name, value)

    with pytest.raises(RuntimeError, match="needs a non-empty AccountSid and AuthToken"):
        TwilioSecret(name, max_age=300)()


# ---------------------------------------------------------------- Twilio's error codes
@pytest.mark.parametrize(
    ("status", "code", "reason"),
    [
        pytest.param(429, 20429, THROTTLED, id="too-many-requests"),
        pytest.param(429, None, THROTTLED, id="429-without-a-code"),
        pytest.param(400, 63018, THROTTLED, id="whatsapp-sender-rate-limit"),
        pytest.param(500, 20500, PROVIDER_UNAVAILABLE, id="internal-error"),
        pytest.param(503, 20503, PROVIDER_UNAVAILABLE, id="service-unavailable"),
        pytest.param(502, None, PROVIDER_UNAVAILABLE, id="bad-gateway"),
    ],
)
def test_twilio_throttling_and_outages_are_transient(status, code, reason) -> None:
    error = classify_twilio_error(status, code, "slow down")

    assert type(error) is TransientError
    assert error.reason == reason
    assert error.detail == f"Twilio {code or status}: slow down"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        pytest.param(21211, INVALID_ADDRESS, id="invalid-to-number"),
        pytest.param(21614, INVALID_ADDRESS, id="not-a-mobile-number"),
        pytest.param(63003, INVALID_ADDRESS, id="not-on-whatsapp"),
        pytest.param(63024, INVALID_ADDRESS, id="invalid-recipient"),
        pytest.param(21610, OPTED_OUT, id="unsubscribed-recipient"),
        pytest.param(63016, OUTSIDE_SESSION_WINDOW, id="outside-24-hour-window"),
        pytest.param(21408, PROVIDER_REJECTED, id="region-not-enabled"),
        pytest.param(21606, PROVIDER_REJECTED, id="from-not-a-sender"),
        pytest.param(21617, PROVIDER_REJECTED, id="body-too-long"),
        pytest.param(21656, PROVIDER_REJECTED, id="content-variables-invalid"),
        pytest.param(63007, PROVIDER_REJECTED, id="no-whatsapp-sender"),
        pytest.param(63027, PROVIDER_REJECTED, id="template-language-missing"),
        pytest.param(63032, PROVIDER_REJECTED, id="whatsapp-limitation"),
    ],
)
def test_twilio_rejections_are_permanent(code, reason) -> None:
    error = classify_twilio_error(400, code, "no")

    assert type(error) is PermanentError
    assert error.reason == reason
    assert error.detail == f"Twilio {code}: no"


@pytest.mark.parametrize(
    ("status", "code"),
    [
        pytest.param(401, 20003, id="authentication-failed"),
        pytest.param(404, 20404, id="account-not-found"),
        pytest.param(400, 12345, id="unknown-code"),
    ],
)
def test_an_unknown_or_configuration_twilio_error_is_left_unclassified(status, code) -> None:
    assert classify_twilio_error(status, code, "check the account") is None
