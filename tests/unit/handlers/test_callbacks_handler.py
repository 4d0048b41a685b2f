"""PUT, GET and DELETE /callbacks: the JWT's tenant registers, reads and removes its callback.

Configured as in AWS (no loopback). The URLs are IP literals, so the address check
resolves nothing and the tests need no DNS.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

MODULE = "notify.handlers.callbacks"
TABLE = "callbacks-tenants"
SECRET_PREFIX = "callbacks-api"
URL = "https://8.8.8.8/messaging-events"  # a public address
SECRET = "a-signing-secret-of-at-least-32-chars"


@pytest.fixture(scope="module")
def handler(mocked_aws, table_from_template) -> Iterator[Any]:
    table_from_template("TenantsTable", TABLE)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TENANTS_TABLE", TABLE)
        env.setenv("CALLBACK_SECRET_PREFIX", SECRET_PREFIX)
        env.setenv("CALLBACK_ALLOW_LOOPBACK", "false")
        sys.modules.pop(MODULE, None)
        yield importlib.import_module(MODULE).handler
    sys.modules.pop(MODULE, None)


def request(method: str, customer_id: str, body: Any = None) -> dict[str, Any]:
    """As API Gateway passes it, with the TOKEN authorizer's context (Caller.to_context)."""
    return {
        "resource": "/callbacks",
        "path": "/callbacks",
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "pathParameters": None,
        "queryStringParameters": None,
        "requestContext": {
            "requestId": "r1",
            "stage": "dev",
            "path": "/dev/callbacks",
            "httpMethod": method,
            "authorizer": {
                "principalId": "u1",
                "sub": "u1",
                "email": "",
                "customer_id": customer_id,
                "caller": json.dumps({"sub": "u1", "customer_id": customer_id}),
            },
        },
        "body": body if body is None or isinstance(body, str) else json.dumps(body),
        "isBase64Encoded": False,
    }


def answer(response: dict[str, Any]) -> tuple[int, Any]:
    return response["statusCode"], json.loads(response["body"]) if response["body"] else None


def stored_secret(mocked_aws, customer_id: str) -> str:
    secrets = mocked_aws.client("secretsmanager")
    name = f"{SECRET_PREFIX}/customer/{customer_id}"
    return secrets.get_secret_value(SecretId=name)["SecretString"]


def test_a_registered_callback_is_answered_and_logged_without_its_secret(
    handler, mocked_aws, lambda_context, capsys
):
    put = handler(request("PUT", "acme", {"Url": URL, "Secret": SECRET}), lambda_context)
    got = handler(request("GET", "acme"), lambda_context)

    status, body = answer(put)
    assert (status, body["Url"]) == (200, URL)
    assert answer(got) == (200, {"Url": URL, "UpdatedAt": body["UpdatedAt"]})
    assert SECRET not in put["body"] + got["body"]
    assert SECRET not in "".join(capsys.readouterr())
    assert stored_secret(mocked_aws, "acme") == SECRET  # where the dispatcher reads it


def test_a_second_put_replaces_the_url_and_the_secret(handler, mocked_aws, lambda_context):
    other = "https://[2606:4700:4700::1111]/hooks"
    handler(request("PUT", "replaces", {"Url": URL, "Secret": SECRET}), lambda_context)

    handler(request("PUT", "replaces", {"Url": other, "Secret": "n" * 32}), lambda_context)

    assert answer(handler(request("GET", "replaces"), lambda_context))[1]["Url"] == other
    assert stored_secret(mocked_aws, "replaces") == "n" * 32


def test_another_tenant_sees_no_callback(handler, lambda_context):
    handler(request("PUT", "acme", {"Url": URL, "Secret": SECRET}), lambda_context)

    status, body = answer(handler(request("GET", "globex"), lambda_context))

    assert (status, body["reason"]) == (404, "no callback is registered")


def test_a_deleted_callback_is_gone_with_its_secret(handler, mocked_aws, lambda_context):
    handler(request("PUT", "leaving", {"Url": URL, "Secret": SECRET}), lambda_context)

    deleted = handler(request("DELETE", "leaving"), lambda_context)

    assert (deleted["statusCode"], deleted["body"]) == (204, "")
    assert answer(handler(request("GET", "leaving"), lambda_context))[0] == 404
    assert answer(handler(request("DELETE", "leaving"), lambda_context))[0] == 404
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        stored_secret(mocked_aws, "leaving")


REFUSED = [
    pytest.param({"Url": URL, "Secret": "too-short"}, "32-256 characters", id="short-secret"),
    pytest.param({"Url": URL}, '{"Url": "https://...", "Secret": "..."}', id="no-secret"),
    pytest.param({"Url": "https://10.0.0.7/hook", "Secret": SECRET}, "private", id="private"),
    pytest.param(
        {"Url": "https://169.254.169.254/latest/meta-data", "Secret": SECRET},
        "link-local",
        id="metadata-endpoint",
    ),
    pytest.param({"Url": "https://127.0.0.1/hook", "Secret": SECRET}, "loopback", id="loopback"),
    pytest.param({"Url": "http://8.8.8.8/hook", "Secret": SECRET}, "https://", id="plain-http"),
    pytest.param("{not json", "the body is not JSON", id="not-json"),
]


@pytest.mark.parametrize(("body", "reason"), REFUSED)
def test_a_refused_registration_is_400_with_its_reason_and_stores_nothing(
    handler, lambda_context, body, reason
):
    status, answered = answer(handler(request("PUT", "refused", body), lambda_context))

    assert status == 400
    assert answered["message"] == "Invalid callback"
    assert reason in answered["reason"]
    assert answer(handler(request("GET", "refused"), lambda_context))[0] == 404
