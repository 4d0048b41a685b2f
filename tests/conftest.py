"""Fixtures shared by every test."""

from __future__ import annotations

from dataclasses import dataclass

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # Beside standard_only and express_only (pyproject.toml); the rule is in
    # tests/integration/conftest.py.
    config.addinivalue_line(
        "markers", "both_workflows(why): runs against the STANDARD and the EXPRESS workflow type"
    )


@dataclass
class FakeLambdaContext:
    """Just enough of the Lambda context object for Powertools' decorators."""

    function_name: str = "test-function"
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()
