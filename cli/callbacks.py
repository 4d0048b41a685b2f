"""`messaging callbacks set|get|delete`: the token's tenant's callback, through the API.

Like `messaging send`, each command calls the stack's API (PUT, GET, DELETE /callbacks)
with a short-lived token minted for `--sub` / `--customer-id`, so the tenant is the one
the API derives from that token (functions/notify/domain/tenants.py), and the URL is
checked as the API checks it. Without `--secret`, a random one is made and printed once.
"""

from __future__ import annotations

import argparse
import json
import secrets
from typing import Any

import requests

from cli.api import CLI_SUBJECT, SEND_TOKEN_TTL, read_secret
from cli.errors import CommandError
from cli.target import Context, Target
from notify.domain.tokens import mint_token

SECRET_BYTES = 32  # 43 URL-safe characters, above the API's 32-character minimum


def set_callback(args: argparse.Namespace, ctx: Context) -> int:
    secret = args.secret or secrets.token_urlsafe(SECRET_BYTES)
    response = _call(ctx.target(), "PUT", args, {"Url": args.url, "Secret": secret})
    body = _answer(response, 200)
    print(f"callback of {_tenant(args)}: {body['Url']}")
    if not args.secret:
        print(f"signing secret (shown once, keep it): {secret}")
    return 0


def get_callback(args: argparse.Namespace, ctx: Context) -> int:
    body = _answer(_call(ctx.target(), "GET", args), 200)
    print(json.dumps(body, indent=2) if args.json else f"{body['Url']} (since {body['UpdatedAt']})")
    return 0


def delete_callback(args: argparse.Namespace, ctx: Context) -> int:
    _answer(_call(ctx.target(), "DELETE", args), 204)
    print(f"deleted the callback of {_tenant(args)}; its events are dropped from now on")
    return 0


def _tenant(args: argparse.Namespace) -> str:
    return f"customer:{args.customer_id}" if args.customer_id else f"user:{args.sub or CLI_SUBJECT}"


def _call(
    target: Target, method: str, args: argparse.Namespace, body: Any = None
) -> requests.Response:
    secret = read_secret(target.client("secretsmanager"), target.jwt_secret_name)
    token = mint_token(
        secret, args.sub or CLI_SUBJECT, customer_id=args.customer_id, ttl_seconds=SEND_TOKEN_TTL
    )
    url = target.output("ApiUrl").rstrip("/") + "/callbacks"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    data = None if body is None else json.dumps(body)
    try:
        return requests.request(method, url, data=data, headers=headers, timeout=30)
    except requests.RequestException as exc:
        raise CommandError(f"cannot reach the API at {url}: {type(exc).__name__}") from exc


def _answer(response: requests.Response, expected: int) -> dict[str, Any]:
    try:
        body = response.json() if response.content else {}
    except ValueError:
        body = {}
    if response.status_code != expected:
        reason = body.get("reason") or body.get("message") if isinstance(body, dict) else None
        raise CommandError(f"HTTP {response.status_code}: {reason or response.text[:200]}")
    return body
