"""`messaging token`, `send` and `cancel`: the stack's API as a client application sees it."""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import requests
from botocore.exceptions import BotoCoreError, ClientError

from cli.errors import CommandError
from cli.output import to_json
from cli.target import Context, Target
from notify.domain.tenants import InvalidTenant, owner
from notify.domain.tokens import mint_token

CLI_SUBJECT = "messaging-cli"
SEND_TOKEN_TTL = 300  # one request: a short-lived token is enough
# API Gateway's words for an object over its model's maxProperties (validationErrorString).
_TOO_MANY_PROPERTIES = re.compile(
    r"object has too many properties \(found (\d+) but schema requires at most (\d+)\)"
)


@dataclass(frozen=True)
class Identity:
    """Who the CLI calls the API as: the claims of the short-lived tokens it mints."""

    sub: str
    email: str | None = None
    customer_id: str | None = None

    @property
    def tenant(self) -> str:
        """The tenant the API derives from such a token (notify/domain/tenants.py)."""
        return owner(self.sub, self.customer_id)

    def token(self, secret: str, ttl_seconds: int = SEND_TOKEN_TTL) -> str:
        return mint_token(secret, self.sub, self.email, self.customer_id, ttl_seconds=ttl_seconds)


# Against the local stack the CLI is the banner's token of `make run` (emulator/__main__.py
# mints it from this), so what either sends the other can read and cancel: one tenant.
LOCAL_IDENTITY = Identity("local-user", "dev@example.com", "local-customer")
DEPLOYED_IDENTITY = Identity(CLI_SUBJECT)
IDENTITY_HELP = (
    "Without --sub and --customer-id the token has the claims of the one `make run`'s "
    f"banner prints (tenant {LOCAL_IDENTITY.tenant}) locally, and sub {CLI_SUBJECT} "
    f"(tenant {DEPLOYED_IDENTITY.tenant}) for a deployed stack."
)


def identity(target: Target, args: argparse.Namespace) -> Identity:
    """Exactly the claims --sub / --customer-id give, else the target's default identity."""
    sub, customer_id = getattr(args, "sub", None), getattr(args, "customer_id", None)
    if sub or customer_id:
        chosen = Identity(sub or CLI_SUBJECT, customer_id=customer_id)
    else:
        chosen = LOCAL_IDENTITY if target.is_local else DEPLOYED_IDENTITY
    try:
        owner(chosen.sub, chosen.customer_id)  # both ids checked, as the API checks them
    except InvalidTenant as exc:
        raise CommandError(f"the API would refuse this token: {exc}") from exc
    return chosen


def token(args: argparse.Namespace, ctx: Context) -> int:
    secret = _token_secret(ctx)
    print(
        mint_token(
            secret,
            args.user_id,
            args.email,
            args.customer_id,
            ttl_seconds=args.ttl,
            test=args.test,
        )
    )
    return 0


def _token_secret(ctx: Context) -> str:
    if ctx.stack:
        # The secret's name follows from the stack's name (see JwtSecretName in
        # template.yaml), so a token needs nothing but secretsmanager:GetSecretValue.
        return read_secret(boto3.client("secretsmanager"), f"{ctx.stack}-jwt-secret")
    target = ctx.target()
    return read_secret(target.client("secretsmanager"), target.jwt_secret_name)


def read_secret(secretsmanager: Any, secret_id: str) -> str:
    try:
        return secretsmanager.get_secret_value(SecretId=secret_id)["SecretString"]
    except (BotoCoreError, ClientError) as exc:
        raise CommandError(f"cannot read the JWT secret {secret_id}: {exc}") from exc


def send(args: argparse.Namespace, ctx: Context) -> int:
    """POST the request; on 202 say its TraceId, its tenant and the command that follows it."""
    payload = read_json(args.file)
    target = ctx.target()
    caller = identity(target, args)
    response = post(target, payload, _bearer(target, caller))
    answer = _answer(response)
    accepted = 200 <= response.status_code < 300
    trace_id = payload.get("TraceId") if isinstance(payload, dict) else None
    follow: dict[str, str] = {}
    if accepted and isinstance(trace_id, str):
        follow = {
            "TraceId": trace_id,
            "Tenant": caller.tenant,
            "Next": f"messaging trace {shlex.quote(trace_id)}",
        }
    if args.json:
        body = answer if isinstance(answer, dict) else {"Body": answer}
        print(to_json({"StatusCode": response.status_code, **body, **follow}))
    else:
        print(f"{response.status_code} {response.reason}")
        print(answer if isinstance(answer, str) else json.dumps(answer, indent=2))
        if follow:
            print(f"TraceId {follow['TraceId']}, tenant {follow['Tenant']}")
            print(f"follow it: {follow['Next']}")
    if not accepted and (hint := refusal_hint(payload, answer)):
        print(f"messaging: {hint}", file=sys.stderr)
    return 0 if accepted else 1


def refusal_hint(payload: Any, answer: Any) -> str | None:
    """Plain words for a 400 whose validator message names no field: an object too large."""
    reason = answer.get("reason") if isinstance(answer, dict) else None
    match = _TOO_MANY_PROPERTIES.search(reason if isinstance(reason, str) else "")
    if match is None:
        return None
    found, limit = (int(n) for n in match.groups())
    addresses = payload.get("Addresses") if isinstance(payload, dict) else None
    if isinstance(addresses, dict) and len(addresses) == found:
        return (
            f"Addresses holds {found} recipients; a request takes at most {limit}: "
            "split them into several requests (docs/api.md#limits)"
        )
    path = next(_objects_of_size(payload, found, ""), None)
    if path is None:
        return None
    return f"{path} holds {found} entries; at most {limit} are allowed (docs/api.md#limits)"


def _objects_of_size(value: Any, size: int, path: str) -> Any:
    """The paths of the JSON objects in `value` that have `size` keys, in document order."""
    if isinstance(value, dict):
        if len(value) == size and path:
            yield path
        for key, item in value.items():
            yield from _objects_of_size(item, size, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _objects_of_size(item, size, f"{path}[{index}]")


def cancel(args: argparse.Namespace, ctx: Context) -> int:
    """DELETE /messages/{TraceId} as the token's tenant: what was cancelled, what was sent."""
    target = ctx.target()
    url = target.output("ApiUrl").rstrip("/") + "/messages/" + quote(args.trace_id, safe="")
    headers = {"Authorization": f"Bearer {_bearer(target, identity(target, args))}"}
    try:
        response = requests.delete(url, headers=headers, timeout=30)
    except requests.RequestException as exc:
        raise CommandError(f"cannot reach the API at {url}: {type(exc).__name__}") from exc
    print(f"{response.status_code} {response.reason}")
    answer = _answer(response)
    print(answer if isinstance(answer, str) else json.dumps(answer, indent=2))
    return 0 if response.status_code == 200 else 1


def _bearer(target: Target, caller: Identity) -> str:
    return caller.token(read_secret(target.client("secretsmanager"), target.jwt_secret_name))


def _answer(response: requests.Response) -> Any:
    """The answer's JSON, or its text when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return response.text


def post(target: Target, payload: Any, bearer: str) -> requests.Response:
    url = target.output("ApiUrl")
    headers = {
        "Authorization": f"Bearer {bearer}",
        "x-api-key": target.api_key(),
        "Content-Type": "application/json",
    }
    try:
        return requests.post(url, data=json.dumps(payload), headers=headers, timeout=30)
    except requests.RequestException as exc:
        raise CommandError(f"cannot reach the API at {url}: {type(exc).__name__}") from exc


def read_text(source: str) -> str:
    """A file's text, or standard input for '-'."""
    if source == "-":
        return sys.stdin.read()
    try:
        return Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise CommandError(f"cannot read {source}: {reason}") from exc


def read_json(source: str) -> Any:
    text = read_text(source)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        name = "standard input" if source == "-" else source
        raise CommandError(f"{name} is not valid JSON: {exc}") from exc


def api_answer(response: requests.Response, expected: int) -> Any:
    """The answer's JSON body; a status other than `expected` is the API's reason, raised."""
    try:
        body = response.json() if response.content else {}
    except ValueError:
        body = {}
    if response.status_code != expected:
        reason = body.get("reason") or body.get("message") if isinstance(body, dict) else None
        raise CommandError(f"HTTP {response.status_code}: {reason or response.text[:200]}")
    return body
