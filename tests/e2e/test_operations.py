"""What an operator does with the AWS CLI has the effect it has in AWS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from conftest import example, finished, outbox, wait_until

from notify.domain.tokens import mint_token


def test_a_template_put_with_put_item_is_used_by_the_next_send(local, post):
    dynamodb = local.client("dynamodb")  # what `aws dynamodb put-item` calls
    request = example("sms-template.json") | {
        "SMSMessage": {"TemplateName": "reminder", "OriginationNumber": "pool-1"}
    }
    for version in ("first", "second"):
        dynamodb.put_item(
            TableName="MessageTemplates",
            Item={
                "TemplateName": {"S": "reminder"},
                "MessageBody": {"S": version + " {productName}"},
            },
        )
        time.sleep(1.1)  # the local stack caches templates for 1 s (60 s in AWS)
        request = request | {"TraceId": f"{request['TraceId']}-{version}"}

        assert post(request).status_code == 202
        finished(local, request["TraceId"])

        assert [m["body"] for m in outbox(local, request["TraceId"])] == [f"{version} SAVINGS"]


def test_a_rotated_secret_is_used_by_the_authorizer(local, post):
    secrets = local.client("secretsmanager")  # what `aws secretsmanager update-secret` calls
    rotated = "a-rotated-secret-that-is-long-enough-for-hs256"
    secrets.update_secret(SecretId="messaging-jwt-secret", SecretString=rotated)
    try:
        token = mint_token(rotated, "rotated-user", customer_id="e2e-customer")

        # The authorizer caches the secret (2 s locally, 300 s in AWS), then uses the new one.
        status = wait_until(
            lambda: (
                (code := post(example("sms-inline.json"), bearer=token).status_code) == 202 and code
            ),
            "a token signed with the rotated secret accepted",
            deadline=15,
        )
        assert status == 202
    finally:
        from emulator.local import LOCAL_JWT_SECRET

        secrets.update_secret(SecretId="messaging-jwt-secret", SecretString=LOCAL_JWT_SECRET)
        # Until the authorizer's cached secret expires, fresh tokens are still refused (and
        # an API caches a refusal per token): later tests need the original secret back.
        fresh = iter(range(1_000_000))
        wait_until(
            lambda: (
                post(
                    example("sms-inline.json"),
                    bearer=mint_token(LOCAL_JWT_SECRET, f"restored-{next(fresh)}"),
                ).status_code
                == 202
            ),
            "the original secret in use again",
            deadline=15,
        )


def test_the_api_key_is_listed_by_the_emulated_api_gateway_to_another_process(local):
    # What `aws apigateway get-api-keys --include-values --endpoint-url ...` does, from its
    # own process: it reaches the local stack's backends through the loopback endpoint.
    script = (
        "import boto3, json, sys;"
        "client = boto3.client('apigateway', endpoint_url=sys.argv[1]);"
        "print(json.dumps([k['value'] for k in client.get_api_keys(includeValues=True)['items']]))"
    )
    environment = os.environ | {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    listed = subprocess.run(
        [sys.executable, "-c", script, local.aws.endpoint],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=True,
    )

    assert local.api_key in json.loads(listed.stdout)
