"""The command line: arguments, the global --stack, and errors on one line."""

from __future__ import annotations

import pytest

from cli import api, dlq, local, redrive, templates, trace
from cli.main import main, parser


def parse(*argv: str):
    return parser().parse_args(list(argv))


def test_stack_is_a_global_option_and_defaults_to_the_local_stack():
    assert parse("trace", "t-1").stack is None
    assert parse("--stack", "prod", "trace", "t-1").stack == "prod"


def test_token_keeps_its_arguments_and_its_stack_after_the_subcommand():
    args = parse(
        "token", "user123", "user@example.com", "cust456", "--stack", "prod", "--ttl", "60"
    )

    assert (args.user_id, args.email, args.customer_id) == (
        "user123",
        "user@example.com",
        "cust456",
    )
    assert (args.stack, args.ttl, args.run) == ("prod", 60, api.token)


def test_the_global_stack_survives_token_without_its_own():
    args = parse("--stack", "prod", "token", "user123")

    assert (args.stack, args.ttl, args.email, args.customer_id) == ("prod", 3600, None, None)


def test_send_takes_a_file_or_stdin_and_optional_claims():
    args = parse("send", "-", "--sub", "ops", "--customer-id", "c-1")

    assert (args.file, args.sub, args.customer_id, args.run) == ("-", "ops", "c-1", api.send)
    assert parse("send", "request.json").sub is None


def test_templates_put_takes_a_body_or_a_file_and_the_email_parts():
    args = parse("templates", "put", "alert", "--body", "Hi {name}", "--subject", "S")

    assert (args.name, args.body, args.file, args.subject) == ("alert", "Hi {name}", None, "S")
    assert args.run == templates.put


def test_templates_put_refuses_both_a_body_and_a_file(capsys):
    assert main(["templates", "put", "alert", "--body", "x", "--file", "f"]) == 2

    error = capsys.readouterr().err
    assert error.startswith("messaging: argument --file: not allowed with argument --body")
    assert error.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "run"),
    [
        (["templates", "get", "a"], templates.get),
        (["templates", "list"], templates.list_names),
        (["templates", "delete", "a"], templates.delete),
        (["trace", "t-1", "--json"], trace.run),
        (["redrive", "t-1", "--no-wait"], redrive.run),
        (["dlq", "list", "--json"], dlq.list_messages),
        (["dlq", "redrive"], dlq.redrive),
        (["outbox", "--trace", "t-1"], local.outbox),
        (["faults", "list"], local.faults_list),
        (["faults", "clear"], local.faults_clear),
    ],
)
def test_each_command_runs_its_function(argv, run):
    assert parse(*argv).run == run


def test_redrive_waits_120_seconds_unless_told_otherwise():
    assert (parse("redrive", "t").timeout, parse("redrive", "t").no_wait) == (120, False)
    assert parse("redrive", "t", "--timeout", "5").timeout == 5


def test_dlq_redrive_moves_every_letter_or_the_one_named():
    assert parse("dlq", "redrive").message is None
    assert parse("dlq", "redrive", "--message", "m-1").message == "m-1"


def test_faults_add_takes_a_channel_an_error_an_address_and_a_rate():
    args = parse("faults", "add", "--channel", "SMS", "--error", "throttle", "--rate", "0.5")

    assert (args.channel, args.error, args.address, args.rate) == ("SMS", "throttle", None, 0.5)
    assert parse("faults", "add", "--channel", "EMAIL", "--error", "5xx").rate == 1.0


@pytest.mark.parametrize(
    "argv",
    [
        ["faults", "add", "--channel", "FAX", "--error", "5xx"],
        ["faults", "add", "--channel", "SMS", "--error", "boom"],
        ["faults", "add", "--channel", "SMS", "--error", "5xx", "--rate", "2"],
        ["faults", "add", "--error", "5xx"],
        ["templates"],
        ["trace"],
        [],
    ],
)
def test_a_usage_error_is_one_line_with_exit_code_2(argv, capsys):
    assert main(argv) == 2

    error = capsys.readouterr().err
    assert error.startswith("messaging: ")
    assert error.count("\n") == 1


def test_help_exits_0(capsys):
    assert main(["--help"]) == 0
    assert "usage: messaging" in capsys.readouterr().out
