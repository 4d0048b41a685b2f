"""The local API's routing, authorization, limits and Lambda proxy events, without a server."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Request

from emulator.api_definition import (
    ApiDefinition,
    Authorizer,
    LambdaProxyIntegration,
    Route,
    SqsIntegration,
    api_definition,
)
from emulator.api_gateway import ApiGateway
from emulator.stack import Stack
from emulator.throttling import MethodSetting, Quota, TokenBucket, UsagePlan
from notify.domain.lanes import SMALL_REQUEST_MAX_CHARACTERS

KEY = "the-api-key"
KEY_ID = "key0000001"
VALIDATION = '{"reason": "$context.error.validationErrorString"}'
TOKEN = "Bearer good.token"
CONTEXT = {"sub": "u1", "customer_id": "c1", "email": "", "caller": '{"sub":"u1"}'}
GATEWAY_RESPONSES = {
    "UNAUTHORIZED": {
        "statusCode": 401,
        "responseTemplates": {"application/json": '{"message": "Unauthorized"}'},
    },
    "THROTTLED": {
        "statusCode": 429,
        "responseTemplates": {"application/json": '{"message": "Too many requests"}'},
    },
    "QUOTA_EXCEEDED": {
        "statusCode": 429,
        "responseTemplates": {"application/json": '{"reason": "Quota exceeded"}'},
    },
    "DEFAULT_4XX": {
        "responseTemplates": {"application/json": '{"message": $context.error.messageString}'}
    },
}


class FakeRuntime:
    """Answers the authorizer and records proxy events; `reply` is the proxy Lambda's answer."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.reply: Any = {"statusCode": 200, "headers": {"X-Thing": "1"}, "body": '{"ok": true}'}

    def invoke(self, function: str, payload: Any) -> tuple[Any, str | None]:
        if function == "authorizer":
            if payload["authorizationToken"] != TOKEN:
                return {"errorMessage": "Unauthorized"}, "Exception"
            stage = payload["methodArn"].split("/", 2)[0] + "/dev/*/*"
            policy = {"Statement": [{"Effect": "Allow", "Resource": stage}]}
            return {"principalId": "u1", "policyDocument": policy, "context": CONTEXT}, None
        self.events.append(payload)
        return (self.reply, None) if not isinstance(self.reply, Exception) else ({}, "Boom")


def definition(**changes: Any) -> ApiDefinition:
    values: dict[str, Any] = {
        "stage": "dev",
        "region": "us-east-1",
        "routes": [
            Route("POST", "/", frozenset({"JwtAuthorizer", "ApiKey"}), SqsIntegration("q", {})),
            Route("GET", "/messages/{TraceId}", frozenset({"JwtAuthorizer"}), _proxy()),
            Route("POST", "/webhook", frozenset(), _proxy()),
            Route("POST", "/trigger", frozenset({"ApiKey"}), _proxy(), True, "TriggerRecord"),
        ],
        "authorizer": Authorizer("authorizer", "Authorization", 300, r"^Bearer [-0-9A-Za-z_.]+$"),
        "api_key_header": "x-api-key",
        "usage_plan": UsagePlan(rate=0.001, burst=3),
        "method_settings": [MethodSetting("/*", "*", 100, 200)],
        "gateway_responses": GATEWAY_RESPONSES,
    }
    return ApiDefinition(**(values | changes))


def _proxy() -> LambdaProxyIntegration:
    return LambdaProxyIntegration("arn:aws:lambda:us-east-1:123456789012:function:status")


class FakeSqs:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def get_queue_url(self, QueueName: str) -> dict[str, str]:
        return {"QueueUrl": f"http://queue/{QueueName}"}

    def send_message(self, QueueUrl: str, MessageBody: str) -> dict[str, str]:
        self.sent.append(MessageBody)
        return {"MessageId": "m-1"}


@pytest.fixture
def runtime() -> FakeRuntime:
    return FakeRuntime()


def client(runtime: FakeRuntime, **changes: Any) -> Client:
    gateway = ApiGateway(definition(**changes), runtime, FakeSqs(), {KEY: KEY_ID})
    return Client(lambda environ, start: gateway(_request(environ))(environ, start))


def _request(environ: dict[str, Any]) -> Request:
    return Request(environ)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("GET", "/nowhere", id="unknown-path"),
        pytest.param("DELETE", "/messages/t1", id="unknown-method"),
        pytest.param("GET", "/messages/t1/extra", id="deeper-path"),
    ],
)
def test_an_unknown_route_gets_api_gateways_missing_authentication_token(runtime, method, path):
    response = client(runtime).open(path, method=method)

    assert response.status_code == 403
    assert response.get_json() == {"message": "Missing Authentication Token"}
    assert runtime.events == []


def test_a_proxy_route_gets_a_rest_v1_event_with_the_authorizer_context(runtime):
    response = client(runtime).get("/messages/a%2Fb?x=1&x=2", headers={"Authorization": TOKEN})

    assert response.status_code == 200
    assert response.get_json() == {"ok": True}
    assert response.headers["X-Thing"] == "1"
    (event,) = runtime.events
    assert event["resource"] == "/messages/{TraceId}"
    assert event["path"] == "/messages/a%2Fb"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"TraceId": "a%2Fb"}
    assert event["queryStringParameters"] == {"x": "2"}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"]}
    assert event["headers"]["X-Forwarded-Proto"] == "http"
    assert event["headers"]["Host"] == "localhost"
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["authorizer"] == CONTEXT | {"principalId": "u1"}
    assert (context["stage"], context["httpMethod"], context["path"]) == (
        "dev",
        "GET",
        "/messages/a%2Fb",
    )
    assert context["domainName"] == "localhost"
    assert context["requestId"]


def test_a_route_without_security_is_served_without_a_token_and_has_no_authorizer(runtime):
    response = client(runtime).post("/webhook", data="a=1")

    assert response.status_code == 200
    (event,) = runtime.events
    assert "authorizer" not in event["requestContext"]
    assert event["body"] == "a=1"


def test_an_api_key_route_names_the_key_and_its_id_in_the_proxy_event(runtime):
    response = client(runtime).post("/trigger", json={"a": "b"}, headers={"x-api-key": KEY})

    assert response.status_code == 200
    (event,) = runtime.events
    assert event["requestContext"]["identity"]["apiKey"] == KEY
    assert event["requestContext"]["identity"]["apiKeyId"] == KEY_ID
    assert "authorizer" not in event["requestContext"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param(
            "{}",
            "[object has too few properties (found 0 but schema requires at least 1)]",
            id="empty",
        ),
        pytest.param(
            '{"a": {"b": 1}}',
            "[instance type (object) does not match any allowed primitive type "
            '(allowed: ["boolean","integer","null","number","string"])]',
            id="nested",
        ),
        pytest.param('{"a": ', "[Unknown error parsing request body]", id="not-json"),
        pytest.param("[" * 100_000, "[Unknown error parsing request body]", id="nested-deep"),
    ],
)
def test_an_api_key_route_validates_the_body_against_its_own_model(runtime, body, reason):
    # API Gateway's validationErrorString, escaped into the template's JSON string.
    bad_body = {"statusCode": 400, "responseTemplates": {"application/json": VALIDATION}}
    api = client(runtime, gateway_responses=GATEWAY_RESPONSES | {"BAD_REQUEST_BODY": bad_body})

    response = api.post("/trigger", data=body, headers={"x-api-key": KEY})

    assert response.status_code == 400
    assert response.get_json() == {"reason": reason}
    assert runtime.events == []


def test_an_address_key_with_a_lone_surrogate_gets_400_naming_it_and_is_not_queued(runtime):
    bad_body = {"statusCode": 400, "responseTemplates": {"application/json": VALIDATION}}
    send = Route("POST", "/", frozenset({"JwtAuthorizer", "ApiKey"}), SqsIntegration("q", {}), True)
    sqs = FakeSqs()
    changes = {
        "routes": [send],
        "gateway_responses": GATEWAY_RESPONSES | {"BAD_REQUEST_BODY": bad_body},
    }
    gateway = ApiGateway(definition(**changes), runtime, sqs, {KEY: KEY_ID})
    api = Client(lambda environ, start: gateway(_request(environ))(environ, start))
    raw = (
        '{"TraceId": "t1", "SMSMessage": {"MessageBody": "Hi"},'
        ' "Addresses": {"p\\ud800@example.com": {"ChannelType": "EMAIL"}}}'
    )

    response = api.post("/", data=raw, headers={"Authorization": TOKEN, "x-api-key": KEY})

    assert response.status_code == 400
    assert response.get_json() == {
        "reason": "[object instance has properties which are not allowed by the schema: "
        '["p\ud800@example.com"]]'
    }
    assert sqs.sent == []


def test_an_api_key_route_without_the_key_gets_403(runtime):
    assert client(runtime).post("/trigger", json={"a": "b"}).status_code == 403
    assert runtime.events == []


def test_a_jwt_route_without_a_token_gets_401(runtime):
    response = client(runtime).get("/messages/t1")

    assert response.status_code == 401
    assert runtime.events == []


class SlowAuthorizer(FakeRuntime):
    """An authorizer that answers once `release` is set, counting its invocations."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.authorizations = 0

    def invoke(self, function: str, payload: Any) -> tuple[Any, str | None]:
        if function == "authorizer":
            self.authorizations += 1
            self.release.wait(10)
        return super().invoke(function, payload)


def test_concurrent_calls_with_one_new_token_ask_the_authorizer_once():
    runtime = SlowAuthorizer()
    gateway = client(runtime)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = [
            pool.submit(gateway.get, "/messages/t1", headers={"Authorization": TOKEN})
            for _ in range(8)
        ]
        runtime.release.set()
        statuses = [answer.result(timeout=10).status_code for answer in answers]

    assert statuses == [200] * 8
    assert runtime.authorizations == 1


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(RuntimeError("crash"), id="function-error"),
        pytest.param({"body": "no status"}, id="no-status-code"),
        pytest.param("not an object", id="not-an-object"),
    ],
)
def test_a_failing_or_malformed_proxy_lambda_gets_502(runtime, reply):
    runtime.reply = reply

    response = client(runtime).post("/webhook")

    assert response.status_code == 502
    assert response.get_json() == {"message": "Internal server error"}


def test_the_usage_plan_throttles_an_api_key_beyond_its_burst(runtime):
    api = client(runtime)
    headers = {"Authorization": TOKEN, "x-api-key": KEY}

    statuses = [api.post("/", data="{}", headers=headers).status_code for _ in range(4)]

    assert statuses[3] == 429
    assert api.post("/", data="{}", headers=headers).get_json() == {"message": "Too many requests"}


def test_a_daily_quota_refuses_an_api_key_once_spent(runtime):
    api = client(runtime, usage_plan=UsagePlan(rate=1000, burst=1000, quota_limit=2))
    headers = {"Authorization": TOKEN, "x-api-key": KEY}

    statuses = [api.post("/", data="{}", headers=headers).status_code for _ in range(3)]

    assert statuses[2] == 429
    assert api.post("/", data="{}", headers=headers).get_json() == {"reason": "Quota exceeded"}


def test_the_most_specific_method_setting_throttles_a_route(runtime):
    settings = [
        MethodSetting("/*", "*", 1000, 1000),
        MethodSetting("/webhook", "*", 0.001, 5),
        MethodSetting("/webhook", "POST", 0.001, 2),
    ]
    api = client(runtime, method_settings=settings)

    statuses = [api.post("/webhook").status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert api.get("/messages/t", headers={"Authorization": TOKEN}).status_code == 200


def test_a_token_bucket_refills_at_its_rate():
    now = [0.0]
    bucket = TokenBucket(rate=2, burst=2, clock=lambda: now[0])

    assert [bucket.take() for _ in range(3)] == [True, True, False]
    now[0] = 0.5
    assert [bucket.take() for _ in range(2)] == [True, False]


def test_a_quota_starts_again_the_next_day():
    now = [datetime(2026, 11, 24, 23, 59, tzinfo=UTC)]
    quota = Quota(1, "DAY", clock=lambda: now[0])

    assert [quota.take(), quota.take()] == [True, False]
    now[0] += timedelta(minutes=2)
    assert quota.take() is True


def test_the_definition_is_read_from_the_template(mocked_aws):
    stack = Stack(mocked_aws, "unit", {"JwtSecretValue": "x" * 16, "DailyQuotaLimit": "7"})

    api = api_definition(stack)

    routes = {(route.method, route.resource): route for route in api.routes}
    send = routes[("POST", "/")]
    assert send.security == {"JwtAuthorizer", "ApiKey"}
    assert send.validate_body
    assert send.integration == SqsIntegration(
        "unit-messages",
        send.integration.responses,
        large_queue_name="unit-large-messages",
        small_max_characters=SMALL_REQUEST_MAX_CHARACTERS,
    )
    assert send.integration.queue_for("é" * SMALL_REQUEST_MAX_CHARACTERS) == "unit-messages"
    assert send.integration.queue_for("😀" * 2000) == "unit-large-messages"  # 4000 UTF-16 units
    status = routes[("GET", "/messages/{TraceId}")]
    assert status.security == {"JwtAuthorizer"}
    assert status.integration == LambdaProxyIntegration(
        "arn:aws:lambda:us-east-1:123456789012:function:unit-StatusFunction"
    )
    assert send.model == "SendRequest"
    registration = routes[("POST", "/trigger")]
    named = routes[("POST", "/trigger/{name}")]
    assert (registration.security, named.security) == ({"ApiKey"}, {"ApiKey"})
    assert (registration.model, named.model) == ("RegistrationRecord", "TriggerRecord")
    assert (
        registration.integration
        == named.integration
        == LambdaProxyIntegration(
            "arn:aws:lambda:us-east-1:123456789012:function:unit-TriggerFunction"
        )
    )
    request_status = routes[("GET", "/requests/{request_id}")]
    assert request_status.security == {"ApiKey"}
    assert request_status.integration == status.integration
    assert api.usage_plan == UsagePlan(rate=25, burst=50, quota_limit=7, quota_period="DAY")
    assert api.authorizer.function.endswith(":function:unit-AuthorizerFunction")
    assert api_definition(Stack(mocked_aws, "unit", {})).usage_plan.quota_limit is None
    assert json.loads(api.gateway_responses["THROTTLED"]["responseTemplates"]["application/json"])[
        "message"
    ]
