"""boto3 clients for the provider tests: stubbed, never reaching AWS or the local stack."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber


def make_client(service: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return boto3.client(
        service,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def stubbed(service: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    """A Stubber around a new client; every response it was given must be used."""
    with Stubber(make_client(service, monkeypatch)) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()
