"""The traces table's keys: their formats, and the ASL building none but these."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from notify.integration.traces.keys import (
    KEY_SEPARATOR,
    PARTITION_KEY,
    header_key,
    is_header,
    owner_of,
    owner_range,
    recipient_item_key,
    recipient_key,
    unreadable_key,
)

ROOT = Path(__file__).resolve().parents[4]
ASL_FILES = sorted((ROOT / "statemachine").glob("*.json"))
OWNER = "customer:cust456"


def test_the_recipient_key_is_owner_channel_address() -> None:
    assert recipient_key(OWNER, "SMS", "+16048621234") == "customer:cust456#SMS#+16048621234"
    assert recipient_item_key("t-1", OWNER, "EMAIL", "a#b@example.com") == {
        "TraceId": "t-1",
        "Sk": "customer:cust456#EMAIL#a#b@example.com",
    }


def test_the_header_key_is_the_owner_and_the_first_separator_ends_it() -> None:
    assert header_key("t-1", OWNER) == {"TraceId": "t-1", "Sk": OWNER}
    assert is_header(OWNER)
    assert not is_header(recipient_key(OWNER, "EMAIL", "a#b@example.com"))
    assert owner_of(recipient_key(OWNER, "EMAIL", "a#b@example.com")) == OWNER
    assert owner_of(OWNER) == OWNER


def test_an_owners_range_holds_its_own_keys_and_no_other_owners() -> None:
    low, high = owner_range(OWNER)

    assert low <= OWNER < recipient_key(OWNER, "WHATSAPP", "whatsapp:+1") < high
    assert not low <= "customer:cust456.eu" < high
    with pytest.raises(ValueError, match="an owner holds no"):
        owner_range("customer:a#b")


def test_a_dead_lettered_queued_record_is_marked_under_its_sqs_message_id() -> None:
    assert unreadable_key("m-1") == ("sqs-message:m-1", "unreadable")
    assert is_header(unreadable_key("m-1")[1])


# ---------------------------------------------------------------- the ASL's keys
# A key built in the ASL is evaluated with these values, found by the path's last name.
EXAMPLE = {
    "TraceId": "t-1",
    "Owner": "customer:acme",
    "ChannelType": "SMS",
    "Address": "+16048621234",
}
_FORMAT = re.compile(r"States\.Format\('((?:[^'\\]|\\.)*)'((?:\s*,\s*[^,()]+)*)\)")
DYNAMODB_TASK = "arn:aws:states:::dynamodb:"


def traces_table_names() -> set[str]:
    """How the ASL names the traces table: `${X}` for each substitution X of TracesTable.

    A DynamoDB task whose Key holds a TraceId is taken for one on the traces table too.
    """
    resources = cfn_yaml.load(str(ROOT / "template.yaml"))["Resources"]
    return {
        "${" + name + "}"
        for resource in resources.values()
        for name, value in resource.get("Properties", {}).get("DefinitionSubstitutions", {}).items()
        if "TracesTable" in json.dumps(value)
    }


def walk(node: Any) -> Iterator[Any]:
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        yield from walk(child)


def example(path: str) -> str:
    name = path.strip().rsplit(".", 1)[-1]
    assert name in EXAMPLE, f"{path}: a key part keys.py does not build (add it there first)"
    return EXAMPLE[name]


def evaluate(expression: str) -> str:
    """A key attribute's JSONPath or States.Format, with the EXAMPLE values."""
    if expression.startswith("$"):
        return example(expression)
    found = _FORMAT.fullmatch(expression.strip())
    assert found, f"an expression the key check cannot read: {expression}"
    template, arguments = found.group(1), found.group(2).split(",")[1:]
    parts = template.split("{}")
    assert len(parts) == len(arguments) + 1, f"{expression}: arguments do not fill the format"
    values = [example(argument) for argument in arguments] + [""]
    return "".join(part + value for part, value in zip(parts, values, strict=True))


def built_key(key: dict[str, Any]) -> dict[str, str]:
    """The Key of a DynamoDB task, as the ASL builds it for the EXAMPLE."""
    built = {}
    for attribute, value in key.items():
        [(kind, written)] = value.items()
        built[attribute] = evaluate(written) if kind.endswith(".$") else written
    return built


def formats_in(text: str) -> Iterator[str]:
    """Each `States.Format(...)` call in a text, up to its closing parenthesis."""
    for start in (m.start() for m in re.finditer(r"States\.Format\(", text)):
        depth, quoted = 0, False
        for end in range(start, len(text)):
            char = text[end]
            if char == "'" and text[end - 1] != "\\":
                quoted = not quoted
            elif not quoted and char in "()":
                depth += 1 if char == "(" else -1
                if depth == 0:
                    yield text[start : end + 1]
                    break


def key_problems(definition: dict[str, Any], table_names: set[str]) -> list[str]:
    """Each traces key the ASL builds that keys.py would not build the same way."""
    expected = [
        header_key(EXAMPLE["TraceId"], EXAMPLE["Owner"]),
        recipient_item_key(
            EXAMPLE["TraceId"], EXAMPLE["Owner"], EXAMPLE["ChannelType"], EXAMPLE["Address"]
        ),
    ]
    problems = []
    for node in walk(definition):
        if not (isinstance(node, dict) and str(node.get("Resource", "")).startswith(DYNAMODB_TASK)):
            continue
        parameters = node.get("Parameters") or node.get("Arguments") or {}
        key = parameters.get("Key", {})
        if parameters.get("TableName") in table_names or PARTITION_KEY in key:
            built = built_key(key)
            if built not in expected:
                problems.append(f"the Key {key} builds {built}, not one of {expected}")
    # A key built elsewhere (a Pass state) and handed on: every format joining with the
    # separator must build the recipient key.
    recipient = recipient_key(EXAMPLE["Owner"], EXAMPLE["ChannelType"], EXAMPLE["Address"])
    texts = (node for node in walk(definition) if isinstance(node, str))
    for call in (call for text in texts for call in formats_in(text)):
        if KEY_SEPARATOR in call.split("'")[1] and evaluate(call) != recipient:
            problems.append(f"{call} builds {evaluate(call)}, not {recipient}")
    return problems


def load_asl(path: Path) -> dict[str, Any]:
    """The ASL as JSON: a substitution outside quotes (a number) becomes 0, the rest stay."""
    return json.loads(re.sub(r'(?<!")\$\{\w+\}(?!")', "0", path.read_text()))


def test_the_asl_files_are_found() -> None:
    assert ASL_FILES


@pytest.mark.parametrize("path", ASL_FILES, ids=[path.name for path in ASL_FILES])
def test_every_traces_key_the_asl_builds_is_the_key_modules(path: Path) -> None:
    assert key_problems(load_asl(path), traces_table_names()) == []


# The check itself, on the state that read a recipient's item from the ASL (issue 17's
# receipt check): it passes as written and fails on any drift from keys.py.
CHECK_DELIVERY = {
    "Type": "Task",
    "Resource": "arn:aws:states:::dynamodb:getItem",
    "Parameters": {
        "TableName": "${TracesTableName}",
        "Key": {
            "TraceId": {"S.$": "$.Request.TraceId"},
            "Sk": {
                "S.$": "States.Format('{}#{}#{}', $.Request.Owner, "
                "$.Delivery.Recipient.ChannelType, $.Delivery.Recipient.Address)"
            },
        },
    },
    "End": True,
}


def with_sort_key(expression: str) -> dict[str, Any]:
    state = json.loads(json.dumps(CHECK_DELIVERY))
    state["Parameters"]["Key"]["Sk"] = {"S.$": expression}
    return {"StartAt": "CheckDelivery", "States": {"CheckDelivery": state}}


def test_the_key_check_accepts_the_recipient_key_as_keys_py_builds_it() -> None:
    definition = {"StartAt": "CheckDelivery", "States": {"CheckDelivery": CHECK_DELIVERY}}

    assert key_problems(definition, {"${TracesTableName}"}) == []


@pytest.mark.parametrize(
    "expression",
    [
        "States.Format('{}#{}#{}', $.Request.Owner, $.Recipient.Address, $.Recipient.ChannelType)",
        "States.Format('{}|{}|{}', $.Request.Owner, $.Recipient.ChannelType, $.Recipient.Address)",
        "States.Format('{}#{}', $.Recipient.ChannelType, $.Recipient.Address)",
        "$.Request.TraceId",
    ],
    ids=["parts-swapped", "another-separator", "no-owner", "not-a-key"],
)
def test_the_key_check_refuses_a_key_that_drifted_from_keys_py(expression: str) -> None:
    assert key_problems(with_sort_key(expression), {"${TracesTableName}"}) != []


def test_a_format_joining_with_the_separator_outside_a_dynamodb_task_is_checked_too() -> None:
    drifted = "States.Format('{}#{}#{}', $.Owner, $.Address, $.ChannelType)"
    definition = {
        "StartAt": "Key",
        "States": {"Key": {"Type": "Pass", "Parameters": {"Sk.$": drifted}, "End": True}},
    }

    assert key_problems(definition, set()) != []
