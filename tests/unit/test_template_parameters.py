"""Parameters that must agree with each other and with the resources: template.yaml's Rules."""

from __future__ import annotations

import json
from typing import Any

from cfnlint.decode import cfn_yaml

from emulator.stack import TEMPLATE

DOCUMENT: dict[str, Any] = json.loads(json.dumps(cfn_yaml.load(str(TEMPLATE))))
RESOURCES = DOCUMENT["Resources"]
# What a request waits on its queue after a failed EXPRESS execution before it returns.
VISIBILITY_TIMEOUTS = {
    queue: RESOURCES[queue]["Properties"]["VisibilityTimeout"]
    for queue in ("MessageQueue", "LargeMessageQueue")
}
# The time between a request's receive and its claim must fit under the visibility timeout
# beside the execution timeout (Plan's start; the pipe's batching window).
RECEIVE_TO_CLAIM_MARGIN = 60
RESOLVED_TIMEOUT = {
    "Fn::If": [
        "DefaultExecutionTimeout",
        {"Fn::FindInMap": ["WorkflowTypes", {"Ref": "WorkflowType"}, "ExecutionTimeoutSeconds"]},
        {"Ref": "ExecutionTimeoutSeconds"},
    ]
}


def express_rule() -> dict[str, Any]:
    return DOCUMENT["Rules"]["ExpressExecutionTimeout"]


def test_express_accepts_only_timeouts_under_the_queues_visibility_timeout():
    [visibility] = set(VISIBILITY_TIMEOUTS.values())
    [assertion] = express_rule()["Assertions"]
    allowed, value = assertion["Assert"]["Fn::Contains"]

    assert express_rule()["RuleCondition"] == {"Fn::Equals": [{"Ref": "WorkflowType"}, "EXPRESS"]}
    assert value == {"Ref": "ExecutionTimeoutSeconds"}
    assert allowed == ["0", *(str(seconds) for seconds in range(10, visibility))]


def test_the_express_default_leaves_a_failed_executions_claim_stale_when_its_request_returns():
    [visibility] = set(VISIBILITY_TIMEOUTS.values())
    default = DOCUMENT["Mappings"]["WorkflowTypes"]["EXPRESS"]["ExecutionTimeoutSeconds"]

    assert default + RECEIVE_TO_CLAIM_MARGIN <= visibility
    assert DOCUMENT["Parameters"]["ExecutionTimeoutSeconds"]["Default"] == 0  # the sentinel
    assert DOCUMENT["Conditions"]["DefaultExecutionTimeout"] == {
        "Fn::Equals": [{"Ref": "ExecutionTimeoutSeconds"}, "0"]
    }


def test_every_use_of_the_execution_timeout_goes_through_the_workflow_types_default():
    text = json.dumps(RESOURCES)
    bare = text.count(json.dumps({"Ref": "ExecutionTimeoutSeconds"}))

    assert bare == text.count(json.dumps(RESOLVED_TIMEOUT)) == 3
