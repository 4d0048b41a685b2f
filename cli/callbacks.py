"""`messaging callbacks set|get|delete`: the token's tenant's callback, through the API.

Like `messaging send`, each command calls the stack's API (PUT, GET, DELETE /callbacks)
with a short-lived token minted for `--sub` / `--customer-id` (else the CLI's default
identity: locally the banner's tenant), so the tenant is the one the API derives from that
token (functions/notify/domain/tenants.py), and the URL is checked as the API checks it.
Without `--secret`, a random one is made and printed once.
"""

from __future__ import annotations

import argparse
import json
import secrets
from typing import Any

import requests

from cli.api import api_answer, identity, read_secret
from cli.errors import CommandError
from cli.target import Context, Target

SECRET_BYTES = 32  # 43 URL-safe characters, above the API's 32-character minimum


def set_callback(args: argparse.Namespace, ctx: Context) -> int:
    secret = args.secret or secrets.token_urlsafe(SECRET_BYTES)
    target = ctx.target()
    response = _call(target, "PUT", args, {"Url": args.url, "Secret": secret})
    body = api_answer(response, 200)
    print(f"callback of {identity(target, args).tenant}: {body['Url']}")
    if not args.secret:
        print(f"signing secret (shown once, keep it): {secret}")
    return 0


def get_callback(args: argparse.Namespace, ctx: Context) -> int:
    body = api_answer(_call(ctx.target(), "GET", args), 200)
    print(json.dumps(body, indent=2) if args.json else f"{body['Url']} (since {body['UpdatedAt']})")
    return 0


def delete_callback(args: argparse.Namespace, ctx: Context) -> int:
    target = ctx.target()
    api_answer(_call(target, "DELETE", args), 204)
    print(
        f"deleted the callback of {identity(target, args).tenant}; "
        "its events are dropped from now on"
    )
    return 0


def _call(
    target: Target, method: str, args: argparse.Namespace, body: Any = None
) -> requests.Response:
    token = identity(target, args).token(
        read_secret(target.client("secretsmanager"), target.jwt_secret_name)
    )
    url = target.output("ApiUrl").rstrip("/") + "/callbacks"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    data = None if body is None else json.dumps(body)
    try:
        return requests.request(method, url, data=data, headers=headers, timeout=30)
    except requests.RequestException as exc:
        raise CommandError(f"cannot reach the API at {url}: {type(exc).__name__}") from exc
