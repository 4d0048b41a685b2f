"""`messaging`: operate a messaging stack, in AWS or local.

    messaging token USER_ID [EMAIL] [CUSTOMER_ID] [--stack NAME] [--ttl SECONDS]

The JWT secret is read from Secrets Manager (`<stack>-jwt-secret`), with the usual AWS
configuration; point it at the local stack with AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import argparse
import sys

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from notify.domain.tokens import mint_token


class CommandError(Exception):
    """A failure the user can act on, printed as one line."""


def _token(args: argparse.Namespace) -> str:
    secret_id = f"{args.stack}-jwt-secret"
    try:
        response = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)
    except (BotoCoreError, ClientError) as exc:
        raise CommandError(f"cannot read the JWT secret {secret_id}: {exc}") from exc
    secret = response["SecretString"]
    return mint_token(secret, args.user_id, args.email, args.customer_id, ttl_seconds=args.ttl)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="messaging", description=__doc__.split("\n")[0])
    commands = root.add_subparsers(dest="command", required=True)
    token = commands.add_parser("token", help="mint a JWT for the stack's API")
    token.add_argument("user_id", help="the token's sub claim")
    token.add_argument("email", nargs="?", help="optional email claim")
    token.add_argument("customer_id", nargs="?", help="optional customer_id claim (the tenant)")
    token.add_argument("--stack", default="messaging", help="stack name (default: messaging)")
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default 3600)")
    token.set_defaults(run=_token)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        print(args.run(args))
    except CommandError as exc:
        print(f"messaging: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
