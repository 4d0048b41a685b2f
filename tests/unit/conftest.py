"""Fixtures for the unit tests: moto mocks in-process, never the local stack's endpoint."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws


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
