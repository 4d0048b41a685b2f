"""Provision template.yaml's resources on the emulated AWS endpoint.

The local stack and the tests read the one template, so names, queue attributes,
redrive policy, state machine substitutions and function environments cannot drift
from what `sam deploy` creates. Resource types without a local counterpart here
(IAM roles, alarms, the API and the pipe) are served by the emulator's own pieces.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
ACCOUNT_ID = "123456789012"
_SUB_VARIABLE = re.compile(r"\$\{([^}!]+)\}")
_NO_VALUE = object()


class RuleViolation(ValueError):
    """Parameters that an assertion of the template's `Rules` refuses.

    CloudFormation refuses them before it creates anything; so does the local stack.
    """

    def __init__(self, rule: str, description: str) -> None:
        super().__init__(f"template rule {rule} refuses these parameters: {description}")
        self.rule = rule
        self.description = description


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template with each local `AWS::Include` replaced by the file it names, as
    CloudFormation does once `sam deploy` has uploaded it (the Api's api/openapi.yaml)."""
    return _expand_includes(cfn_yaml.load(str(path)), path.parent)


def _expand_includes(value: Any, base: Path) -> Any:
    if isinstance(value, dict):
        transform = value.get("Fn::Transform") if len(value) == 1 else None
        if isinstance(transform, dict) and transform.get("Name") == "AWS::Include":
            location = transform["Parameters"]["Location"]
            if "://" in location:
                raise ValueError(f"the local stack reads local AWS::Include files, not {location}")
            return _expand_includes(cfn_yaml.load(str(base / location)), base)
        for key, item in value.items():
            value[key] = _expand_includes(item, base)
    elif isinstance(value, list):
        value[:] = [_expand_includes(item, base) for item in value]
    return value


@dataclass(frozen=True)
class FunctionSpec:
    """A Lambda function as the template declares it."""

    logical_id: str
    name: str
    arn: str
    handler: str
    environment: dict[str, str]


@dataclass
class Stack:
    """template.yaml, resolved for one stack name and created on demand through boto3."""

    session: Any  # boto3.Session pointed at the emulator
    name: str = "messaging"
    parameters: dict[str, str] = field(default_factory=dict)
    region: str = "us-east-1"
    template: dict[str, Any] = field(default_factory=load_template)
    _physical: dict[str, dict[str, str]] = field(default_factory=dict)

    # ------------------------------------------------------------------ public
    def deploy(self) -> Stack:
        self.check_rules()
        for logical_id, resource in self.resources():
            if resource["Type"] in self._creators():
                self.physical(logical_id)
        return self

    def check_rules(self) -> None:
        """Raise RuleViolation for the first assertion of the template's `Rules` that fails.

        A rule whose RuleCondition is false is skipped, as in CloudFormation.
        """
        for name, rule in self.template.get("Rules", {}).items():
            if "RuleCondition" in rule and not self.resolve(rule["RuleCondition"]):
                continue
            for assertion in rule["Assertions"]:
                if not self.resolve(assertion["Assert"]):
                    raise RuleViolation(name, assertion.get("AssertDescription", ""))

    def resources(self) -> list[tuple[str, dict[str, Any]]]:
        """(logical id, resource) of every resource whose Condition holds."""
        return [
            (logical_id, resource)
            for logical_id, resource in self.template["Resources"].items()
            if "Condition" not in resource or self._condition(resource["Condition"])
        ]

    def functions(self, overrides: dict[str, str] | None = None) -> dict[str, FunctionSpec]:
        """Every function, keyed by its name (what a Lambda Invoke names).

        `overrides` replace environment variables a function already has (local tuning).
        """
        specs = [
            self._function(logical_id, overrides or {})
            for logical_id, resource in self.resources()
            if resource["Type"] == "AWS::Serverless::Function"
        ]
        return {spec.name: spec for spec in specs}

    def function_events(self, event_type: str) -> list[tuple[str, dict[str, Any]]]:
        """(function name, resolved properties) of every function `Events` entry of a type."""
        found = []
        for logical_id, resource in self.resources():
            if resource["Type"] != "AWS::Serverless::Function":
                continue
            for event in resource["Properties"].get("Events", {}).values():
                if event.get("Type") == event_type:
                    found.append(
                        (self.physical(logical_id)["Ref"], self.resolve(event["Properties"]))
                    )
        return found

    def outputs(self) -> dict[str, str]:
        return {
            key: self.resolve(output["Value"])
            for key, output in self.template.get("Outputs", {}).items()
        }

    def physical(self, logical_id: str) -> dict[str, str]:
        """The created resource's Ref and attributes, creating it first if needed."""
        if logical_id not in self._physical:
            resource = self.template["Resources"][logical_id]
            creator = self._creators().get(resource["Type"], Stack._describe_only)
            self._physical[logical_id] = creator(self, logical_id, resource.get("Properties", {}))
        return self._physical[logical_id]

    # ------------------------------------------------------------------ intrinsics
    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, argument),) = value.items()
                function = _INTRINSICS.get(key)
                if function:
                    return function(self, argument)
            resolved = {key: self.resolve(item) for key, item in value.items()}
            return {key: item for key, item in resolved.items() if item is not _NO_VALUE}
        if isinstance(value, list):
            return [item for item in map(self.resolve, value) if item is not _NO_VALUE]
        return value

    def _ref(self, name: str) -> Any:
        pseudo = {
            "AWS::StackName": self.name,
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": _NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.template.get("Parameters", {}):
            default = self.template["Parameters"][name].get("Default")
            return str(self.parameters.get(name, default))
        return self.physical(name)["Ref"]

    def _get_att(self, argument: Any) -> str:
        logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
        return self.physical(logical_id)[attribute]

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        variables = {key: self.resolve(value) for key, value in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return str(self._get_att(name))
            return str(self._ref(name))

        return _SUB_VARIABLE.sub(replace, text)

    def _if(self, argument: list[Any]) -> Any:
        condition, when_true, when_false = argument
        return self.resolve(when_true if self._condition(condition) else when_false)

    def _condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    def _find_in_map(self, argument: list[Any]) -> Any:
        mapping, key, name = (self.resolve(item) for item in argument)
        return self.template["Mappings"][mapping][key][name]

    def _contains(self, argument: list[Any]) -> bool:
        # A rule function: CloudFormation compares the value with each member as strings.
        members, value = argument
        return str(self.resolve(value)) in {str(member) for member in self.resolve(members)}

    # ------------------------------------------------------------------ resources
    def _creators(self) -> dict[str, Any]:
        return {
            "AWS::SQS::Queue": Stack._create_queue,
            "AWS::DynamoDB::Table": Stack._create_table,
            "AWS::SecretsManager::Secret": Stack._create_secret,
            "AWS::S3::Bucket": Stack._create_bucket,
            "AWS::Serverless::StateMachine": Stack._create_state_machine,
            "AWS::Serverless::Function": Stack._describe_function,
            "AWS::ApiGateway::ApiKey": Stack._create_api_key,
            "AWS::Events::EventBus": Stack._create_event_bus,
            "AWS::Events::Rule": Stack._create_rule,
            "AWS::SNS::Topic": Stack._create_topic,
            "AWS::SNS::Subscription": Stack._create_subscription,
            "AWS::SES::ConfigurationSet": Stack._create_ses_configuration_set,
            "AWS::SMSVOICE::ConfigurationSet": Stack._name_sms_configuration_set,
            "AWS::Scheduler::ScheduleGroup": Stack._create_schedule_group,
            "AWS::IAM::Role": Stack._describe_role,
        }

    def _create_queue(self, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
        props = self.resolve(properties)
        name = props.pop("QueueName")
        attributes = {key: _attribute_value(value) for key, value in props.items()}
        sqs = self.session.client("sqs")
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = f"arn:aws:sqs:{self.region}:{ACCOUNT_ID}:{name}"
        return {"Ref": url, "Arn": arn, "QueueName": name, "QueueUrl": url}

    def _create_table(self, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
        props = self.resolve(properties)
        dynamodb = self.session.client("dynamodb")
        name = props["TableName"]
        indexes = props.get("GlobalSecondaryIndexes")
        stream = props.get("StreamSpecification")
        created = dynamodb.create_table(
            TableName=name,
            AttributeDefinitions=props["AttributeDefinitions"],
            KeySchema=props["KeySchema"],
            BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"),
            **({"GlobalSecondaryIndexes": indexes} if indexes else {}),
            **({"StreamSpecification": {"StreamEnabled": True, **stream}} if stream else {}),
        )["TableDescription"]
        if "TimeToLiveSpecification" in props:
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification=props["TimeToLiveSpecification"]
            )
        arn = f"arn:aws:dynamodb:{self.region}:{ACCOUNT_ID}:table/{name}"
        stream_arn = {"StreamArn": created["LatestStreamArn"]} if stream else {}
        return {"Ref": name, "Arn": arn, **stream_arn}

    def _create_secret(self, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
        props = self.resolve(properties)
        secrets = self.session.client("secretsmanager")
        arn = secrets.create_secret(Name=props["Name"], SecretString=props["SecretString"])["ARN"]
        return {"Ref": arn, "Id": arn}

    def _create_bucket(self, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
        # Encryption, public access blocks, lifecycle rules and logging have no local effect.
        if "BucketName" in properties:
            name = self.resolve(properties["BucketName"])
        else:
            name = self._generated_bucket_name(logical_id)
        s3 = self.session.client("s3")
        location = {} if self.region == "us-east-1" else {"LocationConstraint": self.region}
        s3.create_bucket(
            Bucket=name, **({"CreateBucketConfiguration": location} if location else {})
        )
        versioning = self.resolve(properties.get("VersioningConfiguration"))
        if versioning:
            s3.put_bucket_versioning(
                Bucket=name, VersioningConfiguration={"Status": versioning["Status"]}
            )
        notifications = self._bucket_notifications(logical_id, properties)
        if notifications:
            s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration=notifications
            )
        return {
            "Ref": name,
            "Arn": f"arn:aws:s3:::{name}",
            "DomainName": f"{name}.s3.amazonaws.com",
            "DualStackDomainName": f"{name}.s3.dualstack.{self.region}.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{self.region}.amazonaws.com",
            "WebsiteURL": f"http://{name}.s3-website-{self.region}.amazonaws.com",
        }

    def _generated_bucket_name(self, logical_id: str) -> str:
        # CloudFormation's form, <stack>-<logical id>-<random>, lower case; the same each run.
        suffix = hashlib.sha256(f"{self.name}/{logical_id}".encode()).hexdigest()[:12]
        return f"{self.name}-{logical_id}".lower()[: 63 - 13] + f"-{suffix}"

    def _bucket_notifications(
        self, logical_id: str, properties: dict[str, Any]
    ) -> dict[str, list[dict[str, Any]]]:
        """The bucket's NotificationConfiguration in S3's API shape, with a function
        configuration for each function `Events` entry of `Type: S3` on this bucket, as SAM
        adds it (its `Bucket` is a `!Ref` to the bucket, never resolved here: that would
        create the bucket again)."""
        declared = self.resolve(properties.get("NotificationConfiguration", {}))
        kinds = (
            (
                "LambdaConfigurations",
                "LambdaFunctionConfigurations",
                "Function",
                "LambdaFunctionArn",
            ),
            ("QueueConfigurations", "QueueConfigurations", "Queue", "QueueArn"),
            ("TopicConfigurations", "TopicConfigurations", "Topic", "TopicArn"),
        )
        configuration: dict[str, list[dict[str, Any]]] = {}
        for template_key, api_key, target, api_target in kinds:
            for entry in declared.get(template_key, []):
                configuration.setdefault(api_key, []).append(
                    {api_target: entry[target], "Events": [entry["Event"]]}
                    | _key_filter(entry.get("Filter"))
                )
        for function_id, resource in self.resources():
            if resource["Type"] != "AWS::Serverless::Function":
                continue
            for event in resource["Properties"].get("Events", {}).values():
                props = event.get("Properties", {})
                if event.get("Type") != "S3" or props.get("Bucket") != {"Ref": logical_id}:
                    continue
                props = self.resolve({k: v for k, v in props.items() if k != "Bucket"})
                events = props["Events"]
                configuration.setdefault("LambdaFunctionConfigurations", []).append(
                    {
                        "LambdaFunctionArn": self.physical(function_id)["Arn"],
                        "Events": [events] if isinstance(events, str) else list(events),
                    }
                    | _key_filter(props.get("Filter"))
                )
        return configuration

    def _create_state_machine(self, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
        # Logging, tracing and policies have no local counterpart; resolve only what runs.
        wanted = ("Name", "Type", "DefinitionUri", "DefinitionSubstitutions")
        props = self.resolve({key: properties[key] for key in wanted if key in properties})
        definition = (ROOT / props["DefinitionUri"]).read_text()
        for key, value in props.get("DefinitionSubstitutions", {}).items():
            definition = definition.replace("${" + key + "}", str(value))
        json.loads(definition)  # a bad substitution should fail here, not mid-execution
        arn = self.session.client("stepfunctions").create_state_machine(
            name=props["Name"],
            definition=definition,
            roleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/{self.name}-{logical_id}",
            type=props.get("Type", "STANDARD"),
        )["stateMachineArn"]
        return {"Ref": arn, "Arn": arn, "Name": props["Name"]}

    def _create_api_key(self, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
        props = self.resolve(properties)
        key = self.session.client("apigateway").create_api_key(
            name=props["Name"], description=props.get("Description", ""), enabled=True
        )
        return {"Ref": key["id"], "Value": key["value"]}

    def _create_event_bus(self, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
        name = self.resolve(properties["Name"])
        arn = self.session.client("events").create_event_bus(Name=name)["EventBusArn"]
        return {"Ref": name, "Arn": arn, "Name": name}

    def _create_rule(self, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
        # Rules deliver locally too: an event put on the bus reaches the rule's SQS targets.
        props = self.resolve(properties)
        name = f"{self.name}-{logical_id}"[:64]
        bus = props.get("EventBusName", "default")
        events = self.session.client("events")
        arn = events.put_rule(
            Name=name, EventBusName=bus, EventPattern=json.dumps(props["EventPattern"])
        )["RuleArn"]
        targets = [{"Id": t["Id"], "Arn": t["Arn"]} for t in props.get("Targets", [])]
        if targets:
            events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
        return {"Ref": name, "Arn": arn}

    def _create_topic(self, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
        name = self.resolve(properties["TopicName"])
        arn = self.session.client("sns").create_topic(Name=name)["TopicArn"]
        return {"Ref": arn, "TopicArn": arn, "TopicName": name}

    def _create_subscription(self, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
        props = self.resolve(properties)
        attributes = {"RawMessageDelivery": "true"} if props.get("RawMessageDelivery") else {}
        arn = self.session.client("sns").subscribe(
            TopicArn=props["TopicArn"],
            Protocol=props["Protocol"],
            Endpoint=props["Endpoint"],
            Attributes=attributes,
        )["SubscriptionArn"]
        return {"Ref": arn}

    def _create_ses_configuration_set(
        self, logical_id: str, properties: dict[str, Any]
    ) -> dict[str, str]:
        # Its event destination (EventBridge) has no local counterpart: moto's SES emits no events.
        name = self.resolve(properties["Name"])
        self.session.client("sesv2").create_configuration_set(ConfigurationSetName=name)
        return {"Ref": name}

    def _name_sms_configuration_set(
        self, logical_id: str, properties: dict[str, Any]
    ) -> dict[str, str]:
        # moto has no SMS v2; the sends are answered by the providers' hook, which ignores it.
        name = self.resolve(properties["ConfigurationSetName"])
        arn = f"arn:aws:sms-voice:{self.region}:{ACCOUNT_ID}:configuration-set/{name}"
        return {"Ref": name, "Arn": arn}

    def _create_schedule_group(self, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
        name = self.resolve(properties["Name"])
        arn = self.session.client("scheduler").create_schedule_group(Name=name)["ScheduleGroupArn"]
        return {"Ref": name, "Arn": arn}

    def _describe_role(self, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
        # IAM is not enforced locally; a role is only named (passed to Scheduler, say).
        name = f"{self.name}-{logical_id}"
        return {"Ref": name, "Arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{name}"}

    def _describe_function(self, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
        name = f"{self.name}-{logical_id}"
        arn = f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{name}"
        return {"Ref": name, "Arn": arn}

    def _describe_only(self, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
        # Served by the emulator itself (API, pipe) or meaningless locally (IAM, alarms).
        return {"Ref": f"{self.name}-{logical_id}"}

    def _function(self, logical_id: str, overrides: dict[str, str]) -> FunctionSpec:
        globals_ = self.template.get("Globals", {}).get("Function", {})
        properties = self.template["Resources"][logical_id]["Properties"]
        variables = {
            **globals_.get("Environment", {}).get("Variables", {}),
            **properties.get("Environment", {}).get("Variables", {}),
        }
        physical = self.physical(logical_id)
        environment = {key: str(value) for key, value in self.resolve(variables).items()}
        environment |= {key: value for key, value in overrides.items() if key in environment}
        return FunctionSpec(
            logical_id=logical_id,
            name=physical["Ref"],
            arn=physical["Arn"],
            handler=properties["Handler"],
            environment=environment,
        )


def _key_filter(template_filter: dict[str, Any] | None) -> dict[str, Any]:
    """A template's `Filter: {S3Key: {Rules: [...]}}` as S3's API takes it."""
    if not template_filter:
        return {}
    rules = [
        {"Name": rule["Name"].lower(), "Value": rule["Value"]}
        for rule in template_filter["S3Key"]["Rules"]
    ]
    return {"Filter": {"Key": {"FilterRules": rules}}}


def _attribute_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


_INTRINSICS = {
    "Ref": Stack._ref,
    "Fn::GetAtt": Stack._get_att,
    "Fn::Sub": Stack._sub,
    "Fn::If": Stack._if,
    "Fn::FindInMap": Stack._find_in_map,
    "Fn::Contains": Stack._contains,
    "Fn::And": lambda stack, args: all(stack.resolve(arg) for arg in args),
    "Fn::Or": lambda stack, args: any(stack.resolve(arg) for arg in args),
    "Fn::Equals": lambda stack, args: stack.resolve(args[0]) == stack.resolve(args[1]),
    "Fn::Not": lambda stack, args: not stack.resolve(args[0]),
    "Condition": lambda stack, name: stack._condition(name),
}
