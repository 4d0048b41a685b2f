"""`messaging inbound`: Twilio's incoming-message webhook, signed, then what the stack did."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from twilio.request_validator import RequestValidator

from cli.errors import CommandError
from cli.inbound import inbound_params, poll
from cli.main import main
from cli.target import Context, Target
from notify.domain.inbound import InboundHandling
from notify.domain.provider_events import InboundMessage
from notify.integration.inbound_events import InboundEventPublisher
from notify.integration.opt_outs import OptOutStore

AUTH_TOKEN = "twilio-auth-token"
WEBHOOK = "http://api.test/webhook"
BUS = "test-inbound"
OPT_OUTS = "test-opt-outs"


@pytest.mark.parametrize(
    ("sender", "to"),
    [("whatsapp:+447835065013", "whatsapp:+14155238886"), ("+16048621234", "+14155238886")],
    ids=["whatsapp", "sms"],
)
def test_the_message_is_written_to_the_sandbox_number_on_the_senders_channel(sender, to):
    params = inbound_params(sender, "STOP", None, "AC123")

    assert (params["From"], params["To"], params["Body"]) == (sender, to, "STOP")
    assert params["AccountSid"] == "AC123"


def test_each_message_has_its_own_sid_and_a_chosen_number_is_kept():
    first = inbound_params("+16048621234", "hi", "+15005550006", "AC123")
    second = inbound_params("+16048621234", "hi", "+15005550006", "AC123")

    assert first["To"] == "+15005550006"
    assert first["MessageSid"] != second["MessageSid"]
    assert first["MessageSid"].startswith("SM")


class Stack:
    """Stands in for requests.post to the webhook: checks Twilio's signature, then does at
    once what WebhookFunction and InboundFunction do, with the real domain logic."""

    def __init__(self, session: Any) -> None:
        self.handling = InboundHandling(
            opt_outs=OptOutStore(session.client("dynamodb"), OPT_OUTS),
            statuses=None,  # type: ignore[arg-type]  # no delivery status here
            publisher=InboundEventPublisher(session.client("events"), BUS),
            replier=self,  # type: ignore[arg-type]
            help_text="Reply STOP to opt out.",
        )
        self.acts = True
        self.replies: list[tuple[str, str, str]] = []

    def reply(self, to: str, sender: str, body: str) -> str:
        self.replies.append((to, sender, body))
        return "SMreply"

    def __call__(self, url: str, data: dict[str, str], headers: dict[str, str], timeout: float):
        valid = RequestValidator(AUTH_TOKEN).validate(url, data, headers["X-Twilio-Signature"])
        if valid and self.acts:
            received_at = datetime.now(UTC).isoformat()
            self.handling.handle(
                InboundMessage(
                    data["MessageSid"], data["From"], data["To"], data["Body"], received_at
                )
            )
        return Answer(200 if valid else 403)


class Answer:
    def __init__(self, status: int) -> None:
        self.status_code, self.ok = status, status == 200
        self.reason = "OK" if self.ok else "Forbidden"
        self.text = '<?xml version="1.0" encoding="UTF-8"?><Response/>' if self.ok else ""


@pytest.fixture(scope="module")
def stack_resources(mocked_aws, table_from_template) -> None:
    mocked_aws.client("secretsmanager").create_secret(
        Name="test-twilio", SecretString=json.dumps({"AccountSid": "AC1", "AuthToken": AUTH_TOKEN})
    )
    table_from_template("OptOutsTable", OPT_OUTS)
    mocked_aws.client("events").create_event_bus(Name=BUS)


def target(session: Any, *, local: bool) -> Target:
    outputs = {
        "WebhookUrl": WEBHOOK,
        "TwilioSecretName": "test-twilio",
        "OptOutsTableName": OPT_OUTS,
        "InboundEventBusName": BUS,
    }
    return Target("test", session, outputs, local_url="http://local.test" if local else None)


@pytest.fixture
def stack(mocked_aws, stack_resources, monkeypatch) -> Stack:
    fake = Stack(mocked_aws)
    monkeypatch.setattr(requests, "post", fake)
    monkeypatch.setattr(Context, "target", lambda self: target(mocked_aws, local=True))
    return fake


def test_a_stop_says_which_number_is_opted_out_of_which_channel(stack, capsys):
    assert main(["inbound", "+16048621234", "STOP"]) == 0

    first, twiml, outcome = capsys.readouterr().out.splitlines()
    assert first.startswith("200 OK SM")
    assert twiml == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    assert outcome.startswith(
        "opt-out stored: +16048621234 no longer receives SMS and VOICE messages from any sender of "
        "this stack (STOP at "
    )
    assert outcome.endswith("; START opts back in)")


def test_a_start_says_the_number_receives_that_channel_again(stack, capsys):
    assert main(["inbound", "whatsapp:+447835065013", "stop"]) == 0
    capsys.readouterr()

    assert main(["inbound", "whatsapp:+447835065013", "START"]) == 0

    assert capsys.readouterr().out.splitlines()[-1] == (
        "no opt-out stored: +447835065013 receives WHATSAPP messages from this stack"
    )


def test_a_help_says_who_is_answered_from_which_number(stack, capsys):
    assert main(["inbound", "whatsapp:+447835065013", "HELP"]) == 0

    assert capsys.readouterr().out.splitlines()[-1] == (
        "HELP: the stack replies to whatsapp:+447835065013 from whatsapp:+14155238886 "
        "with its HelpReplyText (Twilio)"
    )
    assert stack.replies == [
        ("whatsapp:+447835065013", "whatsapp:+14155238886", "Reply STOP to opt out.")
    ]


def test_a_reply_locally_is_shown_as_published_on_the_inbound_bus(stack, mocked_aws, capsys):
    assert main(["inbound", "whatsapp:+447835065013", "REGISTER"]) == 0

    outcome = capsys.readouterr().out.splitlines()[-1]
    prefix = (
        "not a keyword: published on the bus test-inbound (messaging.inbound / InboundMessage): "
    )
    assert outcome.startswith(prefix)
    detail = json.loads(outcome.removeprefix(prefix))
    assert (detail["From"], detail["Body"], detail["Channel"]) == (
        "whatsapp:+447835065013",
        "REGISTER",
        "WHATSAPP",
    )
    # The command's own rule and queue are gone with it.
    assert mocked_aws.client("events").list_rules(EventBusName=BUS)["Rules"] == []
    assert "QueueUrls" not in mocked_aws.client("sqs").list_queues()


def test_a_reply_to_a_deployed_stack_is_described_and_nothing_is_created(
    stack, mocked_aws, monkeypatch, capsys
):
    monkeypatch.setattr(Context, "target", lambda self: target(mocked_aws, local=False))

    assert main(["inbound", "+16048621234", "See you Saturday"]) == 0

    assert capsys.readouterr().out.splitlines()[-1] == (
        "not a keyword: InboundFunction publishes it on the bus test-inbound "
        "(messaging.inbound / InboundMessage) for the applications' rules"
    )
    assert mocked_aws.client("events").list_rules(EventBusName=BUS)["Rules"] == []


def test_an_opt_out_that_never_shows_fails_in_one_line_saying_what_it_saw(stack, capsys):
    stack.acts = False  # queued, but the inbound function never runs

    assert main(["inbound", "+16048629999", "STOP", "--timeout", "0.3"]) == 1

    out, err = capsys.readouterr()
    assert out.startswith("200 OK SM")
    assert err == (
        "messaging: the webhook queued it, but after 0.3 s no opt-out of +16048629999 from SMS "
        "in test-opt-outs (is the inbound queue behind, or did its record fail? see the "
        "inbound DLQ)\n"
    )


def test_no_wait_says_what_the_keyword_does_without_reading(stack, capsys):
    stack.acts = False

    assert main(["inbound", "+16048628888", "STOP", "--no-wait"]) == 0

    assert capsys.readouterr().out.splitlines()[-1] == (
        "a keyword: InboundFunction stores the opt-out of +16048628888 from SMS and VOICE "
        "(test-opt-outs)"
    )


def test_polling_stops_at_its_deadline_with_the_last_state_seen():
    now = iter([0.0, 0.5, 1.0, 1.5])

    with pytest.raises(CommandError, match=r"after 1 s nothing yet"):
        poll(lambda: None, 1, "nothing yet", clock=lambda: next(now), sleep=lambda _: None)
