"""A tenant's items: allowed senders (read and cached for a short time) and triggers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from notify.domain.errors import TransientError
from notify.domain.senders import AllowedSenders
from notify.domain.triggers import REGISTRATION_INVITATION, InvalidTrigger, Trigger
from notify.integration.tenant_store import TenantStore, trigger_item, trigger_sort_key

TABLE = "Tenants"
TTL_SECONDS = 60.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def table(table_from_template) -> Iterator[Any]:
    table = table_from_template("TenantsTable", TABLE)
    yield table
    table.delete()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(mocked_aws, table, clock) -> TenantStore:
    return TenantStore(mocked_aws.client("dynamodb"), TABLE, TTL_SECONDS, clock)


def test_a_tenants_list_is_read_from_its_senders_item(table, store):
    table.put_item(
        Item={
            "Tenant": "customer:acme",
            "Sk": "SENDERS",
            "EmailDomains": {"example.com"},
            "SmsOriginations": {"pool-1", "pool-2"},
            "UpdatedAt": "2026-01-01T00:00:00+00:00",
        }
    )

    assert store.senders("customer:acme") == AllowedSenders(
        {
            "EmailDomains": frozenset({"example.com"}),
            "SmsOriginations": frozenset({"pool-1", "pool-2"}),
        }
    )


def test_a_tenant_without_an_item_has_no_list_and_another_namespace_is_another_tenant(table, store):
    table.put_item(Item={"Tenant": "customer:acme", "Sk": "SENDERS", "Emails": {"a@example.com"}})

    assert store.senders("user:acme") is None


def test_an_item_whose_senders_were_all_revoked_is_a_list_that_allows_nothing(table, store):
    table.put_item(Item={"Tenant": "customer:acme", "Sk": "SENDERS"})

    assert store.senders("customer:acme") == AllowedSenders()


def test_a_change_shows_once_the_cache_expires_for_lists_and_for_no_list(table, store, clock):
    assert store.senders("customer:acme") is None
    table.put_item(Item={"Tenant": "customer:acme", "Sk": "SENDERS", "Emails": {"a@example.com"}})

    assert store.senders("customer:acme") is None  # cached
    clock.now += TTL_SECONDS + 1
    assert store.senders("customer:acme") == AllowedSenders(
        {"Emails": frozenset({"a@example.com"})}
    )


class ThrottledClient:
    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}
        raise ClientError(error, "GetItem")


def test_a_throttled_read_is_transient_so_the_state_machine_retries_it():
    with pytest.raises(TransientError):
        TenantStore(ThrottledClient(), TABLE, TTL_SECONDS).senders("customer:acme")


# ---------------------------------------------------------------- triggers
EVENTS = Path(__file__).resolve().parents[3] / "events"
DEFINITION = json.loads((EVENTS / "trigger-registration-invitation.json").read_text())


@pytest.mark.parametrize("name", ["", "a/b", "x" * 65, "has space", "TRIGGER#x"])
def test_a_trigger_name_outside_the_rule_is_refused(name):
    with pytest.raises(InvalidTrigger, match="a trigger name is 1-64 characters"):
        trigger_sort_key(name)


def test_a_definition_round_trips_through_its_item():
    registration = Trigger.from_definition(REGISTRATION_INVITATION, DEFINITION)

    item = trigger_item("key:abc123", registration, "2025-01-01T00:00:00+00:00")

    assert (item["Tenant"], item["Sk"], item["Name"]) == (
        "key:abc123",
        "TRIGGER#registration-invitation",
        "registration-invitation",
    )
    assert json.loads(item["Definition"]) == DEFINITION
    assert Trigger.from_definition("registration-invitation", DEFINITION) == registration


def test_a_stored_trigger_is_read_back_as_its_definition(table, store):
    registration = Trigger.from_definition(REGISTRATION_INVITATION, DEFINITION)
    table.put_item(Item=trigger_item("key:abc123", registration, "2025-01-01T00:00:00+00:00"))

    assert store.trigger("key:abc123", REGISTRATION_INVITATION) == DEFINITION
    assert store.trigger("key:other", REGISTRATION_INVITATION) is None
