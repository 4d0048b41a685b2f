"""What template.yaml's Api resource says, resolved for one stack: routes, authorizer, limits.

Routes come from the OpenAPI `paths` of the Api's DefinitionBody (api/openapi.yaml, which
template.yaml includes); the usage plan and the stage's `MethodSettings` give the throttles;
the gateway responses shape errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from emulator.request_schema import SEND_REQUEST
from emulator.stack import ACCOUNT_ID
from emulator.throttling import MethodSetting, UsagePlan
from notify.domain.lanes import utf16_length

API_ID = "local"
JWT_AUTHORIZER = "JwtAuthorizer"
API_KEY = "ApiKey"
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
_SQS_URI = re.compile(r"^arn:[^:]+:apigateway:[^:]+:sqs:path/(?P<account>\d+)/(?P<queue>[^/]+)$")
_LAMBDA_URI = re.compile(r"/functions/(?P<function>arn:[^/]+)/invocations$")


# The request template's lane: `#if($input.body.length() > N)#set(...path.queue = "Q")#{end}`.
_LANE = re.compile(
    r"#if\(\$input\.body\.length\(\) > (?P<limit>\d+)\)"
    r'#set\(\$context\.requestOverride\.path\.queue = "(?P<queue>[^"]+)"\)#\{end\}'
)


@dataclass(frozen=True)
class SqsIntegration:
    queue_name: str
    responses: dict[str, Any]
    large_queue_name: str | None = None  # where a body over `small_max_characters` goes
    small_max_characters: int | None = None

    def queue_for(self, body: str) -> str:
        """The queue the request template sends `body` to (its length in UTF-16 units)."""
        limit = self.small_max_characters
        if limit is None or utf16_length(body) <= limit:
            return self.queue_name
        return self.large_queue_name or self.queue_name


@dataclass(frozen=True)
class LambdaProxyIntegration:
    function_arn: str


@dataclass(frozen=True)
class Route:
    method: str
    resource: str  # the OpenAPI path, e.g. /messages/{TraceId}
    security: frozenset[str]
    integration: SqsIntegration | LambdaProxyIntegration
    validate_body: bool = False
    model: str = SEND_REQUEST  # the body's model (components.schemas), when validate_body
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_pattern", _path_pattern(self.resource))

    def match(self, raw_path: str) -> dict[str, str] | None:
        """The path parameters (still percent-encoded, as API Gateway passes them), or None."""
        found = self._pattern.fullmatch(raw_path)
        return None if found is None else found.groupdict()


def _path_pattern(resource: str) -> re.Pattern[str]:
    parts = []
    for segment in resource.strip("/").split("/") if resource != "/" else []:
        greedy = re.fullmatch(r"\{(\w+)\+\}", segment)
        single = re.fullmatch(r"\{(\w+)\}", segment)
        if greedy:
            parts.append(f"(?P<{greedy[1]}>.+)")
        elif single:
            parts.append(f"(?P<{single[1]}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile("/" + "/".join(parts))


@dataclass(frozen=True)
class Authorizer:
    function: str  # a function name or ARN, what LambdaRuntime.invoke takes
    header: str
    ttl: int
    token_expression: str


@dataclass(frozen=True)
class ApiDefinition:
    """What template.yaml says about the API, resolved for one stack."""

    stage: str
    region: str
    routes: list[Route]
    authorizer: Authorizer
    api_key_header: str
    usage_plan: UsagePlan
    method_settings: list[MethodSetting]
    gateway_responses: dict[str, Any]

    def method_arn(self, method: str, path: str) -> str:
        prefix = f"arn:aws:execute-api:{self.region}:{ACCOUNT_ID}:{API_ID}"
        return f"{prefix}/{self.stage}/{method}{path}"


def api_definition(stack: Any) -> ApiDefinition:
    """Read the API's routes, authorizer, limits and gateway responses from template.yaml."""
    resources = stack.template["Resources"]
    api = resources["Api"]["Properties"]
    body = api["DefinitionBody"]
    schemes = body.get("components", {}).get("securitySchemes", {})
    authorizer = schemes[JWT_AUTHORIZER]["x-amazon-apigateway-authorizer"]
    function_arn = _LAMBDA_URI.search(stack.resolve(authorizer["authorizerUri"]))
    if function_arn is None:
        raise ValueError("the JwtAuthorizer's authorizerUri names no Lambda function")
    plan = stack.resolve(
        {key: resources["UsagePlan"]["Properties"].get(key) for key in ("Throttle", "Quota")}
    )
    quota = plan.get("Quota") or {}
    return ApiDefinition(
        stage=stack.resolve(api["StageName"]),
        region=stack.region,
        routes=_routes(stack, body),
        authorizer=Authorizer(
            function=function_arn["function"],
            header=schemes[JWT_AUTHORIZER].get("name", "Authorization"),
            ttl=int(authorizer.get("authorizerResultTtlInSeconds", 300)),
            token_expression=authorizer.get("identityValidationExpression", ".+"),
        ),
        api_key_header=schemes.get(API_KEY, {}).get("name", "x-api-key"),
        usage_plan=UsagePlan(
            rate=float(plan["Throttle"]["RateLimit"]),
            burst=int(plan["Throttle"]["BurstLimit"]),
            quota_limit=int(quota["Limit"]) if quota else None,
            quota_period=quota.get("Period", "DAY"),
        ),
        method_settings=[
            MethodSetting(
                # CloudFormation writes a resource path's slashes as ~1 ("/~1webhook").
                resource_path="/" + setting["ResourcePath"].lstrip("/").replace("~1", "/")
                if setting["ResourcePath"] != "/*"
                else "/*",
                http_method=setting["HttpMethod"],
                rate=float(setting["ThrottlingRateLimit"]),
                burst=int(setting["ThrottlingBurstLimit"]),
            )
            for setting in stack.resolve(api.get("MethodSettings", []))
            if "ThrottlingRateLimit" in setting and "ThrottlingBurstLimit" in setting
        ],
        gateway_responses=body.get("x-amazon-apigateway-gateway-responses", {}),
    )


def _routes(stack: Any, body: dict[str, Any]) -> list[Route]:
    validators = body.get("x-amazon-apigateway-request-validators", {})
    models = body.get("components", {}).get("schemas", {})
    default_security = body.get("security", [])
    routes = []
    for resource, operations in body["paths"].items():
        for method, operation in operations.items():
            if method not in _METHODS:
                continue
            security = operation.get("security", default_security)
            if len(security) > 1:
                raise ValueError(f"{method.upper()} {resource}: one security requirement only")
            validator = validators.get(operation.get("x-amazon-apigateway-request-validator"), {})
            validate_body = bool(validator.get("validateRequestBody"))
            model = _body_schema(operation)
            if validate_body and model not in models:
                raise ValueError(
                    f"{method.upper()} {resource}: its body's model {model!r} is not one of "
                    "components.schemas"
                )
            routes.append(
                Route(
                    method=method.upper(),
                    resource=resource,
                    security=frozenset(security[0]) if security else frozenset(),
                    integration=_integration(stack, method, resource, operation),
                    validate_body=validate_body,
                    model=model if validate_body else SEND_REQUEST,
                )
            )
    # Literal segments beat parameters, as in API Gateway: /messages/latest before /messages/{Id}.
    return sorted(routes, key=lambda route: route.resource.count("{"))


def _body_schema(operation: dict[str, Any]) -> str:
    content = operation.get("requestBody", {}).get("content", {})
    reference = content.get("application/json", {}).get("schema", {}).get("$ref", "")
    return reference.rsplit("/", 1)[-1]


def _integration(
    stack: Any, method: str, resource: str, operation: dict[str, Any]
) -> SqsIntegration | LambdaProxyIntegration:
    spec = operation["x-amazon-apigateway-integration"]
    uri = stack.resolve(spec["uri"])
    if spec["type"] == "aws_proxy":
        found = _LAMBDA_URI.search(uri)
        if found:
            return LambdaProxyIntegration(found["function"])
    elif spec["type"] == "aws":
        found = _SQS_URI.match(uri)
        if found:
            return _sqs_integration(stack, found["queue"], spec)
    raise ValueError(
        f"{method.upper()} {resource}: the local API serves SQS `aws` and Lambda "
        f"`aws_proxy` integrations, not {spec['type']} {uri}"
    )


def _sqs_integration(stack: Any, queue: str, spec: dict[str, Any]) -> SqsIntegration:
    """The queue named in the URI, or by the `{queue}` path parameter and its override."""
    if queue == "{queue}":
        parameters = stack.resolve(spec.get("requestParameters", {}))
        queue = parameters["integration.request.path.queue"].strip("'")
    template = stack.resolve(spec.get("requestTemplates", {})).get("application/json", "")
    lane = _LANE.search(template)
    return SqsIntegration(
        queue,
        spec.get("responses", {}),
        large_queue_name=lane["queue"] if lane else None,
        small_max_characters=int(lane["limit"]) if lane else None,
    )
