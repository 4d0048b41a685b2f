"""The one definition of a tenant: three namespaces, one safe character set."""

from __future__ import annotations

import pytest

from notify.domain.errors import INVALID_MESSAGE, PermanentError
from notify.domain.tenants import (
    InvalidTenant,
    api_key_caller,
    check_tenant_id,
    key_owner,
    owner,
    owner_of,
    parse_owner,
    queued_owner,
)
from notify.integration.traces.keys import recipient_key


@pytest.mark.parametrize(
    ("sub", "customer_id", "expected"),
    [
        pytest.param("bob", "acme", "customer:acme", id="customer"),
        pytest.param("bob", None, "user:bob", id="user"),
        pytest.param("bob", "", "user:bob", id="empty-customer-is-none"),
        pytest.param("acme", None, "user:acme", id="a-sub-equal-to-a-customer-id-stays-a-user"),
    ],
)
def test_the_owner_is_the_customer_else_the_user_in_separate_namespaces(sub, customer_id, expected):
    assert owner(sub, customer_id) == expected


def test_a_sub_never_owns_what_the_customer_of_the_same_id_owns():
    assert owner_of({"sub": "acme"}) != owner_of({"sub": "someone", "customer_id": "acme"})


def test_an_api_key_caller_is_the_key_in_its_own_namespace():
    caller = api_key_caller("abc123")

    assert caller == {"sub": "abc123", "api_key_id": "abc123"}
    assert owner_of(caller) == queued_owner(caller) == key_owner("abc123") == "key:abc123"
    # A token whose sub or customer_id equals the key's id owns nothing of the key's.
    assert owner_of({"sub": "abc123"}) == "user:abc123"
    assert owner_of({"sub": "x", "customer_id": "abc123"}) == "customer:abc123"


@pytest.mark.parametrize("key_id", ["", "k#1", "k:1", None])
def test_an_api_key_id_outside_the_charset_is_refused(key_id):
    with pytest.raises(InvalidTenant, match="the API key id must be 1-128 characters"):
        key_owner(key_id)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("acme#eu", id="hash"),
        pytest.param("customer:acme", id="colon"),
        pytest.param("", id="empty"),
        pytest.param("a b", id="space"),
        pytest.param("é", id="non-ascii"),
        pytest.param("x" * 129, id="129-characters"),
        pytest.param(42, id="not-a-string"),
        pytest.param(None, id="missing"),
    ],
)
def test_an_id_outside_the_safe_charset_is_refused_naming_the_claim(value):
    with pytest.raises(InvalidTenant, match=r"^sub must be 1-128 characters of A-Z a-z 0-9"):
        check_tenant_id(value, "sub")


def test_the_first_hash_of_a_key_always_ends_the_owner():
    # No owner holds "#", so "acme" can never read "acme#eu"'s keys as its own.
    key = recipient_key(owner("u", "acme"), "EMAIL", "x#y@example.com")

    assert key.split("#", 1)[0] == "customer:acme"
    with pytest.raises(InvalidTenant):
        owner("u", "acme#eu")


def test_a_queued_caller_outside_the_charset_is_a_permanent_invalid_message():
    with pytest.raises(PermanentError) as raised:
        queued_owner({"sub": "u", "customer_id": "acme#eu"})

    assert raised.value.reason == INVALID_MESSAGE
    assert raised.value.detail.startswith("the queued Caller's customer_id must be")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("customer:acme", "customer:acme", id="customer"),
        pytest.param("user:bob@example.com", "user:bob@example.com", id="user"),
        pytest.param("key:abc123", "key:abc123", id="api-key"),
    ],
)
def test_an_operator_writes_a_tenant_as_kind_and_id(text, expected):
    assert parse_owner(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "acme",
            "a tenant is customer:<customer_id>, user:<sub> or key:<api key id>",
            id="no-kind",
        ),
        pytest.param("team:acme", "a tenant is customer:<customer_id>", id="unknown-kind"),
        pytest.param("customer:acme#eu", "the id after customer: must be", id="bad-id"),
        pytest.param("customer:", "the id after customer: must be", id="empty-id"),
    ],
)
def test_a_tenant_written_otherwise_is_refused_with_the_rule(text, message):
    with pytest.raises(InvalidTenant, match=message):
        parse_owner(text)


def test_a_test_keys_queued_caller_is_read_and_owned_like_its_live_key():
    caller = {"sub": "u", "customer_id": "acme", "key_type": "test"}

    assert queued_owner(caller) == "customer:acme"
