"""Least privilege and audit decisions in template.yaml, kept from regressing."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from cfnlint.decode import cfn_yaml

from emulator.stack import TEMPLATE

RESOURCES: dict[str, Any] = json.loads(json.dumps(cfn_yaml.load(str(TEMPLATE))["Resources"]))
# The Api's OpenAPI body, which template.yaml includes (AWS::Include) and so cfn-lint and
# checkov do not read: the checks on it are here. Plain YAML: the include takes no `!Sub`.
OPENAPI: dict[str, Any] = yaml.safe_load((TEMPLATE.parent / "api" / "openapi.yaml").read_text())
FUNCTIONS = {
    name: resource["Properties"]
    for name, resource in RESOURCES.items()
    if resource["Type"] == "AWS::Serverless::Function"
}


def statements(function: str) -> list[dict[str, Any]]:
    found = []
    for policy in FUNCTIONS[function].get("Policies", []):
        if isinstance(policy, dict) and "Statement" in policy:
            found.extend(policy["Statement"])
    return found


def actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def test_no_function_uses_a_sam_sqs_event_which_would_allow_every_queue():
    # SAM attaches AWSLambdaSQSQueueExecutionRole (sqs:ReceiveMessage/DeleteMessage on "*").
    assert [
        (name, event_name)
        for name, properties in FUNCTIONS.items()
        for event_name, event in properties.get("Events", {}).items()
        if event["Type"] == "SQS"
    ] == []


def test_the_inbound_function_reads_and_deletes_on_its_own_queue_only():
    sqs = [
        s for s in statements("InboundFunction") if any(a.startswith("sqs:") for a in actions(s))
    ]

    assert sqs == [
        {
            "Effect": "Allow",
            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            "Resource": {"Fn::GetAtt": ["InboundQueue", "Arn"]},
        }
    ]
    mapping = RESOURCES["InboundQueueEventSource"]["Properties"]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["InboundQueue", "Arn"]}
    assert mapping["FunctionName"] == {"Ref": "InboundFunction"}


@pytest.mark.parametrize(
    "function",
    ["SendEmailFunction", "SendSmsFunction", "SendWhatsAppFunction", "SendVoiceFunction"],
)
def test_a_send_function_may_only_get_a_template(function):
    template_tables = [
        {"Fn::GetAtt": ["TenantTemplatesTable", "Arn"]},
        {"Fn::GetAtt": ["TemplatesTable", "Arn"]},
    ]
    on_templates = [s for s in statements(function) if s["Resource"] == template_tables]

    assert [actions(s) for s in on_templates] == [{"dynamodb:GetItem"}]
    assert not any(
        isinstance(policy, dict) and "DynamoDBReadPolicy" in policy
        for policy in FUNCTIONS[function]["Policies"]
    )


def access_log() -> dict[str, Any]:
    return RESOURCES["Api"]["Properties"]["AccessLogSetting"]


def test_api_access_log_lines_are_json_with_who_what_and_outcome():
    # Every $context variable stands for one JSON value: a quoted string or messageString.
    line = re.sub(r"\$context\.[A-Za-z.]+", "x", access_log()["Format"]).replace(":x,", ':"x",')
    fields = json.loads(line)

    assert {
        "requestId",
        "principal",
        "customerId",
        "apiKeyId",
        "sourceIp",
        "httpMethod",
        "resourcePath",
        "status",
        "responseLatencyMs",
        "integrationError",
    } <= fields.keys()


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param('$context.identity.apiKey"', id="api-key-value"),
        pytest.param("$input", id="request-body"),
        pytest.param("$context.authorizer.caller", id="caller-with-email"),
        pytest.param("$context.authorizer.email", id="email"),
        pytest.param("$method.request.header", id="headers-with-the-token"),
        pytest.param("$context.path", id="path-with-trace-ids"),
    ],
)
def test_api_access_logs_hold_no_tokens_bodies_or_personal_data(secret):
    assert secret not in access_log()["Format"]


def test_api_access_logs_go_to_a_log_group_with_retention():
    destination = access_log()["DestinationArn"]["Fn::Sub"]

    assert destination.endswith(":log-group:${ApiAccessLogGroup}")  # no ":*", as API Gateway wants
    assert RESOURCES["ApiAccessLogGroup"]["Properties"]["RetentionInDays"] == {
        "Ref": "AccessLogRetentionInDays"
    }
    assert RESOURCES["Api"]["DependsOn"] == "ApiGatewayAccount"


def _intrinsics(value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        found = [
            (key, item) for key, item in value.items() if key.startswith("Fn::") or key == "Ref"
        ]
        return found + [pair for item in value.values() for pair in _intrinsics(item)]
    if isinstance(value, list):
        return [pair for item in value for pair in _intrinsics(item)]
    return []


def test_the_api_body_is_api_openapi_yaml():
    assert RESOURCES["Api"]["Properties"]["DefinitionBody"] == {
        "Fn::Transform": {"Name": "AWS::Include", "Parameters": {"Location": "api/openapi.yaml"}}
    }


def test_every_name_the_api_body_refers_to_is_a_resource_of_the_template():
    # What cfn-lint checked while the body was inline: ${X.Arn} and GetAtt name real resources.
    names = set()
    for function, argument in _intrinsics(OPENAPI):
        if function == "Fn::Sub":
            names |= {name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", argument)}
        elif function == "Fn::GetAtt":
            names.add(argument[0])
        else:
            pytest.fail(f"{function} in api/openapi.yaml: only Fn::Sub and Fn::GetAtt are expected")

    assert {"WebhookFunction", "AuthorizerFunction", "MessageQueue", "ApiQueueRole"} <= names
    assert {name for name in names if not name.startswith("AWS::")} - RESOURCES.keys() == set()


def test_every_route_but_twilios_webhook_needs_the_jwt_or_the_api_key():
    # The webhook checks X-Twilio-Signature in its function instead.
    open_routes = [
        (method.upper(), path)
        for path, operations in OPENAPI["paths"].items()
        for method, operation in operations.items()
        if not any(operation.get("security", OPENAPI.get("security", [])))
    ]

    assert open_routes == [("POST", "/webhook")]


FUNCTIONS_DIR = TEMPLATE.parent / "functions"


def _notify_modules(module: str, seen: set[str] | None = None) -> set[str]:
    """`module` and every notify module it imports, directly or not (read, not run)."""
    seen = set() if seen is None else seen
    if module in seen:
        return seen
    seen.add(module)
    base = FUNCTIONS_DIR / module.replace(".", "/")
    path = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
    for imported, names in re.findall(
        r"^from (notify[\w.]*) import \(?([\w, ]+)", path.read_text(), re.M
    ):
        _notify_modules(imported, seen)
        for name in (n.strip() for n in names.split(",")):  # `from notify.domain import senders`
            if (FUNCTIONS_DIR / imported.replace(".", "/") / f"{name}.py").exists():
                _notify_modules(f"{imported}.{name}", seen)
    return seen


def _skip_reason(function: str, check: str) -> str:
    """The reason a function's `# checkov:skip=<check>:` comment gives (YAML keeps no comments)."""
    block = re.search(rf"^  {function}:\n(.*?)(?=^  \w+:\n)", TEMPLATE.read_text(), re.M | re.S)
    assert block is not None, function
    found = re.search(rf"# checkov:skip={check}:(.*)$", block.group(1), re.M)
    assert found is not None, f"{function} has no {check} skip"
    return found.group(1)


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_a_functions_no_vpc_reason_names_twilio_only_if_its_code_calls_twilio(function):
    handler_module = FUNCTIONS[function]["Handler"].rsplit(".", 1)[0]
    calls_twilio = "notify.integration.providers.twilio.whatsapp" in _notify_modules(handler_module)

    reason = _skip_reason(function, "CKV_AWS_117")

    assert ("Twilio's Messages API" in reason) == calls_twilio, reason


def test_the_templates_api_writes_only_tenants_templates_and_reads_the_shared_ones():
    by_table = {s["Resource"]["Fn::GetAtt"][0]: actions(s) for s in statements("TemplatesFunction")}

    assert by_table == {
        # TransactWriteItems is authorised per item (PutItem); nothing is ever deleted.
        "TenantTemplatesTable": {
            "dynamodb:GetItem",
            "dynamodb:Query",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
        },
        "TemplatesTable": {"dynamodb:GetItem", "dynamodb:Scan"},
    }
