from __future__ import annotations

import importlib
import io
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools import Logger

from notify.domain.tokens import mint_token

MODULE = "notify.handlers.authorizer"
SECRET_NAME = "messaging/jwt-signing-secret"
SECRET = "handler-test-secret-at-least-32-bytes-long"
ROTATED_SECRET = "rotated-test-secret-at-least-32-bytes-long"
SAMPLE_EVENT = Path(__file__).parents[3] / "events" / "authorizer-token.json"
STAGE_WILDCARD = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/*/*"
UNAUTHORIZED = "^Unauthorized$"  # the exact message API Gateway maps to a 401


def token_event(token: str | None) -> dict[str, Any]:
    event = json.loads(SAMPLE_EVENT.read_text())
    if token is None:
        del event["authorizationToken"]
    else:
        event["authorizationToken"] = f"Bearer {token}"
    return event


@pytest.fixture
def secretsmanager(fresh_aws) -> Any:
    return fresh_aws.client("secretsmanager")


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """What the handler logs. Powertools binds sys.stdout once per process, so capsys misses it."""
    output = Logger(service="messaging").registered_handler
    stream = io.StringIO()
    previous = output.setStream(stream)
    yield stream
    output.setStream(previous)


@pytest.fixture
def load_handler(monkeypatch, secretsmanager) -> Iterator[Callable[..., Any]]:
    """Import the handler afresh, as a cold start would, after setting its environment."""

    def load(secret_name: str | None = SECRET_NAME, max_age: str | None = None) -> Any:
        for name, value in [
            ("JWT_SECRET_NAME", secret_name),
            ("JWT_SECRET_MAX_AGE_SECONDS", max_age),
        ]:
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        sys.modules.pop(MODULE, None)
        return importlib.import_module(MODULE)

    yield load
    sys.modules.pop(MODULE, None)


@pytest.fixture
def handler(load_handler, secretsmanager) -> Callable[..., Any]:
    secretsmanager.create_secret(Name=SECRET_NAME, SecretString=SECRET)
    return load_handler().handler


def test_a_valid_token_gets_an_allow_policy_for_the_whole_stage(handler, lambda_context):
    token = mint_token(SECRET, "user-1", "a@example.com", "cust-9")

    response = handler(token_event(token), lambda_context)

    assert response["principalId"] == "user-1"
    assert response["policyDocument"]["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": STAGE_WILDCARD}
    ]
    assert response["context"] == {
        "sub": "user-1",
        "email": "a@example.com",
        "customer_id": "cust-9",
        "caller": '{"sub":"user-1","customer_id":"cust-9","email":"a@example.com"}',
    }


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(mint_token(ROTATED_SECRET, "user-1"), id="signed with another secret"),
        pytest.param(mint_token(SECRET, "user-1", now=time.time() - 7200), id="expired"),
        pytest.param("not.a.jwt", id="garbage"),
        pytest.param("", id="bearer with no token"),
        pytest.param(None, id="no authorization token"),
        pytest.param(mint_token(SECRET, "user-1", customer_id="acme#eu"), id="tenant id with #"),
    ],
)
def test_an_invalid_token_is_unauthorized_and_never_logged(handler, lambda_context, logs, token):
    with pytest.raises(Exception, match=UNAUTHORIZED):
        handler(token_event(token), lambda_context)

    logged = logs.getvalue()
    assert "Token refused" in logged
    assert SECRET not in logged
    if token:
        assert token not in logged


def test_a_tenant_id_outside_the_charset_is_refused_with_the_rule_in_the_log(
    handler, lambda_context, logs
):
    with pytest.raises(Exception, match=UNAUTHORIZED):
        handler(token_event(mint_token(SECRET, "acme#eu")), lambda_context)

    assert "sub must be 1-128 characters of A-Z a-z 0-9 . _ @ + -" in logs.getvalue()


def test_a_secret_that_cannot_be_fetched_means_unauthorized(load_handler, lambda_context, logs):
    handler = load_handler(secret_name="messaging/no-such-secret").handler

    with pytest.raises(Exception, match=UNAUTHORIZED):
        handler(token_event(mint_token(SECRET, "user-1")), lambda_context)

    assert "Authorizer failed" in logs.getvalue()


def test_a_rotated_secret_is_picked_up_once_the_cache_expires(
    load_handler, secretsmanager, lambda_context
):
    secretsmanager.create_secret(Name=SECRET_NAME, SecretString=SECRET)
    handler = load_handler(max_age="1").handler
    old_token = mint_token(SECRET, "user-1")
    new_token = mint_token(ROTATED_SECRET, "user-1")
    assert handler(token_event(old_token), lambda_context)["principalId"] == "user-1"

    secretsmanager.update_secret(SecretId=SECRET_NAME, SecretString=ROTATED_SECRET)

    # Within max_age the cached secret is still in use...
    assert handler(token_event(old_token), lambda_context)["principalId"] == "user-1"
    with pytest.raises(Exception, match=UNAUTHORIZED):
        handler(token_event(new_token), lambda_context)
    # ...and after it, the rotated one, with no cold start in between.
    time.sleep(1.1)
    assert handler(token_event(new_token), lambda_context)["principalId"] == "user-1"
    with pytest.raises(Exception, match=UNAUTHORIZED):
        handler(token_event(old_token), lambda_context)


def test_the_secret_is_cached_for_five_minutes_by_default(load_handler):
    assert load_handler().SECRET_MAX_AGE == 300


def test_a_missing_secret_name_fails_at_cold_start(load_handler):
    with pytest.raises(KeyError, match="JWT_SECRET_NAME"):
        load_handler(secret_name=None)
