"""POST / as API Gateway runs it, for the local stack (like `sam local start-api`).

In API Gateway's order: the TOKEN authorizer (the real handler, result cached per
token), the API key and its usage plan's token bucket, the JSON Schema model from
template.yaml, then the SQS integration. Errors use the template's gateway responses.
"""

from __future__ import annotations

import fnmatch
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from emulator.api import queued_body
from emulator.lambdas import LambdaRuntime
from emulator.request_schema import parse_and_validate
from emulator.stack import ACCOUNT_ID


@dataclass(frozen=True)
class ApiSettings:
    """What template.yaml says about the send route."""

    method_arn: str
    authorizer: str  # function name
    authorizer_ttl: int
    token_expression: str
    rate: float
    burst: int
    gateway_responses: dict[str, Any]


class TokenBucket:
    """A usage plan's throttle: `rate` requests per second, bursts up to `burst`."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate, self._burst, self._clock = rate, burst, clock
        self._tokens, self._updated = float(burst), clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
            self._updated = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True


class ApiError(Exception):
    def __init__(self, response_type: str, message: str, validation: str = "") -> None:
        super().__init__(message)
        self.response_type, self.message, self.validation = response_type, message, validation


class ApiGateway:
    def __init__(
        self,
        settings: ApiSettings,
        runtime: LambdaRuntime,
        sqs: Any,
        queue_url: str,
        api_keys: set[str],
    ) -> None:
        self._settings = settings
        self._runtime = runtime
        self._sqs = sqs
        self._queue_url = queue_url
        self._api_keys = api_keys
        self._buckets: dict[str, TokenBucket] = {}
        self._auth_cache: dict[str, tuple[float, dict[str, str] | None]] = {}
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        try:
            caller = self._authorize(request.headers.get("Authorization", ""))
            self._throttle(request.headers.get("x-api-key", ""))
            body = request.get_data(as_text=True)
            self._validate(body)
            message_id = self._sqs.send_message(
                QueueUrl=self._queue_url, MessageBody=queued_body(caller["caller"], body)
            )["MessageId"]
        except ApiError as error:
            return self._gateway_response(error, request_id)
        return json_response(202, {"MessageId": message_id, "RequestId": request_id})

    # ------------------------------------------------------------------ the steps
    def _authorize(self, header: str) -> dict[str, str]:
        if not re.fullmatch(self._settings.token_expression, header):
            raise ApiError("UNAUTHORIZED", "Unauthorized")
        context = self._cached_authorization(header)
        if context is None:
            raise ApiError("UNAUTHORIZED", "Unauthorized")
        return context

    def _cached_authorization(self, token: str) -> dict[str, str] | None:
        now = time.monotonic()
        with self._lock:
            cached = self._auth_cache.get(token)
        if cached and cached[0] > now:
            return cached[1]
        event = {
            "type": "TOKEN",
            "authorizationToken": token,
            "methodArn": self._settings.method_arn,
        }
        result, error = self._runtime.invoke(self._settings.authorizer, event)
        context = None if error else self._allowed_context(result)
        if error is None and context is None:
            raise ApiError("ACCESS_DENIED", "User is not authorized to access this resource")
        with self._lock:
            self._auth_cache[token] = (now + self._settings.authorizer_ttl, context)
        return context

    def _allowed_context(self, result: dict[str, Any]) -> dict[str, str] | None:
        for statement in result["policyDocument"]["Statement"]:
            resources = statement["Resource"]
            resources = resources if isinstance(resources, list) else [resources]
            matches = any(fnmatch.fnmatchcase(self._settings.method_arn, r) for r in resources)
            if statement["Effect"] == "Allow" and matches:
                return result.get("context", {})
        return None

    def _throttle(self, api_key: str) -> None:
        if api_key not in self._api_keys:
            raise ApiError("INVALID_API_KEY", "Forbidden")
        with self._lock:
            bucket = self._buckets.setdefault(
                api_key, TokenBucket(self._settings.rate, self._settings.burst)
            )
        if not bucket.take():
            raise ApiError("THROTTLED", "Too Many Requests")

    def _validate(self, body: str) -> None:
        reasons = parse_and_validate(body)[1]
        if reasons:
            raise ApiError("BAD_REQUEST_BODY", "Invalid request body", "; ".join(reasons))

    # ------------------------------------------------------------------ responses
    def _gateway_response(self, error: ApiError, request_id: str) -> Response:
        responses = self._settings.gateway_responses
        spec = responses.get(error.response_type) or responses["DEFAULT_4XX"]
        template = spec["responseTemplates"]["application/json"]
        body = (
            template.replace("$context.error.messageString", json.dumps(error.message))
            .replace("$context.error.validationErrorString", json.dumps(error.validation)[1:-1])
            .replace("$context.requestId", request_id)
        )
        status = int(spec.get("statusCode", 400))
        return Response(body, status=status, content_type="application/json")


def json_response(status: int, payload: Any) -> Response:
    return Response(json.dumps(payload), status=status, content_type="application/json")


def api_settings(stack: Any) -> ApiSettings:
    """Read the send route's authorizer, throttle and gateway responses from the template."""
    resources = stack.template["Resources"]
    body = resources["Api"]["Properties"]["DefinitionBody"]
    authorizer = body["components"]["securitySchemes"]["JwtAuthorizer"][
        "x-amazon-apigateway-authorizer"
    ]
    throttle = stack.resolve(resources["UsagePlan"]["Properties"]["Throttle"])
    stage = stack.resolve({"Ref": "StageName"})
    return ApiSettings(
        method_arn=f"arn:aws:execute-api:{stack.region}:{ACCOUNT_ID}:local/{stage}/POST/",
        authorizer=stack.physical("AuthorizerFunction")["Ref"],
        authorizer_ttl=int(authorizer["authorizerResultTtlInSeconds"]),
        token_expression=authorizer["identityValidationExpression"],
        rate=float(throttle["RateLimit"]),
        burst=int(throttle["BurstLimit"]),
        gateway_responses=body["x-amazon-apigateway-gateway-responses"],
    )
