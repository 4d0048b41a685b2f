"""Who owns a trace, a TraceId claim, an idempotency key and a tenant's configuration.

The one definition of a tenant ("owner"): a token's `customer_id` when it has one
(`customer:<id>`), else its `sub` (`user:<sub>`); on the routes that take an API key
alone (`POST /trigger`, `GET /requests/{id}`), the key's id (`key:<api key id>`). The
three namespaces are apart, so a `sub` that happens to equal some customer's id or
some key's id owns nothing of theirs.

Tenant ids are limited to a safe character set without `#` or `:`. Keys are built
as `<owner>` and `<owner>#...` (traces table), so the first `#` always ends the owner
and no owner's keys can be read as another owner's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from notify.domain.content import refuse_uncarriable
from notify.domain.errors import INVALID_MESSAGE, PermanentError
from notify.domain.test_keys import KEY_TYPE

CUSTOMER = "customer"
USER = "user"
API_KEY = "key"
NAMESPACES = (CUSTOMER, USER, API_KEY)
# The queued Caller of an API-key caller carries this claim (a token's never does).
API_KEY_ID = "api_key_id"
# What a queued Caller holds, nothing else: a token's claims as the authorizer writes them
# (tokens.Caller.to_context: `sub`, with `customer_id`, `email` and a test key's `key_type`
# only when the token has them), or what api_key_caller writes; every value a non-empty string.
TOKEN_CALLER_CLAIMS = frozenset({"sub", "customer_id", "email", KEY_TYPE})
API_KEY_CALLER_CLAIMS = frozenset({"sub", API_KEY_ID})
TENANT_ID_RULE = "1-128 characters of A-Z a-z 0-9 . _ @ + -"
_TENANT_ID = re.compile(r"[A-Za-z0-9._@+-]{1,128}")


class InvalidTenant(ValueError):
    """A tenant id or owner outside the rule; the message says which and why."""


def check_tenant_id(value: object, claim: str) -> str:
    """`value` when it is a valid tenant id, else InvalidTenant naming the claim."""
    if not isinstance(value, str) or not _TENANT_ID.fullmatch(value):
        raise InvalidTenant(f"{claim} must be {TENANT_ID_RULE}")
    return value


def owner(sub: object, customer_id: object = None) -> str:
    """The tenant of a caller: `customer:<customer_id>`, else `user:<sub>`.

    A null or empty `customer_id` means none: the authorizer context carries "" for
    it, a queued Caller leaves it out. Both ids are checked, the unused `sub` too: it
    still names the caller (the policy's principal, the DLQ's Caller).
    """
    sub = check_tenant_id(sub, "sub")
    if customer_id is None or customer_id == "":
        return f"{USER}:{sub}"
    return f"{CUSTOMER}:{check_tenant_id(customer_id, 'customer_id')}"


def key_owner(api_key_id: object) -> str:
    """The tenant of a caller known by its API key alone: `key:<api key id>`."""
    return f"{API_KEY}:{check_tenant_id(api_key_id, 'the API key id')}"


def api_key_caller(api_key_id: str) -> dict[str, str]:
    """The queued Caller of an API-key caller: the key's id, also as `sub` (its principal)."""
    key_owner(api_key_id)
    return {"sub": api_key_id, API_KEY_ID: api_key_id}


def owner_of(caller: Mapping[str, Any]) -> str:
    """The tenant of a caller given as claims (a queued Caller, an authorizer context).

    Only a Caller built by api_key_caller has an `api_key_id`: the authorizer's context
    and a token's Caller hold `sub`, `customer_id` and `email` alone.
    """
    if caller.get(API_KEY_ID) not in (None, ""):
        return key_owner(caller[API_KEY_ID])
    return owner(caller.get("sub"), caller.get("customer_id"))


def queued_owner(caller: Mapping[str, Any]) -> str:
    """owner_of for a queued message, whose Caller can be edited by hand in the DLQ.

    Only a Caller the API or the trigger function could have written is read: any other
    claim, an empty or non-string value, or an API key's Caller whose `sub` is not its
    key's id is PermanentError(INVALID_MESSAGE).
    """
    check_queued_caller(caller)
    try:
        return owner_of(caller)
    except InvalidTenant as exc:
        raise PermanentError(INVALID_MESSAGE, f"the queued Caller's {exc}") from exc


def check_queued_caller(caller: Mapping[str, Any]) -> None:
    """PermanentError(INVALID_MESSAGE) unless `caller` has the shape the API or trigger writes."""
    claims = set(caller)
    if API_KEY_ID in claims:
        if claims != API_KEY_CALLER_CLAIMS or caller["sub"] != caller[API_KEY_ID]:
            raise PermanentError(
                INVALID_MESSAGE,
                f"an API key's queued Caller is {{sub, {API_KEY_ID}}}, both the key's id",
            )
    elif unknown := sorted(claims - TOKEN_CALLER_CLAIMS):
        raise PermanentError(
            INVALID_MESSAGE, f"the queued Caller has claims the API never writes: {unknown}"
        )
    for claim, value in caller.items():
        if not isinstance(value, str) or not value:
            raise PermanentError(
                INVALID_MESSAGE, f"the queued Caller's {claim} must be a non-empty string"
            )
        refuse_uncarriable(f"the queued Caller's {claim}", value, one_line=True)


def parse_owner(text: str) -> str:
    """An owner as an operator writes it (`customer:acme`, `user:bob`, `key:abc123`), checked."""
    kind, separator, tenant_id = text.partition(":")
    if not separator or kind not in NAMESPACES:
        raise InvalidTenant(
            f"a tenant is {CUSTOMER}:<customer_id>, {USER}:<sub> or {API_KEY}:<api key id>, "
            f"not {text!r}"
        )
    return f"{kind}:{check_tenant_id(tenant_id, 'the id after ' + kind + ':')}"
