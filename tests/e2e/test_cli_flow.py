"""An operator's day with `messaging`: a failing provider, the DLQ, a clean redrive."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
import requests
from conftest import example, execution_status, outbox, trace_status, wait_until

from cli.api import LOCAL_IDENTITY
from emulator.local import LOCAL_JWT_SECRET

# The tenant of the tokens `messaging send` mints locally: the banner's token's.
OWNER = LOCAL_IDENTITY.tenant


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
        "faults", "add", "--channel", "SMS", "--address", "+16048621234", "--error", "5xx"
    )  # (a throttle is outlasted for 15 minutes: a 5xx exhausts the retries)
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
    assert (
        "HELP: the stack replies to whatsapp:+447835069999 from whatsapp:+14155238886 "
        "with its HelpReplyText (Twilio)"
    ) in out.splitlines()
    help_text = local.stack.resolve({"Ref": "HelpReplyText"})
    replies = wait_until(
        lambda: [m for m in outbox(local, None) if m["to"] == parent], "the HELP reply sent"
    )
    assert [(m["sender"], m["body"]) for m in replies] == [("whatsapp:+14155238886", help_text)]


def test_send_names_the_trace_and_the_banners_token_reads_it(local, messaging, tmp_path):
    request = example("email-and-sms.json")
    payload = tmp_path / "request.json"
    payload.write_text(json.dumps(request))
    trace_id = request["TraceId"]

    code, out, err = messaging("send", str(payload))

    assert code == 0, err
    lines = out.splitlines()
    assert f"TraceId {trace_id}, tenant customer:local-customer" in lines
    assert f"follow it: messaging trace {trace_id}" in lines
    # The token `make run`'s banner prints reads what the CLI sent.
    banner_token = LOCAL_IDENTITY.token(LOCAL_JWT_SECRET)
    url = f"{local.http.url}/messages/{quote(trace_id, safe='')}"
    status = wait_until(
        lambda: (
            (
                got := requests.get(
                    url, headers={"Authorization": f"Bearer {banner_token}"}, timeout=10
                )
            ).status_code
            == 200
            and got.json()["Status"] == "COMPLETED"
            and got.json()
        ),
        "the trace COMPLETED, read with the banner's token",
    )
    assert status["TraceId"] == trace_id
    assert messaging("trace", trace_id)[0] == 0


def test_too_many_recipients_are_refused_with_what_to_do(messaging, tmp_path):
    request = example("sms-inline.json") | {
        "Addresses": {f"+1604666{n:04d}": {"ChannelType": "SMS"} for n in range(101)}
    }
    payload = tmp_path / "request.json"
    payload.write_text(json.dumps(request))

    code, out, err = messaging("send", str(payload))

    assert code == 1
    assert "object has too many properties (found 101 but schema requires at most 100)" in out
    assert err == (
        "messaging: Addresses holds 101 recipients; a request takes at most 100: "
        "split them into several requests (docs/api.md#limits)\n"
    )


def test_inbound_says_what_the_stack_did_with_a_stop_a_start_and_a_reply(messaging):
    parent = "whatsapp:+447835068888"

    code, out, err = messaging("inbound", parent, "STOP")
    assert code == 0, err
    assert any(
        line.startswith(
            "opt-out stored: +447835068888 no longer receives WHATSAPP messages from any sender"
        )
        for line in out.splitlines()
    )

    code, out, err = messaging("inbound", parent, "START")
    assert code == 0, err
    assert (
        "no opt-out stored: +447835068888 receives WHATSAPP messages from this stack"
    ) in out.splitlines()

    code, out, err = messaging("inbound", parent, "REGISTER")
    assert code == 0, err
    prefix = "not a keyword: published on the bus "
    [published] = [line for line in out.splitlines() if line.startswith(prefix)]
    detail = json.loads(published.split(": ", 2)[2])
    assert (detail["From"], detail["Body"], detail["Channel"]) == (parent, "REGISTER", "WHATSAPP")


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
