"""The local stack reads template.yaml as CloudFormation would: Rules, Mappings, Conditions."""

from __future__ import annotations

import pytest

from emulator.local import LocalStack
from emulator.stack import RuleViolation, Stack, load_template

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]
# Every place the template uses the execution timeout.
TIMEOUT_USES = {
    "DeliveryStateMachine TimeoutSeconds": RESOURCES["DeliveryStateMachine"]["Properties"][
        "DefinitionSubstitutions"
    ]["ExecutionTimeoutSeconds"],
    **{
        f"{function} EXECUTION_TIMEOUT_SECONDS": RESOURCES[function]["Properties"]["Environment"][
            "Variables"
        ]["EXECUTION_TIMEOUT_SECONDS"]
        for function in ("PlanFunction", "ReconcileFunction")
    },
}


def stack(**parameters: str) -> Stack:
    return Stack(None, "unit", parameters, template=TEMPLATE)


@pytest.mark.parametrize(
    ("parameters", "timeout"),
    [
        ({}, "3600"),
        ({"WorkflowType": "EXPRESS"}, "240"),
        ({"WorkflowType": "STANDARD", "ExecutionTimeoutSeconds": "900"}, "900"),
        ({"WorkflowType": "EXPRESS", "ExecutionTimeoutSeconds": "120"}, "120"),
    ],
    ids=["standard-default", "express-default", "standard-given", "express-given"],
)
def test_every_use_of_the_execution_timeout_resolves_the_workflow_types_default(
    parameters, timeout
):
    resolved = {use: str(stack(**parameters).resolve(value)) for use, value in TIMEOUT_USES.items()}

    assert resolved == dict.fromkeys(TIMEOUT_USES, timeout)


@pytest.mark.parametrize(
    ("parameters", "rule"),
    [
        ({"WorkflowType": "EXPRESS", "ExecutionTimeoutSeconds": "3600"}, "ExpressExecutionTimeout"),
        ({"WorkflowType": "EXPRESS", "ExecutionTimeoutSeconds": "301"}, "ExpressExecutionTimeout"),
        ({"WorkflowType": "EXPRESS", "ExecutionTimeoutSeconds": "300"}, "ExpressExecutionTimeout"),
        ({"WorkflowType": "STANDARD", "ExecutionTimeoutSeconds": "5"}, "ExecutionTimeoutFloor"),
    ],
    ids=["express-3600", "express-301", "express-300", "standard-5"],
)
def test_parameters_a_rule_asserts_against_are_refused_with_its_description(parameters, rule):
    with pytest.raises(RuleViolation) as refused:
        stack(**parameters).check_rules()

    assert refused.value.rule == rule
    description = next(
        assertion["AssertDescription"] for assertion in TEMPLATE["Rules"][rule]["Assertions"]
    )
    assert description in str(refused.value)


@pytest.mark.parametrize(
    "parameters",
    [
        {},
        {"WorkflowType": "EXPRESS"},
        {"WorkflowType": "EXPRESS", "ExecutionTimeoutSeconds": "10"},
        {"WorkflowType": "EXPRESS", "ExecutionTimeoutSeconds": "299"},
        {"WorkflowType": "STANDARD", "ExecutionTimeoutSeconds": "86400"},
    ],
    ids=["defaults", "express-default", "express-10", "express-299", "standard-86400"],
)
def test_parameters_every_rule_holds_for_are_accepted(parameters):
    stack(**parameters).check_rules()


RULES = {
    "Rules": {
        "OnlyWhenBlue": {
            "RuleCondition": {"Fn::Equals": [{"Ref": "Colour"}, "blue"]},
            "Assertions": [
                {
                    "Assert": {
                        "Fn::Or": [
                            {"Fn::Contains": [["1", "2"], {"Ref": "Size"}]},
                            {
                                "Fn::And": [
                                    {"Fn::Not": [{"Fn::Equals": [{"Ref": "Size"}, "4"]}]},
                                    {"Fn::Equals": [{"Ref": "Shape"}, "round"]},
                                ]
                            },
                        ]
                    },
                    "AssertDescription": "blue things are small or round (and not 4)",
                }
            ],
        }
    },
    "Parameters": {
        "Colour": {"Type": "String", "Default": "blue"},
        "Size": {"Type": "Number", "Default": 1},
        "Shape": {"Type": "String", "Default": "square"},
    },
}


@pytest.mark.parametrize(
    ("parameters", "holds"),
    [
        ({}, True),
        ({"Size": "3"}, False),
        ({"Size": "3", "Shape": "round"}, True),
        ({"Size": "4", "Shape": "round"}, False),
        ({"Colour": "red", "Size": "4"}, True),
    ],
    ids=["listed", "unlisted", "round", "round-but-4", "condition-false"],
)
def test_rule_functions_evaluate_as_cloudformation_evaluates_them(parameters, holds):
    rules = Stack(None, "unit", parameters, template=RULES)

    if holds:
        rules.check_rules()
    else:
        with pytest.raises(RuleViolation, match="blue things are small or round"):
            rules.check_rules()


def test_the_local_stack_refuses_to_start_with_parameters_a_rule_refuses():
    with pytest.raises(RuleViolation, match="ExpressExecutionTimeout"):
        LocalStack.start(WorkflowType="EXPRESS", ExecutionTimeoutSeconds="3600")
