"""The cost model: list prices in one place, times what one request used."""

from __future__ import annotations

import pytest

from emulator.cost import PRICES, Usage, cost_per_million

ONE_RECIPIENT = Usage(
    api_requests=1,
    sqs_requests=3,
    executions=1,
    transitions=4,
    lambda_invocations=3,
    workflow_invocations=3,
    lambda_seconds=0.05,
    dynamodb_writes=4,
    dynamodb_reads=1,
    execution_seconds=0.07,
)


def test_standard_bills_every_transition_and_every_request_once() -> None:
    expected = (
        3.50  # API Gateway
        + 3 * 0.40  # SQS
        + 0.40  # Pipes
        + 4 * 25.0  # transitions
        + 3 * 0.20  # Lambda requests
        + 0.05 * 0.25 * 0.0000133334 * 1e6  # Lambda GB-s
        + 4 * 0.625  # write units
        + 1 * 0.125  # read units
    )

    assert cost_per_million(ONE_RECIPIENT, "STANDARD") == pytest.approx(expected, abs=0.01)


def test_express_bills_requests_and_duration_in_100_ms_and_64_mb_steps() -> None:
    standard = cost_per_million(ONE_RECIPIENT, "STANDARD")
    express = cost_per_million(ONE_RECIPIENT, "EXPRESS")

    # 4 transitions ($100) become one request ($1) and 0.1 s x 64 MB.
    duration = 0.1 * 0.0625 * PRICES["sfn_express_per_gb_second"] * 1e6
    assert express == pytest.approx(standard - 100 + 1 + duration, abs=0.01)


def test_a_batched_execution_is_billed_once_for_all_its_requests() -> None:
    tenth = ONE_RECIPIENT.__class__(**{**ONE_RECIPIENT.__dict__, "executions": 0.1})

    saved = cost_per_million(ONE_RECIPIENT, "EXPRESS") - cost_per_million(tenth, "EXPRESS")

    duration = 0.1 * 0.0625 * PRICES["sfn_express_per_gb_second"] * 1e6
    assert saved == pytest.approx(0.9 * (0.40 + 1.00 + duration), abs=0.01)


def test_an_unknown_workflow_type_is_refused() -> None:
    with pytest.raises(ValueError, match="no such workflow type"):
        cost_per_million(ONE_RECIPIENT, "SYNC")
