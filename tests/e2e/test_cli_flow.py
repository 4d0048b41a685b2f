"""An operator's day with `messaging`: a failing provider, the DLQ, a clean redrive."""

from __future__ import annotations

import json

import pytest
from conftest import example, execution_status, outbox, trace_status, wait_until

OWNER = "user:messaging-cli"  # the tenant of the tokens `messaging send` mints (its sub)


@pytest.fixture
def messaging(messaging):
    """The CLI, and no fault left behind for the next test."""
    yield messaging
    messaging("faults", "clear")


def test_a_failing_recipient_is_dead_lettered_then_redriven_without_duplicates(
    local, messaging, tmp_path
):
    request = example("email-and-sms.json")
    payload = tmp_path / "request.json"
    payload.write_text(json.dumps(request))
    trace_id = request["TraceId"]

    assert messaging("faults", "add", "--channel", "EMAIL", "--error", "5xx")[0] == 0
    code, out, _ = messaging("send", str(payload))
    assert code == 0
    assert "202" in out

    # The reconciler dead-letters what the failed execution left unsent, then ends the trace.
    wait_until(lambda: trace_status(local, trace_id, OWNER) == "FAILED", "the trace FAILED")
    assert execution_status(local, trace_id, OWNER) == "FAILED"
    code, out, _ = messaging("trace", trace_id, "--json")
    assert code == 0
    assert "FAILED" in out
    assert "user@example.com" in out
    code, out, _ = messaging("dlq", "list", "--json")
    assert trace_id in out
    assert [m["channel"] for m in outbox(local, trace_id)] == ["SMS"]

    assert messaging("faults", "clear")[0] == 0
    code, out, err = messaging("dlq", "redrive")
    assert code == 0, err

    wait_until(lambda: trace_status(local, trace_id, OWNER) == "COMPLETED", "the trace COMPLETED")
    sent = sorted((m["channel"], m["to"]) for m in outbox(local, trace_id))
    assert sent == [("EMAIL", "user@example.com"), ("SMS", "+16048621234")]
    code, out, _ = messaging("outbox", "--trace", trace_id)
    assert code == 0
    assert "user@example.com" in out


def test_templates_round_trip_through_the_cli(messaging):
    assert messaging("templates", "put", "cli-demo", "--body", "Hi {name}")[0] == 0

    code, out, _ = messaging("templates", "get", "cli-demo")
    assert code == 0
    assert json.loads(out)["MessageBody"] == "Hi {name}"
    assert "cli-demo" in messaging("templates", "list")[1].split()
    assert messaging("templates", "delete", "cli-demo")[0] == 0
    code, _, err = messaging("templates", "get", "cli-demo")
    assert code == 1
    assert err.startswith("messaging: ")


def test_redriving_a_failed_trace_sends_the_failed_recipient_once(local, messaging, tmp_path):
    request = example("email-and-sms.json")
    payload = tmp_path / "request.json"
    payload.write_text(json.dumps(request))
    trace_id = request["TraceId"]
    messaging(
        "faults", "add", "--channel", "SMS", "--address", "+16048621234", "--error", "throttle"
    )
    messaging("send", str(payload))
    wait_until(lambda: trace_status(local, trace_id, OWNER) == "FAILED", "the trace FAILED")
    messaging("faults", "clear")

    code, out, err = messaging("redrive", trace_id)

    assert code == 0, err
    assert "SUCCEEDED" in out
    sent = sorted((m["channel"], m["to"]) for m in outbox(local, trace_id))
    assert sent == [("EMAIL", "user@example.com"), ("SMS", "+16048621234")]
    assert trace_status(local, trace_id, OWNER) == "COMPLETED"


def test_an_inbound_message_from_the_cli_passes_the_signature_and_is_handled(local, messaging):
    parent = "whatsapp:+447835069999"

    code, out, err = messaging("inbound", parent, "HELP")

    assert code == 0, err
    # The webhook function logs to the same stdout here: look for the CLI's own lines.
    assert any(line.startswith("200 OK SM") for line in out.splitlines())
    assert '<?xml version="1.0" encoding="UTF-8"?><Response/>' in out.splitlines()
    help_text = local.stack.resolve({"Ref": "HelpReplyText"})
    replies = wait_until(
        lambda: [m for m in outbox(local, None) if m["to"] == parent], "the HELP reply sent"
    )
    assert [(m["sender"], m["body"]) for m in replies] == [("whatsapp:+14155238886", help_text)]


def test_an_execution_stopped_mid_flight_is_dead_lettered_then_redriven_once(
    local, messaging, tmp_path
):
    numbers = [f"+1604777{n:04d}" for n in range(12)]  # 10 sent at once, 2 waiting
    request = example("sms-inline.json") | {
        "Addresses": {number: {"ChannelType": "SMS"} for number in numbers}
    }
    payload = tmp_path / "request.json"
    payload.write_text(json.dumps(request))
    trace_id = request["TraceId"]
    slow = ("--channel", "SMS", "--error", "slow", "--seconds", "2", "--times", "10")
    assert messaging("faults", "add", *slow)[0] == 0
    assert messaging("send", str(payload))[0] == 0
    wait_until(lambda: attempted(local, trace_id) >= 10, "ten sends at the provider")

    # What `aws --endpoint-url <local> stepfunctions stop-execution` does, from outside.
    header = local.session.client("dynamodb", endpoint_url=local.aws.endpoint).get_item(
        TableName=local.stack.physical("TracesTable")["Ref"],
        Key={"TraceId": {"S": trace_id}, "Sk": {"S": OWNER}},
    )["Item"]
    sfn = local.session.client("stepfunctions", endpoint_url=local.aws.endpoint)
    sfn.stop_execution(executionArn=header["ExecutionArn"]["S"], cause="operator")

    wait_until(lambda: trace_status(local, trace_id, OWNER) == "FAILED", "the trace FAILED")
    assert execution_status(local, trace_id, OWNER) == "ABORTED"
    code, out, _ = messaging("dlq", "list", "--json")
    [letter] = [m for m in json.loads(out) if m.get("TraceId") == trace_id]
    assert sorted(letter["Recipients"]) == numbers[10:]  # the ten in flight were sent

    assert messaging("faults", "clear")[0] == 0
    code, _, err = messaging("dlq", "redrive")
    assert code == 0, err

    wait_until(lambda: trace_status(local, trace_id, OWNER) == "COMPLETED", "the trace COMPLETED")
    assert sorted(m["to"] for m in outbox(local, trace_id)) == numbers  # each exactly once


def attempted(local, trace_id: str) -> int:
    """How many of the trace's recipients have had a send attempt counted."""
    items = local.client("dynamodb").query(
        TableName=local.stack.physical("TracesTable")["Ref"],
        KeyConditionExpression="TraceId = :t",
        ExpressionAttributeValues={":t": {"S": trace_id}},
    )["Items"]
    return sum("Attempts" in item for item in items)
