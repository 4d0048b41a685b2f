"""API Gateway TOKEN authorizer: a valid bearer JWT gets an Allow policy for its caller."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext

from notify.domain.tokens import InvalidToken, allow_policy, bearer_token, verify_token

logger = Logger(service="messaging")

try:
    SECRET_NAME = os.environ["JWT_SECRET_NAME"]
except KeyError:
    raise KeyError("JWT_SECRET_NAME must name the Secrets Manager secret for JWTs") from None
# Powertools caches the secret this long, so a rotated secret is picked up without a cold start.
SECRET_MAX_AGE = int(os.environ.get("JWT_SECRET_MAX_AGE_SECONDS", "300"))


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # API Gateway turns exactly this message into a 401; nothing here logs the token or secret.
    try:
        secret = parameters.get_secret(SECRET_NAME, max_age=SECRET_MAX_AGE)
        caller = verify_token(bearer_token(event.get("authorizationToken") or ""), secret)
        return allow_policy(event["methodArn"], caller)
    except InvalidToken as exc:
        logger.info("Token refused", extra={"reason": exc.reason})
    except Exception:
        logger.exception("Authorizer failed")
    raise Exception("Unauthorized")
