"""Bearer tokens for the messaging API: verify, mint, and turn a caller into an IAM policy.

Tokens are HS256 JWTs signed with a shared secret and issued by `ISSUER`. PyJWT checks
the signature, the algorithm allow-list, the issuer and that the required claims are
present. The time claims (exp, nbf, iat) are checked here instead, because PyJWT reads
the wall clock itself and `verify_token` takes `now` so that tests and callers control it.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import exceptions as jwt_errors

from notify.domain import tenants
from notify.domain.test_keys import KEY_TYPE, KEY_TYPES, TEST

ISSUER = "messaging-api"
ALGORITHM = "HS256"
_REQUIRED_CLAIMS = ["iss", "sub", "exp", "iat"]

# PyJWT's own messages are not passed on: a fixed reason per failure is enough for
# an operator and cannot leak any part of the token into the logs. Subclasses come
# before their parents (InvalidSignatureError is a DecodeError).
_PYJWT_REASONS: tuple[tuple[type[jwt_errors.PyJWTError], str], ...] = (
    (jwt_errors.InvalidSignatureError, "bad signature"),
    (jwt_errors.InvalidAlgorithmError, "algorithm not allowed"),
    (jwt_errors.MissingRequiredClaimError, "missing claim"),
    (jwt_errors.InvalidIssuerError, "wrong issuer"),
    (jwt_errors.InvalidSubjectError, "invalid sub"),
    (jwt_errors.InvalidAudienceError, "unexpected audience"),
    (jwt_errors.DecodeError, "malformed"),
)


class InvalidToken(Exception):
    """The one error for every token that must not be let through."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a verified token says is calling."""

    sub: str
    email: str | None = None
    customer_id: str | None = None
    # "test" for a test key (domain/test_keys.py); None is live.
    key_type: str | None = None

    @property
    def owner(self) -> str:
        """The tenant a TraceId is scoped to: `customer:<customer_id>`, else `user:<sub>`."""
        return tenants.owner(self.sub, self.customer_id)

    def to_context(self) -> dict[str, str]:
        """The API Gateway authorizer context; values must be strings, so absent is ""."""
        caller = {
            "sub": self.sub,
            "customer_id": self.customer_id,
            "email": self.email,
            KEY_TYPE: self.key_type,
        }
        present = {key: value for key, value in caller.items() if value is not None}
        return {
            "sub": self.sub,
            "email": self.email or "",
            "customer_id": self.customer_id or "",
            # Spliced verbatim into the SQS message body by the mapping template,
            # so it has to be real JSON, with quotes and backslashes escaped.
            "caller": json.dumps(present, separators=(",", ":")),
        }


def verify_token(
    token: str,
    secret: str,
    *,
    now: float | None = None,
    leeway_seconds: int = 30,
) -> Caller:
    """Return the caller named by a valid token, or raise InvalidToken saying why not."""
    if not secret:
        # A blank key would let anyone sign; this is a configuration error, not a bad token.
        raise ValueError("the JWT signing secret is empty")
    claims = _decode(token, secret)
    _check_times(claims, time.time() if now is None else now, leeway_seconds)
    caller = Caller(
        sub=_subject(claims),
        email=_optional_string(claims, "email"),
        customer_id=_optional_string(claims, "customer_id"),
        key_type=_key_type(claims),
    )
    # The ids become key parts (traces, claims, idempotency): a "#" or ":" in one could
    # reach another tenant's keys, so such a token is refused here, before any route.
    try:
        tenants.owner(caller.sub, caller.customer_id)
    except tenants.InvalidTenant as exc:
        raise InvalidToken(str(exc)) from None
    return caller


def mint_token(
    secret: str,
    sub: str,
    email: str | None = None,
    customer_id: str | None = None,
    *,
    ttl_seconds: int = 3600,
    now: float | None = None,
    test: bool = False,
) -> str:
    """Sign a token for `sub`, as `generate_jwt.py <user_id> [email] [customer_id]` did."""
    issued_at = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": sub,
        "iat": issued_at,
        "exp": issued_at + ttl_seconds,
    }
    if email is not None:
        claims["email"] = email
    if customer_id is not None:
        claims["customer_id"] = customer_id
    if test:
        claims[KEY_TYPE] = TEST
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def bearer_token(header: str) -> str:
    """The token from an `Authorization: Bearer <token>` header (scheme is case-insensitive)."""
    parts = header.split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        raise InvalidToken("malformed authorization header")
    return parts[1]


def allow_policy(method_arn: str, caller: Caller) -> dict[str, Any]:
    """A TOKEN-authorizer response letting `caller` invoke any route of the same API stage.

    API Gateway caches the policy by token, not by route; a policy naming only the
    method that was first called would deny the caller's next, different route.
    """
    return {
        "principalId": caller.sub,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow",
                    "Resource": _stage_wildcard(method_arn),
                }
            ],
        },
        "context": caller.to_context(),
    }


def _decode(token: str, secret: str) -> dict[str, Any]:
    try:
        return jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],  # never taken from the token's header
            issuer=ISSUER,
            options={
                "require": _REQUIRED_CLAIMS,
                "verify_exp": False,  # the three time claims: see _check_times
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt_errors.PyJWTError as exc:
        raise InvalidToken(_reason(exc)) from None


def _reason(exc: jwt_errors.PyJWTError) -> str:
    for error_type, reason in _PYJWT_REASONS:
        if isinstance(exc, error_type):
            return reason
    return "invalid token"


def _check_times(claims: dict[str, Any], now: float, leeway: float) -> None:
    # Same comparisons as PyJWT's own exp, nbf and iat checks, against our clock.
    if _timestamp(claims, "exp") <= now - leeway:
        raise InvalidToken("expired")
    if _timestamp(claims, "iat") > now + leeway:
        raise InvalidToken("issued in the future")
    if "nbf" in claims and _timestamp(claims, "nbf") > now + leeway:
        raise InvalidToken("not yet valid")


def _timestamp(claims: dict[str, Any], name: str) -> float:
    value = claims[name]
    # bool is an int; json.loads also accepts NaN and Infinity, which compare oddly.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken(f"{name} is not a timestamp")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidToken(f"{name} is not a timestamp")
    return value


def _subject(claims: dict[str, Any]) -> str:
    sub = claims["sub"]
    if not isinstance(sub, str) or not sub.strip():
        raise InvalidToken("invalid sub")
    return sub


def _optional_string(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidToken(f"{name} is not a string")
    return value


def _key_type(claims: dict[str, Any]) -> str | None:
    """TEST, or None for a live key: a token naming another type is refused, not sent live."""
    key_type = _optional_string(claims, KEY_TYPE)
    if key_type is not None and key_type not in KEY_TYPES:
        raise InvalidToken(f"{KEY_TYPE} must be one of {', '.join(KEY_TYPES)}")
    return TEST if key_type == TEST else None


def _stage_wildcard(method_arn: str) -> str:
    # arn:PARTITION:execute-api:REGION:ACCOUNT:API_ID/STAGE/METHOD/PATH; the path may hold ":".
    parts = method_arn.split(":", 5)
    resource = parts[-1]
    api_id, _, rest = resource.partition("/")
    stage = rest.partition("/")[0]
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "execute-api" or not (api_id and stage):
        raise ValueError(f"not an execute-api method ARN: {method_arn!r}")
    return ":".join([*parts[:5], f"{api_id}/{stage}/*/*"])
