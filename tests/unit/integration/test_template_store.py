"""Templates read from DynamoDB and cached for a short time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from notify.domain.errors import TEMPLATE_NOT_FOUND, PermanentError
from notify.domain.templates import Template
from notify.integration.template_store import DynamoTemplateStore

TABLE = "MessageTemplates"
TTL_SECONDS = 60.0
README_TEMPLATE = (
    "Alert: Your {productName} account ending in {membershipNumber} "
    "has a low balance of ${accountBalance}"
)
# The item docs/operations.md#templates loads with `aws dynamodb put-item`.
ALERT_ITEM = json.loads((Path(__file__).parents[3] / "events" / "template-alert.json").read_text())


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def aws(mocked_aws) -> Any:
    return mocked_aws.client("dynamodb")


@pytest.fixture
def dynamodb(aws) -> Iterator[Any]:
    """A fresh templates table holding the README's alert-template."""
    aws.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "TemplateName", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "TemplateName", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    aws.put_item(TableName=TABLE, Item=ALERT_ITEM)
    yield aws
    aws.delete_table(TableName=TABLE)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(dynamodb, clock) -> DynamoTemplateStore:
    return DynamoTemplateStore(dynamodb, TABLE, TTL_SECONDS, clock=clock)


def put_template(client: Any, name: str, **attributes: Any) -> None:
    item = {"TemplateName": {"S": name}}
    item.update({key: {"S": value} for key, value in attributes.items()})
    client.put_item(TableName=TABLE, Item=item)


def test_get_returns_the_stored_template(store) -> None:
    assert store.get("alert-template") == Template("alert-template", message_body=README_TEMPLATE)


def test_every_body_part_is_read(dynamodb, store) -> None:
    put_template(
        dynamodb,
        "welcome",
        Subject="Welcome, {name}",
        HtmlBody="<p>Hi {name}</p>",
        TextBody="Hi {name}",
        MessageBody="Hi {name}!",
    )

    assert store.get("welcome") == Template(
        "welcome",
        message_body="Hi {name}!",
        subject="Welcome, {name}",
        html_body="<p>Hi {name}</p>",
        text_body="Hi {name}",
    )


def test_attributes_that_are_not_strings_are_ignored(dynamodb, store) -> None:
    dynamodb.put_item(
        TableName=TABLE,
        Item={
            "TemplateName": {"S": "versioned"},
            "MessageBody": {"S": "Hi"},
            "Version": {"N": "3"},
            "Subject": {"NULL": True},
        },
    )

    assert store.get("versioned") == Template("versioned", message_body="Hi")


def test_an_unknown_template_is_template_not_found(store) -> None:
    with pytest.raises(PermanentError) as caught:
        store.get("no-such-template")

    assert caught.value.reason == TEMPLATE_NOT_FOUND
    assert caught.value.detail == "no template named 'no-such-template'"


def test_a_template_is_cached_until_its_ttl_has_passed(dynamodb, store, clock) -> None:
    original = store.get("alert-template")
    put_template(dynamodb, "alert-template", MessageBody="Changed: {productName}")

    clock.now += TTL_SECONDS - 0.001
    assert store.get("alert-template") == original

    clock.now += 0.001
    assert store.get("alert-template") == Template(
        "alert-template", message_body="Changed: {productName}"
    )


def test_a_missing_template_is_not_cached(dynamodb, store) -> None:
    with pytest.raises(PermanentError):
        store.get("welcome")
    put_template(dynamodb, "welcome", Subject="Welcome")

    assert store.get("welcome") == Template("welcome", subject="Welcome")


def test_a_missing_table_is_left_as_the_providers_error(dynamodb, clock) -> None:
    # Neither transient nor a rejection: recorded FAILED and dead-lettered for a redrive.
    store = DynamoTemplateStore(dynamodb, "NoSuchTable", TTL_SECONDS, clock=clock)

    with pytest.raises(ClientError) as caught:
        store.get("alert-template")

    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
