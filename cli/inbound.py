"""`messaging inbound`: deliver a message to the stack's webhook as Twilio would, then say
what the stack did with it.

The request is form-encoded and signed with the AuthToken of the stack's Twilio secret,
so it passes the webhook's signature check: a STOP, START, HELP or any reply can be
tried against the local stack (where no phone can reach it) or a deployed one.

The webhook only queues the message and answers empty TwiML; `InboundFunction` acts on it
a moment later. So the command reads what it can once the webhook has answered: a STOP's
opt-out in the opt-outs table (a START's removal), and, on the local stack, a reply that is
no keyword as it is published on the inbound bus, through a rule and a queue of the
command's own for its duration. A HELP is answered through Twilio (`make run` prints the
reply with the messages sent).
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from botocore.exceptions import BotoCoreError, ClientError
from twilio.request_validator import RequestValidator

from cli.errors import CommandError
from cli.target import Context, Target
from notify.domain.addresses import WHATSAPP_PREFIX
from notify.domain.inbound import HELP, OPT_IN, OPT_OUT, classify_keyword, opted_out_together
from notify.domain.provider_events import sender_channel
from notify.integration.inbound_events import DETAIL_TYPE, SOURCE

SANDBOX_NUMBER = "+14155238886"  # Twilio's WhatsApp sandbox
DEFAULT_TIMEOUT = 30.0  # seconds to wait for InboundFunction's work to show
POLL_EVERY = 0.2
T = TypeVar("T")


def run(args: argparse.Namespace, ctx: Context) -> int:
    target = ctx.target()
    url = target.output("WebhookUrl")
    account_sid, auth_token = _account(target)
    params = inbound_params(args.sender, args.body, args.to, account_sid)
    signature = RequestValidator(auth_token).compute_signature(url, params)
    keyword = classify_keyword(args.body)
    wait = None if args.no_wait else args.timeout
    # Only the local stack gets a rule of ours: a deployed account is not the CLI's to change.
    catch = (
        BusCatch.create(target, params["MessageSid"])
        if keyword is None and wait is not None and target.is_local
        else None
    )
    try:
        response = _post(url, params, signature)
        print(f"{response.status_code} {response.reason} {params['MessageSid']}")
        print(response.text, flush=True)
        if not response.ok:
            return 1
        print(what_happened(target, params, keyword, wait, catch))
    finally:
        if catch:
            catch.delete()
    return 0


def _post(url: str, params: dict[str, str], signature: str) -> requests.Response:
    try:
        return requests.post(
            url, data=params, headers={"X-Twilio-Signature": signature}, timeout=30
        )
    except requests.RequestException as exc:
        raise CommandError(f"cannot reach the webhook at {url}: {type(exc).__name__}") from exc


def inbound_params(sender: str, body: str, to: str | None, account_sid: str) -> dict[str, str]:
    """The parameters of Twilio's incoming-message webhook, on the sender's channel."""
    whatsapp = sender.startswith(WHATSAPP_PREFIX)
    if to is None:
        to = (WHATSAPP_PREFIX if whatsapp else "") + SANDBOX_NUMBER
    return {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": account_sid,
        "From": sender,
        "To": to,
        "Body": body,
        "NumMedia": "0",
    }


def what_happened(
    target: Target,
    params: dict[str, str],
    keyword: str | None,
    wait: float | None,
    catch: BusCatch | None = None,
) -> str:
    """One line: what InboundFunction did with the message, read back where it can be."""
    sender, to = params["From"], params["To"]
    if keyword == HELP:
        return f"HELP: the stack replies to {sender} from {to} with its HelpReplyText (Twilio)"
    if keyword in (OPT_OUT, OPT_IN):
        return _opt_out_line(target, sender, keyword, wait)
    bus = target.output("InboundEventBusName")
    if catch is None:
        return (
            f"not a keyword: InboundFunction publishes it on the bus {bus} "
            f"({SOURCE} / {DETAIL_TYPE}) for the applications' rules"
        )
    detail = json.dumps(catch.wait(DEFAULT_TIMEOUT if wait is None else wait), ensure_ascii=False)
    return f"not a keyword: published on the bus {bus} ({SOURCE} / {DETAIL_TYPE}): {detail}"


def _opt_out_line(target: Target, sender: str, keyword: str, wait: float | None) -> str:
    address, channel = sender_channel(sender)
    channels = opted_out_together(channel)
    names = " and ".join(channels)
    table = target.output("OptOutsTableName")
    if wait is None:
        change = "stores" if keyword == OPT_OUT else "removes"
        return (
            f"a keyword: InboundFunction {change} the opt-out of {address} from {names} ({table})"
        )
    dynamodb = target.client("dynamodb")

    def item(channel: str) -> dict[str, Any] | None:
        key = {"Address": {"S": address}, "Channel": {"S": channel}}
        return dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")

    if keyword == OPT_OUT:
        found = {
            c: poll(lambda c=c: item(c), wait, f"no opt-out of {address} from {c} in {table}")
            for c in channels
        }
        stored = found[channel] if channel in found else next(iter(found.values()))
        return (
            f"opt-out stored: {address} no longer receives {names} messages from any "
            f"sender of this stack ({stored['Keyword']['S']} at {stored['OptedOutAt']['S']}; "
            "START opts back in)"
        )
    for c in channels:
        poll(
            lambda c=c: item(c) is None, wait, f"the opt-out of {address} from {c} still in {table}"
        )
    return f"no opt-out stored: {address} receives {names} messages from this stack"


def poll(
    check: Callable[[], T | None],
    timeout: float,
    last_seen: str,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """`check`'s first truthy answer; a CommandError saying what was seen at the deadline."""
    deadline = clock() + timeout
    while True:
        answer = check()
        if answer:
            return answer
        if clock() >= deadline:
            raise CommandError(
                f"the webhook queued it, but after {timeout:g} s {last_seen} (is the "
                "inbound queue behind, or did its record fail? see the inbound DLQ)"
            )
        sleep(POLL_EVERY)


@dataclass
class BusCatch:
    """A rule of the command's own on the inbound bus, into a queue of its own, for one
    MessageSid: what an application's rule would receive."""

    events: Any
    sqs: Any
    bus: str
    name: str
    queue_url: str

    @classmethod
    def create(cls, target: Target, message_sid: str) -> BusCatch:
        bus = target.output("InboundEventBusName")
        name = f"messaging-cli-inbound-{message_sid[-12:]}"
        sqs, events = target.client("sqs"), target.client("events")
        queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
        catch = cls(events, sqs, bus, name, queue_url)
        try:
            arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
            pattern = {
                "source": [SOURCE],
                "detail-type": [DETAIL_TYPE],
                "detail": {"MessageSid": [message_sid]},
            }
            events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern))
            events.put_targets(
                Rule=name,
                EventBusName=bus,
                Targets=[{"Id": "messaging-cli", "Arn": arn["Attributes"]["QueueArn"]}],
            )
        except (BotoCoreError, ClientError):
            catch.delete()
            raise
        return catch

    def wait(self, timeout: float) -> dict[str, Any]:
        """The event's detail, as soon as the rule delivered it."""
        return poll(self._receive, timeout, f"nothing published on {self.bus}")

    def _receive(self) -> dict[str, Any] | None:
        messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=1)
        for message in messages.get("Messages", []):
            return json.loads(message["Body"])["detail"]
        return None

    def delete(self) -> None:
        """Best effort: the rule's target, the rule, the queue."""
        steps = (
            lambda: self.events.remove_targets(
                Rule=self.name, EventBusName=self.bus, Ids=["messaging-cli"]
            ),
            lambda: self.events.delete_rule(Name=self.name, EventBusName=self.bus),
            lambda: self.sqs.delete_queue(QueueUrl=self.queue_url),
        )
        for step in steps:
            with suppress(BotoCoreError, ClientError):
                step()


def _account(target: Target) -> tuple[str, str]:
    name = target.output("TwilioSecretName")
    try:
        secret = json.loads(
            target.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]
        )
        return secret["AccountSid"], secret["AuthToken"]
    except (ValueError, KeyError, TypeError) as exc:
        raise CommandError(f"the secret {name} is not a JSON AccountSid/AuthToken") from exc
