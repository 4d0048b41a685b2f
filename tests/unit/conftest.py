"""Fixtures for the unit tests: moto mocks in-process, never the local stack's endpoint."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from cfnlint.decode import cfn_yaml
from moto import mock_aws

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


@pytest.fixture(scope="module")
def mocked_aws() -> Iterator[boto3.Session]:
    """One mocked account per test module: creating clients is the slow part."""
    with pytest.MonkeyPatch.context() as env, mock_aws():
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.delenv("AWS_PROFILE", raising=False)
        env.delenv("AWS_ENDPOINT_URL", raising=False)
        yield boto3.Session(region_name="us-east-1")


@pytest.fixture
def fresh_aws(monkeypatch) -> Iterator[boto3.Session]:
    """A mocked account for one test, for handlers that read secrets at each invocation."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    # Powertools keeps its providers and their cache at module level, across tests.
    parameters.clear_caches()
    with mock_aws():
        yield boto3.Session(region_name="us-east-1")


@pytest.fixture(scope="module")
def table_from_template(mocked_aws) -> Callable[[str, str], Any]:
    """Create a DynamoDB table with the keys and indexes template.yaml gives it (no drift)."""
    resources = json.loads(json.dumps(cfn_yaml.load(str(TEMPLATE))["Resources"]))

    def create(logical_id: str, name: str) -> Any:
        properties = resources[logical_id]["Properties"]
        indexes = properties.get("GlobalSecondaryIndexes")
        mocked_aws.client("dynamodb").create_table(
            TableName=name,
            KeySchema=properties["KeySchema"],
            AttributeDefinitions=properties["AttributeDefinitions"],
            BillingMode="PAY_PER_REQUEST",
            **({"GlobalSecondaryIndexes": indexes} if indexes else {}),
        )
        return mocked_aws.resource("dynamodb").Table(name)

    return create
