"""The REST API as API Gateway runs it, for the local stack (like `sam local start-api`).

Routes come from the OpenAPI `paths` of api/openapi.yaml (the Api's DefinitionBody).
Each request goes through API Gateway's steps in its order: route match (an unknown
method or path gets API Gateway's 403 "Missing Authentication Token"), the TOKEN
authorizer (the real handler, its policy cached per token and checked against each
route's method ARN), the API key with its usage plan's token bucket and quota, the
stage's per-method throttle (`MethodSettings`, the most specific setting wins), the
JSON Schema model (a refused body gets API Gateway's own validationErrorString,
emulator/validation_errors.py), then the integration:

- `type: aws` with an SQS `path/<account>/<queue>` uri: SendMessage of the caller
  beside the body, as the mapping template does (emulator/api.py);
- `type: aws_proxy`: invoke the Lambda named by the uri with a REST API (v1) proxy
  event and return its proxy response.

Errors use the template's gateway responses. Locally the API is served at the root
(no `/<stage>` prefix); `requestContext.path` is the path as served.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from werkzeug.wrappers import Request, Response

from emulator.api import queued_body
from emulator.api_definition import (
    API_ID,
    API_KEY,
    JWT_AUTHORIZER,
    ApiDefinition,
    LambdaProxyIntegration,
    Route,
    SqsIntegration,
)
from emulator.lambdas import LambdaRuntime
from emulator.request_schema import parse_and_validate
from emulator.stack import ACCOUNT_ID
from emulator.throttling import Quota, TokenBucket, most_specific
from emulator.validation_errors import validation_error_string

logger = logging.getLogger(__name__)

SQS_MAX_MESSAGE_BYTES = 262_144
AUTHORIZER_TIMEOUT_SECONDS = 30  # a Lambda authorizer's limit in API Gateway
# API Gateway's status for each gateway response type a template may leave without one.
_DEFAULT_STATUS = {
    "ACCESS_DENIED": 403,
    "API_CONFIGURATION_ERROR": 500,
    "AUTHORIZER_FAILURE": 500,
    "BAD_REQUEST_BODY": 400,
    "INTEGRATION_FAILURE": 504,
    "INVALID_API_KEY": 403,
    "MISSING_AUTHENTICATION_TOKEN": 403,
    "QUOTA_EXCEEDED": 429,
    "THROTTLED": 429,
    "UNAUTHORIZED": 401,
}


class ApiError(Exception):
    def __init__(
        self, response_type: str, message: str, validation: str = "", status: int | None = None
    ) -> None:
        super().__init__(message)
        self.response_type, self.message, self.validation = response_type, message, validation
        self.status = status


# ---------------------------------------------------------------------- the API
class ApiGateway:
    def __init__(
        self,
        definition: ApiDefinition,
        runtime: LambdaRuntime,
        sqs: Any,
        api_keys: Mapping[str, str],
    ) -> None:
        """`api_keys` maps each usage-plan key's value to its id (`identity.apiKeyId`)."""
        self._definition = definition
        self._runtime = runtime
        self._sqs = sqs
        self._api_keys = api_keys
        self._queue_urls: dict[str, str] = {}
        self._key_buckets: dict[str, TokenBucket] = {}
        self._quotas: dict[str, Quota] = {}
        self._route_buckets: dict[tuple[str, str], TokenBucket | None] = {}
        self._auth_cache: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._authorizing: dict[str, threading.Event] = {}  # tokens whose answer is awaited
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        try:
            route, parameters = self._route(request)
            context = None
            if JWT_AUTHORIZER in route.security:
                context = self._authorize(request, route)
            if API_KEY in route.security:
                self._meter_api_key(request.headers.get(self._definition.api_key_header, ""))
            self._throttle_route(route)
            if route.validate_body:
                self._validate(request.get_data(as_text=True), route.model)
            if isinstance(route.integration, SqsIntegration):
                return self._send_to_queue(request, route, route.integration, context, request_id)
            event = self._proxy_event(request, route, parameters, context, request_id)
            return self._invoke_proxy(route.integration, event)
        except ApiError as error:
            return self._gateway_response(error, request_id)

    # ------------------------------------------------------------------ the steps
    def _route(self, request: Request) -> tuple[Route, dict[str, str]]:
        path = _raw_path(request)
        for route in self._definition.routes:
            parameters = route.match(path)
            if parameters is not None and route.method == request.method:
                return route, parameters
        raise ApiError("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")

    def _authorize(self, request: Request, route: Route) -> dict[str, Any]:
        authorizer = self._definition.authorizer
        token = request.headers.get(authorizer.header, "")
        if not re.fullmatch(authorizer.token_expression, token):
            raise ApiError("UNAUTHORIZED", "Unauthorized")
        method_arn = self._definition.method_arn(route.method, _raw_path(request))
        policy = self._cached_policy(token, method_arn)
        if policy is None:
            raise ApiError("UNAUTHORIZED", "Unauthorized")
        if not _allows(policy, method_arn):
            raise ApiError("ACCESS_DENIED", "User is not authorized to access this resource")
        return {**policy.get("context", {}), "principalId": policy.get("principalId", "")}

    def _cached_policy(self, token: str, method_arn: str) -> dict[str, Any] | None:
        """The authorizer's answer for this token (None: refused), cached for its TTL.

        As in API Gateway, the call that misses the cache sends its own method ARN; the
        policy is cached by token and checked against every later call's ARN. Calls that
        miss while the authorizer is already asked about their token wait for its answer:
        locally a burst of them would queue for cold starts that Lambda runs in parallel.
        """
        with self._lock:
            cached = self._auth_cache.get(token)
            fresh = cached is not None and cached[0] > time.monotonic()
            pending = None if fresh else self._authorizing.get(token)
            if not fresh and pending is None:
                self._authorizing[token] = threading.Event()
        if fresh:
            return cached[1]
        if pending is not None:
            pending.wait(AUTHORIZER_TIMEOUT_SECONDS)
            with self._lock:
                cached = self._auth_cache.get(token)
            return cached[1] if cached else None
        try:
            return self._invoke_authorizer(token, method_arn)
        finally:
            with self._lock:
                self._authorizing.pop(token).set()

    def _invoke_authorizer(self, token: str, method_arn: str) -> dict[str, Any] | None:
        now = time.monotonic()
        authorizer = self._definition.authorizer
        event = {
            "type": "TOKEN",
            "authorizationToken": token,
            "methodArn": method_arn,
        }
        result, error = self._runtime.invoke(authorizer.function, event)
        policy = None if error else result
        with self._lock:
            self._auth_cache[token] = (now + authorizer.ttl, policy)
        return policy

    def _meter_api_key(self, api_key: str) -> None:
        if api_key not in self._api_keys:
            raise ApiError("INVALID_API_KEY", "Forbidden")
        plan = self._definition.usage_plan
        with self._lock:
            bucket = self._key_buckets.setdefault(api_key, TokenBucket(plan.rate, plan.burst))
            quota = None
            if plan.quota_limit is not None:
                quota = self._quotas.setdefault(api_key, Quota(plan.quota_limit, plan.quota_period))
        if not bucket.take():
            raise ApiError("THROTTLED", "Too Many Requests")
        if quota is not None and not quota.take():
            raise ApiError("QUOTA_EXCEEDED", "Limit Exceeded")

    def _throttle_route(self, route: Route) -> None:
        key = (route.resource, route.method)
        with self._lock:
            if key not in self._route_buckets:
                setting = most_specific(self._definition.method_settings, *key)
                self._route_buckets[key] = (
                    TokenBucket(setting.rate, setting.burst) if setting else None
                )
            bucket = self._route_buckets[key]
        if bucket is not None and not bucket.take():
            raise ApiError("THROTTLED", "Too Many Requests")

    def _validate(self, body: str, model: str) -> None:
        reasons = parse_and_validate(body, model)[1]
        if reasons:
            raise ApiError(
                "BAD_REQUEST_BODY", "Invalid request body", validation_error_string(reasons)
            )

    # ------------------------------------------------------------------ integrations
    def _send_to_queue(
        self,
        request: Request,
        route: Route,
        integration: SqsIntegration,
        context: dict[str, Any] | None,
        request_id: str,
    ) -> Response:
        body = request.get_data(as_text=True)
        caller = (context or {}).get("caller", "null")
        message = queued_body(caller, body)
        # SQS refuses a message over 256 KiB of UTF-8 (InvalidParameterValue, 400); moto
        # counts characters instead, so the bytes are checked here as SQS checks them.
        if len(message.encode()) > SQS_MAX_MESSAGE_BYTES:
            return _integration_error(integration.responses, 400, request_id)
        try:
            message_id = self._sqs.send_message(
                QueueUrl=self._queue_url(integration.queue_for(body)), MessageBody=message
            )["MessageId"]
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)
            return _integration_error(integration.responses, status, request_id)
        return json_response(202, {"MessageId": message_id, "RequestId": request_id})

    def _queue_url(self, queue_name: str) -> str:
        with self._lock:
            url = self._queue_urls.get(queue_name)
        if url is None:
            url = self._sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
            with self._lock:
                self._queue_urls[queue_name] = url
        return url

    def _proxy_event(
        self,
        request: Request,
        route: Route,
        parameters: dict[str, str],
        context: dict[str, Any] | None,
        request_id: str,
    ) -> dict[str, Any]:
        headers = {name: value for name, value in request.headers.items()}
        headers.setdefault("X-Forwarded-Proto", request.scheme)
        headers.setdefault("X-Forwarded-Port", str(request.host.rpartition(":")[2] or "80"))
        headers.setdefault("X-Forwarded-For", request.remote_addr or "127.0.0.1")
        multi_headers: dict[str, list[str]] = {}
        for name, value in request.headers.items():
            multi_headers.setdefault(name, []).append(value)
        for name in ("X-Forwarded-Proto", "X-Forwarded-Port", "X-Forwarded-For"):
            multi_headers.setdefault(name, [headers[name]])
        query = {name: values[-1] for name, values in request.args.lists()}
        multi_query = {name: list(values) for name, values in request.args.lists()}
        body = request.get_data(as_text=True)
        api_key = request.headers.get(self._definition.api_key_header, "")
        now = datetime.now(UTC)
        request_context: dict[str, Any] = {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "resourceId": route.resource,
            "resourcePath": route.resource,
            "httpMethod": request.method,
            "path": _raw_path(request),
            "stage": self._definition.stage,
            "requestId": request_id,
            "extendedRequestId": request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "domainName": request.host,
            "domainPrefix": request.host.split(".", 1)[0],
            "identity": {
                "sourceIp": request.remote_addr or "127.0.0.1",
                "userAgent": request.headers.get("User-Agent"),
                "apiKey": api_key if API_KEY in route.security else None,
                # The key's id, which names the tenant of the routes that take a key alone.
                "apiKeyId": self._api_keys.get(api_key) if API_KEY in route.security else None,
            },
        }
        if context is not None:
            request_context["authorizer"] = context
        return {
            "resource": route.resource,
            "path": _raw_path(request),
            "httpMethod": request.method,
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": parameters or None,
            "stageVariables": None,
            "requestContext": request_context,
            "body": body or None,
            "isBase64Encoded": False,
        }

    def _invoke_proxy(self, integration: LambdaProxyIntegration, event: dict[str, Any]) -> Response:
        result, error = self._runtime.invoke(integration.function_arn, event)
        if error is not None or not isinstance(result, dict):
            _log_failure(integration.function_arn, result)
            raise _bad_gateway()
        try:
            status = int(result["statusCode"])
            body = result.get("body") or ""
            data = base64.b64decode(body) if result.get("isBase64Encoded") else body
        except (KeyError, TypeError, ValueError):
            raise _bad_gateway() from None
        response = Response(data, status=status)
        response.headers.remove("Content-Type")
        for name, values in (result.get("multiValueHeaders") or {}).items():
            for value in values:
                response.headers.add(name, str(value))
        for name, value in (result.get("headers") or {}).items():
            response.headers[name] = str(value)
        if "Content-Type" not in response.headers:
            response.headers["Content-Type"] = "application/json"
        return response

    # ------------------------------------------------------------------ responses
    def _gateway_response(self, error: ApiError, request_id: str) -> Response:
        responses = self._definition.gateway_responses
        default = "DEFAULT_5XX" if (error.status or 0) >= 500 else "DEFAULT_4XX"
        spec = responses.get(error.response_type) or responses.get(default, {})
        template = spec.get("responseTemplates", {}).get(
            "application/json", '{"message": $context.error.messageString}'
        )
        body = (
            template.replace("$context.error.messageString", json.dumps(error.message))
            .replace("$context.error.validationErrorString", json.dumps(error.validation)[1:-1])
            .replace("$context.requestId", request_id)
        )
        status = int(
            spec.get("statusCode") or error.status or _DEFAULT_STATUS.get(error.response_type, 400)
        )
        return Response(body, status=status, content_type="application/json")


def _log_failure(function_arn: str, result: Any) -> None:
    """What API Gateway's execution log says of a 502: the function's error, as its log has it."""
    if isinstance(result, dict) and "errorType" in result:
        trace = "".join(result.get("stackTrace") or [])
        reason = f"{result['errorType']}: {result.get('errorMessage')}\n{trace}"
    else:
        reason = f"a malformed response: {json.dumps(result)[:500]}"
    logger.error("Lambda execution failed (%s): %s", function_arn.rsplit(":", 1)[-1], reason)


def _bad_gateway() -> ApiError:
    # What API Gateway answers when a proxy Lambda fails or returns a malformed response.
    return ApiError("DEFAULT_5XX", "Internal server error", status=502)


def _integration_error(responses: dict[str, Any], status: int, request_id: str) -> Response:
    for selection, spec in responses.items():
        if selection != "default" and re.fullmatch(selection, str(status)):
            template = spec.get("responseTemplates", {}).get("application/json", "{}")
            body = template.replace("$context.requestId", request_id)
            return Response(body, status=int(spec["statusCode"]), content_type="application/json")
    return json_response(500, {"message": "Internal server error", "requestId": request_id})


def _allows(policy: dict[str, Any], method_arn: str) -> bool:
    allowed = False
    for statement in policy.get("policyDocument", {}).get("Statement", []):
        resources = statement.get("Resource", [])
        resources = resources if isinstance(resources, list) else [resources]
        if any(fnmatch.fnmatchcase(method_arn, resource) for resource in resources):
            if statement.get("Effect") == "Deny":
                return False  # an explicit deny wins, as in IAM
            allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def _raw_path(request: Request) -> str:
    """The path as the client sent it, percent-encoding kept (API Gateway's REST `path`)."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        path = raw.split("?", 1)[0]
        if path.startswith("/"):
            return path
    return request.path


def json_response(status: int, payload: Any) -> Response:
    return Response(json.dumps(payload), status=status, content_type="application/json")
