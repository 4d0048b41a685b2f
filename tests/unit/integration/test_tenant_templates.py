"""A tenant's own templates: versions written once each, archives, and the send path's read
(the tenant's own before the shared one of its name; a pinned version; another tenant's
never)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from notify.domain.errors import TEMPLATE_NOT_FOUND, PermanentError
from notify.domain.templates import InvalidTemplate, Template
from notify.integration.template_store import DynamoTemplateStore, TenantTemplates

SHARED, OWN = "unit-shared-templates", "unit-tenant-templates"
AT = "2026-12-01T10:00:00.000000+00:00"


@pytest.fixture(scope="module")
def client(mocked_aws, table_from_template) -> Any:
    table_from_template("TemplatesTable", SHARED)
    table_from_template("TenantTemplatesTable", OWN)
    dynamodb = mocked_aws.client("dynamodb")
    shared = {"TemplateName": {"S": "welcome"}, "MessageBody": {"S": "Shared hi {n}"}}
    dynamodb.put_item(TableName=SHARED, Item=shared)
    return dynamodb


@pytest.fixture
def owner() -> str:
    return f"customer:unit-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def store(client) -> TenantTemplates:
    return TenantTemplates(client, OWN, SHARED)


@pytest.fixture
def reads(client) -> DynamoTemplateStore:
    return DynamoTemplateStore(client, SHARED, 0, tenant_table=OWN)


def not_found(read) -> str:
    with pytest.raises(PermanentError) as caught:
        read()
    assert caught.value.reason == TEMPLATE_NOT_FOUND
    return caught.value.detail


def test_each_put_is_a_new_version_and_every_version_stays_readable(store, owner) -> None:
    assert store.put(owner, "bill", {"MessageBody": "one"}, AT) == 1
    assert store.put(owner, "bill", {"MessageBody": "two", "Subject": "S"}, AT) == 2

    assert store.versions(owner, "bill") == [1, 2]
    assert store.latest(owner, "bill")["MessageBody"] == "two"
    assert store.version(owner, "bill", 1)["MessageBody"] == "one"
    assert "Subject" not in store.version(owner, "bill", 1)
    assert store.version(owner, "bill", 3) is None


def test_a_send_reads_the_latest_or_the_pinned_version(store, reads, owner) -> None:
    store.put(owner, "bill", {"MessageBody": "one"}, AT)
    store.put(owner, "bill", {"MessageBody": "two"}, AT)

    assert reads.get("bill", owner) == Template("bill", message_body="two", version=2)
    assert reads.get("bill", owner, 1) == Template("bill", message_body="one", version=1)
    assert not_found(lambda: reads.get("bill", owner, 3)) == "no version 3 of template 'bill'"


def test_another_tenants_template_is_not_found(store, reads, owner) -> None:
    store.put(owner, "private", {"MessageBody": "mine"}, AT)

    assert store.latest("customer:someone-else", "private") is None
    assert not_found(lambda: reads.get("private", "customer:someone-else")) == (
        "no template named 'private'"
    )


def test_a_tenants_own_template_wins_over_the_shared_one_of_its_name(store, reads, owner) -> None:
    assert reads.get("welcome", owner) == Template("welcome", message_body="Shared hi {n}")
    store.put(owner, "welcome", {"MessageBody": "Own hi {n}"}, AT)

    assert reads.get("welcome", owner).message_body == "Own hi {n}"
    assert reads.get("welcome", "customer:another").message_body == "Shared hi {n}"


def test_an_archived_template_is_not_found_until_written_again(store, reads, owner) -> None:
    store.put(owner, "offer", {"MessageBody": "one"}, AT)

    assert store.archive(owner, "offer", AT) is True
    assert store.archive(owner, "offer", AT) is False
    assert store.owned(owner) == []
    assert store.version(owner, "offer", 1) is None
    assert not_found(lambda: reads.get("offer", owner)) == "no template named 'offer'"
    assert not_found(lambda: reads.get("offer", owner, 1)) == "no version 1 of template 'offer'"

    assert store.put(owner, "offer", {"MessageBody": "back"}, AT) == 2  # never reused
    assert reads.get("offer", owner) == Template("offer", message_body="back", version=2)


def test_archiving_an_own_template_of_a_shared_name_brings_the_shared_one_back(
    store, reads, owner
) -> None:
    store.put(owner, "welcome", {"MessageBody": "Own"}, AT)
    store.archive(owner, "welcome", AT)

    assert reads.get("welcome", owner).message_body == "Shared hi {n}"


def test_a_tenant_lists_its_own_templates_and_the_shared_names(store, owner) -> None:
    store.put(owner, "b-second", {"MessageBody": "x"}, AT)
    store.put(owner, "a-first", {"MessageBody": "x"}, AT)
    store.put(owner, "a-first", {"MessageBody": "y"}, AT)

    assert [(h["TemplateName"], h["Version"]) for h in store.owned(owner)] == [
        ("a-first", 2),
        ("b-second", 1),
    ]
    assert store.shared_names() == ["welcome"]


class RacingClient:
    """A DynamoDB client whose first transaction finds another writer's version just stored."""

    def __init__(self, client: Any, other_writer: Any) -> None:
        self._client = client
        self._other_writer = other_writer
        self.exceptions = client.exceptions

    def transact_write_items(self, **request: Any) -> Any:
        if self._other_writer is not None:
            writer, self._other_writer = self._other_writer, None
            writer()
        return self._client.transact_write_items(**request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_a_put_that_loses_the_race_for_a_version_number_takes_the_next(
    client, store, owner
) -> None:
    store.put(owner, "raced", {"MessageBody": "one"}, AT)
    theirs = lambda: store.put(owner, "raced", {"MessageBody": "theirs"}, AT)  # noqa: E731
    racing = TenantTemplates(RacingClient(client, theirs), OWN, SHARED)

    assert racing.put(owner, "raced", {"MessageBody": "ours"}, AT) == 3
    assert store.version(owner, "raced", 2)["MessageBody"] == "theirs"
    assert store.version(owner, "raced", 3)["MessageBody"] == "ours"


def test_a_locale_put_is_a_new_version_with_every_variant_and_older_ones_unchanged(
    store, reads, owner
) -> None:
    store.put(owner, "hello", {"MessageBody": "Hi"}, AT)
    assert store.put(owner, "hello", {"MessageBody": "Salut"}, AT, "fr") == 2
    assert store.put(owner, "hello", {"MessageBody": "Allô"}, AT, "fr-CA") == 3
    assert store.put(owner, "hello", {"MessageBody": "Hello"}, AT) == 4

    assert sorted(store.latest(owner, "hello")["Locales"]) == ["fr", "fr-CA"]
    assert "Locales" not in store.version(owner, "hello", 1)
    assert reads.get("hello", owner).for_locale("fr-CA").message_body == "Allô"
    assert reads.get("hello", owner).for_locale("de").message_body == "Hello"
    assert reads.get("hello", owner, 2).for_locale("fr-CA").message_body == "Salut"
    assert reads.get("hello", owner, 1).for_locale("fr").message_body == "Hi"


def test_an_archived_template_written_again_carries_no_variant(store, reads, owner) -> None:
    store.put(owner, "gone", {"MessageBody": "Hi"}, AT)
    store.put(owner, "gone", {"MessageBody": "Salut"}, AT, "fr")
    store.archive(owner, "gone", AT)

    with pytest.raises(InvalidTemplate, match="no default variant yet"):
        store.put(owner, "gone", {"MessageBody": "Salut"}, AT, "fr")
    store.put(owner, "gone", {"MessageBody": "Back"}, AT)

    assert reads.get("gone", owner).for_locale("fr").message_body == "Back"
