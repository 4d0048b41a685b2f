"""`messaging token` and `messaging send`: the stack's API as a client application sees it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import requests
from botocore.exceptions import BotoCoreError, ClientError

from cli.errors import CommandError
from cli.target import Context, Target
from notify.domain.tokens import mint_token

CLI_SUBJECT = "messaging-cli"
SEND_TOKEN_TTL = 300  # one request: a short-lived token is enough


def token(args: argparse.Namespace, ctx: Context) -> int:
    secret = _token_secret(ctx)
    print(mint_token(secret, args.user_id, args.email, args.customer_id, ttl_seconds=args.ttl))
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
    payload = read_json(args.file)
    target = ctx.target()
    response = post(target, payload, _send_token(target, args))
    print(f"{response.status_code} {response.reason}")
    try:
        print(json.dumps(response.json(), indent=2))
    except ValueError:
        print(response.text)
    return 0 if 200 <= response.status_code < 300 else 1


def cancel(args: argparse.Namespace, ctx: Context) -> int:
    """DELETE /messages/{TraceId} as the token's tenant: what was cancelled, what was sent."""
    target = ctx.target()
    url = target.output("ApiUrl").rstrip("/") + "/messages/" + quote(args.trace_id, safe="")
    headers = {"Authorization": f"Bearer {_send_token(target, args)}"}
    try:
        response = requests.delete(url, headers=headers, timeout=30)
    except requests.RequestException as exc:
        raise CommandError(f"cannot reach the API at {url}: {type(exc).__name__}") from exc
    print(f"{response.status_code} {response.reason}")
    try:
        print(json.dumps(response.json(), indent=2))
    except ValueError:
        print(response.text)
    return 0 if response.status_code == 200 else 1


def _send_token(target: Target, args: argparse.Namespace) -> str:
    secret = read_secret(target.client("secretsmanager"), target.jwt_secret_name)
    return mint_token(
        secret, args.sub or CLI_SUBJECT, customer_id=args.customer_id, ttl_seconds=SEND_TOKEN_TTL
    )


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
