"""`messaging senders rate` and `messaging rates` against a send budgets table in moto."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from cli.main import main
from cli.rates import parse_rates
from cli.target import Context, Target
from emulator.stack import TEMPLATE
from notify.domain.channels import CHANNELS
from notify.domain.pacing import TRANSACTIONAL
from notify.integration.budgets import BudgetStore
from notify.integration.dynamodb_table import DynamoTable

TABLE = "cli-send-budgets"
DEFAULTS_LINE = (
    "defaults, messages per second: EMAIL 14, SMS 20 per sender, WHATSAPP 80 per sender, "
    "VOICE 5 per sender"
)


def template_send_rates() -> str:
    """The stack's output SendRates, as CloudFormation resolves it with the defaults."""
    document = json.loads(json.dumps(cfn_yaml.load(str(TEMPLATE))))
    text = document["Outputs"]["SendRates"]["Value"]["Fn::Sub"]
    return re.sub(r"\$\{(\w+)\}", lambda m: str(document["Parameters"][m[1]]["Default"]), text)


@pytest.fixture
def budgets(mocked_aws, table_from_template, monkeypatch) -> Iterator[Any]:
    table = table_from_template("SendBudgetsTable", TABLE)
    outputs = {"SendBudgetsTableName": TABLE, "SendRates": template_send_rates()}
    target = Target("messaging", mocked_aws, outputs)
    monkeypatch.setattr(Context, "target", lambda self: target)
    yield table
    table.delete()


def item(table: Any, budget: str) -> dict[str, Any]:
    return table.get_item(Key={"Budget": budget}, ConsistentRead=True).get("Item", {})


def test_the_send_rates_output_names_every_channels_default_from_its_parameter():
    assert parse_rates(template_send_rates()) == {
        name: float(channel.send_rate) for name, channel in CHANNELS.items()
    }


def test_an_operators_rate_is_stored_and_paces_the_next_booking(budgets, mocked_aws, capsys):
    assert main(["senders", "rate", "EMAIL", "10"]) == 0

    assert capsys.readouterr().out == (
        "EMAIL: 10/s, set by the operator (its channel's default: 14/s)\n"
    )
    assert item(budgets, "EMAIL") == {
        "Budget": "EMAIL",
        "Rate": Decimal("10"),
        "Interval": Decimal("0.1"),
    }
    store = BudgetStore(DynamoTable(mocked_aws.client("dynamodb"), TABLE))
    now = time.time()
    slots = store.book("EMAIL", TRANSACTIONAL, now, 1 / 14, count=3)
    assert [slot.at - now for slot in slots] == pytest.approx([0.0, 0.1, 0.2], abs=2e-6)


@pytest.mark.parametrize(
    ("argv", "budget"),
    [
        pytest.param(["SMS#pool-1", "5"], "SMS#pool-1", id="sms-identity"),
        pytest.param(["sms#pool-1", "5"], "SMS#pool-1", id="channel-in-lower-case"),
        pytest.param(
            ["WHATSAPP#+1 415 523 8886", "5"],
            "WHATSAPP#whatsapp:+14155238886",
            id="whatsapp-bare-number",
        ),
        pytest.param(
            ["--channel", "WHATSAPP", "--sender", "whatsapp:+14155238886", "5"],
            "WHATSAPP#whatsapp:+14155238886",
            id="whatsapp-by-channel-and-sender",
        ),
        pytest.param(
            ["--channel", "VOICE", "--sender", "+18005550100", "5"],
            "VOICE#+18005550100",
            id="voice-by-channel-and-sender",
        ),
        pytest.param(["--channel", "EMAIL", "5"], "EMAIL", id="email-by-channel"),
        pytest.param(["SMS#-", "5"], "SMS#-", id="the-sms-accounts-own-identity"),
    ],
)
def test_a_budget_is_named_as_the_send_functions_key_it(budgets, capsys, argv, budget):
    assert main(["senders", "rate", *argv]) == 0

    assert capsys.readouterr().out.startswith(f"{budget}: 5/s, set by the operator")
    assert item(budgets, budget)["Rate"] == 5


def test_default_removes_the_operators_rate(budgets, capsys):
    budgets.put_item(Item={"Budget": "SMS#pool-1", "Rate": 5, "Interval": Decimal("0.2"), "Tat": 1})

    assert main(["senders", "rate", "SMS#pool-1", "--default"]) == 0

    assert capsys.readouterr().out == "SMS#pool-1: back to its channel's default, 20/s\n"
    assert item(budgets, "SMS#pool-1") == {"Budget": "SMS#pool-1", "Tat": 1}


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        pytest.param(
            ["EMAIL#alerts@example.com", "5"], "EMAIL has one budget, the account's: EMAIL"
        ),
        pytest.param(
            ["SMS", "5"],
            "SMS has a budget per sender: SMS#SENDER (SMS#-: the account's own identity)",
        ),
        pytest.param(
            ["FAX#1", "5"],
            "unknown budget 'FAX#1': CHANNEL or CHANNEL#SENDER, e.g. EMAIL, SMS#pool-1, "
            "WHATSAPP#whatsapp:+14155238886, VOICE#+18005550100",
        ),
        pytest.param(["WHATSAPP#call-me", "5"], "WhatsApp number 'call-me': "),
        pytest.param(["EMAIL", "0"], "a rate is a positive number of messages per second, not '0'"),
        pytest.param(["EMAIL", "fast"], "a rate is a positive number of messages per second"),
        pytest.param(["EMAIL"], "give the rate N (messages per second), or --default"),
        pytest.param(["EMAIL", "5", "--default"], "give either a rate N or --default, not both"),
        pytest.param(["--sender", "pool-1", "5"], "--sender goes with --channel"),
        pytest.param([], "name the budget: SENDER (e.g. EMAIL, SMS#pool-1, "),
    ],
    ids=[
        "email-with-a-sender",
        "sms-without-a-sender",
        "unknown-channel",
        "not-a-whatsapp-number",
        "zero",
        "not-a-number",
        "no-rate",
        "rate-and-default",
        "sender-without-channel",
        "nothing",
    ],
)
def test_a_rate_that_names_no_budget_or_no_rate_is_refused(budgets, capsys, argv, error):
    assert main(["senders", "rate", *argv]) == 1

    assert capsys.readouterr().err.startswith(f"messaging: {error}")
    assert budgets.scan()["Items"] == []


def test_rates_shows_each_budgets_rate_backlog_and_bulk_line(budgets, capsys, monkeypatch):
    now = time.time()
    monkeypatch.setattr("cli.rates.time.time", lambda: now)  # listed at the moment it was booked
    budgets.put_item(Item={"Budget": "EMAIL", "Rate": 10, "Interval": Decimal("0.1")})
    # 40 sends booked ahead at 20/s (2 s), then 30 waiting in the bulk line (1.5 s).
    budgets.put_item(
        Item={
            "Budget": "SMS#pool-1",
            "Tat": Decimal(str(round(now + 2, 6))),
            "BulkTat": Decimal(str(round(now + 3.5, 6))),
        }
    )
    # Idle: its timeline and bulk line are in the past.
    budgets.put_item(Item={"Budget": "WHATSAPP#whatsapp:+14155238886", "Tat": 1, "BulkTat": 2})

    assert main(["rates"]) == 0

    assert capsys.readouterr().out.splitlines() == [
        "BUDGET                          RATE/S  SET BY    BOOKED AHEAD      BULK LINE",
        "EMAIL                           10      operator  -                 -",
        "SMS#pool-1                      20      default   2.0 s (40 sends)  1.5 s (30 sends)",
        "WHATSAPP#whatsapp:+14155238886  80      default   -                 -",
        DEFAULTS_LINE,
    ]


def test_rates_as_json(budgets, capsys, monkeypatch):
    now = time.time()
    monkeypatch.setattr("cli.rates.time.time", lambda: now)  # read when the CLI reads it
    budgets.put_item(Item={"Budget": "VOICE#+18005550100", "Tat": Decimal(str(round(now + 10, 6)))})

    assert main(["rates", "--json"]) == 0

    [budget] = json.loads(capsys.readouterr().out)
    assert budget.pop("BookedAheadSeconds") == pytest.approx(10, abs=1e-5)
    assert budget == {
        "Budget": "VOICE#+18005550100",
        "Rate": 5.0,
        "RateSetBy": "default",
        "DefaultRate": 5.0,
        "BookedAheadSends": 50,
        "BulkLineSeconds": 0,
        "BulkLineSends": 0,
    }


def test_rates_without_budgets_shows_the_defaults(budgets, capsys):
    assert main(["rates"]) == 0

    assert capsys.readouterr().out == f"no send budget booked or set yet\n{DEFAULTS_LINE}\n"


def test_rates_of_a_stack_deployed_before_send_budgets_says_what_is_missing(
    mocked_aws, monkeypatch, capsys
):
    target = Target("old-stack", mocked_aws, {"TenantsTableName": "t"})
    monkeypatch.setattr(Context, "target", lambda self: target)

    assert main(["rates"]) == 1

    assert capsys.readouterr().err == "messaging: stack old-stack has no output SendRates\n"
