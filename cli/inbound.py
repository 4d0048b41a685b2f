"""`messaging inbound`: deliver a message to the stack's webhook as Twilio would.

The request is form-encoded and signed with the AuthToken of the stack's Twilio secret,
so it passes the webhook's signature check: a STOP, START, HELP or any reply can be
tried against the local stack (where no phone can reach it) or a deployed one.
"""

from __future__ import annotations

import argparse
import json
import uuid

import requests
from twilio.request_validator import RequestValidator

from cli.errors import CommandError
from cli.target import Context, Target
from notify.domain.addresses import WHATSAPP_PREFIX

SANDBOX_NUMBER = "+14155238886"  # Twilio's WhatsApp sandbox


def run(args: argparse.Namespace, ctx: Context) -> int:
    target = ctx.target()
    url = target.output("WebhookUrl")
    account_sid, auth_token = _account(target)
    params = inbound_params(args.sender, args.body, args.to, account_sid)
    signature = RequestValidator(auth_token).compute_signature(url, params)
    try:
        response = requests.post(
            url, data=params, headers={"X-Twilio-Signature": signature}, timeout=30
        )
    except requests.RequestException as exc:
        raise CommandError(f"cannot reach the webhook at {url}: {type(exc).__name__}") from exc
    print(f"{response.status_code} {response.reason} {params['MessageSid']}")
    print(response.text)
    return 0 if response.ok else 1


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


def _account(target: Target) -> tuple[str, str]:
    name = target.output("TwilioSecretName")
    try:
        secret = json.loads(
            target.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]
        )
        return secret["AccountSid"], secret["AuthToken"]
    except (ValueError, KeyError, TypeError) as exc:
        raise CommandError(f"the secret {name} is not a JSON AccountSid/AuthToken") from exc
