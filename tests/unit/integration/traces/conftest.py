"""Fresh traces tables for the stores' tests: one with a running trace's header, one empty."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.unit.integration.traces.trace_items import EXECUTION_ARN, OWNER, TRACE_ID


@pytest.fixture
def table(table_from_template) -> Iterator[Any]:
    """A fresh traces table with the trace's header item."""
    table = table_from_template("TracesTable", "Traces")
    # The header item, as Plan's claim leaves it.
    table.put_item(
        Item={
            "TraceId": TRACE_ID,
            "Sk": OWNER,
            "Status": "RUNNING",
            "Running": "RUNNING",
            "Owner": OWNER,
            "ExecutionArn": EXECUTION_ARN,
        }
    )
    yield table
    table.delete()


@pytest.fixture
def empty(table_from_template) -> Iterator[Any]:
    table = table_from_template("TracesTable", "ClaimTraces")
    yield table
    table.delete()
