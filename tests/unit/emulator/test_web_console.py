"""The web console without a browser: its outbox page and live updates over WSGI, the trace
timeline, the forms' guard and meaning, the template preview's inputs."""

from __future__ import annotations

import pytest
from werkzeug.test import Client, EnvironBuilder
from werkzeug.wrappers import Request

from emulator.providers import Providers, SentMessage
from emulator.web_console import WebConsole
from emulator.web_console.forms import fault_args, refuse_foreign
from emulator.web_console.outbox import OutboxFilter, message_view, newest_first
from emulator.web_console.preview import parse_substitutions, placeholders
from emulator.web_console.traces import timeline

PORT = 3999
HOST = f"127.0.0.1:{PORT}"
INFO = {"StackName": "messaging", "ApiUrl": f"http://{HOST}/", "Endpoint": "http://127.0.0.1:1"}


def email(to: str = "user@example.com", trace: str = "t-1", **fields: str) -> SentMessage:
    defaults = {"subject": "Hi", "text": "Hello", "html": "<p>Hello</p>"}
    return SentMessage("EMAIL", to, "alerts@example.com", None, trace_id=trace, **defaults | fields)


def sms(body: str, to: str = "+16048621234", trace: str = "t-2") -> SentMessage:
    return SentMessage("SMS", to, "pool-1", body, trace_id=trace)


@pytest.fixture
def providers() -> Providers:
    return Providers()


@pytest.fixture
def client(providers) -> Client:
    """The console as the local stack's server calls it: a werkzeug Request in, a Response out."""
    app = WebConsole(providers, INFO)
    return Client(lambda environ, start: app(Request(environ))(environ, start))


def get(client: Client, path: str, **kwargs):
    return client.get(path, headers={"Host": HOST}, **kwargs)


def test_the_outbox_lists_the_newest_first_with_the_emails_html_escaped_in_a_sandbox(
    client, providers
):
    providers.record(email(html='<p title="x">Hi</p><script>alert(1)</script>'))
    providers.record(sms("Your code is 1234"))

    page = get(client, "/_console/").get_data(as_text=True)

    assert page.index('data-channel="SMS"') < page.index('data-channel="EMAIL"')
    assert (
        'sandbox="" srcdoc="&lt;p title=&#34;x&#34;&gt;Hi&lt;/p&gt;'
        "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    )
    assert "<script>alert(1)" not in page
    assert "1 segment · GSM-7 · 17 characters" in page


def test_the_live_update_sends_only_what_came_after_the_pages_count(client, providers):
    providers.record(email(trace="old"))
    providers.record(email(trace="new-1"))
    providers.record(sms("later", trace="new-2"))

    answer = get(client, "/_console/outbox/new?after=1&channel=EMAIL")

    assert answer.headers["X-Outbox-Size"] == "3"
    assert 'data-trace="new-1"' in answer.get_data(as_text=True)
    assert 'data-trace="old"' not in answer.get_data(as_text=True)
    assert 'data-trace="new-2"' not in answer.get_data(as_text=True)


def test_the_console_answers_only_its_own_host(client):
    assert client.get("/_console/", headers={"Host": f"rebound.example:{PORT}"}).status_code == 403
    assert get(client, "/_console").status_code == 308  # to /_console/
    assert get(client, "/_console/nowhere").status_code == 404


@pytest.mark.parametrize(
    ("method", "origin", "refused"),
    [
        ("POST", "http://evil.example", True),
        ("POST", f"http://{HOST}", False),
        ("POST", None, False),
        ("GET", "http://evil.example", False),
    ],
    ids=["foreign-post", "own-post", "post-without-origin", "get"],
)
def test_a_form_of_another_site_cannot_change_the_stack(method, origin, refused):
    headers = {"Host": HOST} | ({"Origin": origin} if origin else {})
    request = EnvironBuilder(path="/_console/faults/clear", method=method, headers=headers)

    assert bool(refuse_foreign(request.get_request(), PORT)) is refused


@pytest.mark.parametrize(
    ("keep", "shown"),
    [
        (OutboxFilter(channel="SMS"), ["t-2"]),
        (OutboxFilter(address="EXAMPLE.com"), ["t-1"]),
        (OutboxFilter(address="pool"), ["t-2"]),
        (OutboxFilter(trace="t-1"), ["t-1"]),
        (OutboxFilter(trace="t"), []),
        (OutboxFilter(), ["t-2", "t-1"]),
    ],
    ids=["channel", "recipient-any-case", "sender", "trace", "trace-is-exact", "none"],
)
def test_filters_keep_what_they_name(keep, shown):
    messages = [email(), sms("hi")]

    assert [m.trace_id for m in newest_first(messages, 0, keep)] == shown


def test_an_sms_in_ucs2_shows_its_segments():
    view = message_view(sms("Olá 😀 " * 12))

    assert (view["segments"].encoding, view["segments"].segments) == ("UCS-2", 2)
    assert view["conversation"] is True
    assert "segments" not in message_view(email())


RECIPIENT = {
    "ChannelType": "EMAIL",
    "Address": "a@example.com",
    "Status": "FAILED",
    "Attempts": 5,
    "FirstAttemptAt": "2026-01-01T10:00:01+00:00",
    "LastAttemptAt": "2026-01-01T10:00:09+00:00",
    "Error": "TransientError",
    "Reason": "ProviderUnavailable: injected 5xx",
    "UpdatedAt": "2026-01-01T10:00:10+00:00",
    "FallbackFor": None,
}


def state(recipient: str, errors: list[str]) -> dict:
    return {"State": "Send", "Type": "Task", "Depth": 1, "Errors": errors, "Recipient": recipient}


def test_a_failed_recipients_timeline_has_its_attempts_and_only_its_own_errors():
    executions = [
        {
            "States": [
                state("EMAIL#a@example.com", ["TransientError"] * 4),
                state("EMAIL#b@example.com", ["PermanentError"]),
            ]
        }
    ]

    steps = timeline(RECIPIENT, "2026-01-01T10:00:00+00:00", executions)

    assert [(s.label, s.detail) for s in steps] == [
        ("queued", ""),
        ("attempt 1", ""),
        ("attempt 5", ""),
        ("errors", "TransientError x4"),
        ("FAILED", "TransientError: ProviderUnavailable: injected 5xx"),
    ]


def test_a_fallback_sent_and_delivered_says_whom_it_stands_in_for():
    recipient = RECIPIENT | {
        "ChannelType": "SMS",
        "Address": "+16048621234",
        "Status": "SENT",
        "Attempts": 1,
        "ProviderMessageId": "sms-1",
        "SentAt": "2026-01-01T10:00:02+00:00",
        "DeliveryStatus": "delivered",
        "DeliveryUpdatedAt": "2026-01-01T10:00:03+00:00",
        "FallbackFor": "whatsapp:+16048621234",
    }

    labels = [(s.label, s.detail, s.tone) for s in timeline(recipient, None, [])]

    assert labels == [
        ("queued", "", ""),
        ("fallback", "tried instead of whatsapp:+16048621234", ""),
        ("attempt 1", "", ""),
        ("SENT", "sms-1", "good"),
        ("DELIVERED", "reported by the provider", "good"),
    ]


def test_the_faults_form_means_what_faults_add_means():
    error = fault_args({"kind": "error", "channel": "SMS", "error": "5xx", "rate": "0.5"})
    quota = fault_args({"kind": "quota", "channel": "EMAIL", "error": "5xx", "quota": "20"})

    assert (error.channel, error.error, error.rate, error.quota, error.address) == (
        "SMS",
        "5xx",
        0.5,
        None,
        None,
    )
    assert (quota.error, quota.quota, quota.rate, quota.times, quota.seconds) == (
        None,
        20,
        1.0,
        None,
        0.0,
    )
    with pytest.raises(ValueError, match="times: 'x' is not a number"):
        fault_args({"kind": "error", "times": "x"})


def test_a_templates_placeholders_come_once_each_in_order_and_samples_parse():
    item = {"Subject": "Hi {name}", "HtmlBody": "<p>{name}, {code}</p>", "TextBody": "{code}"}

    assert placeholders(item) == ["name", "code"]
    assert parse_substitutions("name = Jane\ncode=12=34\nnot a pair\n") == {
        "name": "Jane",
        "code": "12=34",
    }
