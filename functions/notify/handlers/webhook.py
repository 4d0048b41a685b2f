"""POST /webhook: verify Twilio's signature, queue the request, answer with empty TwiML at once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext

from notify.handlers.settings import WebhookSettings
from notify.integration.providers.twilio.events import twilio_envelope
from notify.integration.providers.twilio.webhook import (
    EMPTY_TWIML,
    Refusal,
    WebhookRequest,
    too_large,
)

settings = WebhookSettings.from_env()
logger = Logger()
tracer = Tracer()
sqs = boto3.client("sqs")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = WebhookRequest.from_proxy_event(event)
    refused = request.refusal()  # size, then type: before the secret is even read
    if refused:
        return _refuse(refused)
    secret = parameters.get_secret(
        settings.twilio_secret_name, transform="json", max_age=settings.secret_max_age_seconds
    )
    # An empty token would let anyone sign; the stack must be given Twilio's auth token.
    auth_token = secret.get("AuthToken", "") if isinstance(secret, dict) else ""
    if not auth_token:
        logger.error("the Twilio secret has no AuthToken; refusing every webhook")
    if not request.is_signed_by(auth_token):
        unverifiable = request.unverifiable()
        if unverifiable:
            return _refuse(unverifiable)
        logger.warning("webhook refused: bad or missing signature", extra={"url": request.url})
        return _response(403, "application/json", '{"message": "Invalid Twilio signature"}')
    try:
        params = request.params()
    except ValueError:
        return _response(400, "application/json", '{"message": "Unreadable body"}')
    received_at = datetime.now(UTC).isoformat(timespec="microseconds")
    envelope = twilio_envelope(params, request.query(), request.content_type, received_at)
    # JSON escaping can grow a body that fit (a control character takes six bytes).
    oversized = too_large(len(envelope.encode("utf-8")), "queued request")
    if oversized:
        return _refuse(oversized)
    sqs.send_message(QueueUrl=settings.inbound_queue_url, MessageBody=envelope)
    logger.info("webhook queued", extra={"message_sid": params.get("MessageSid")})
    return _response(200, "text/xml", EMPTY_TWIML)


def _refuse(refusal: Refusal) -> dict[str, Any]:
    logger.warning("webhook refused", extra={"status": refusal.status, "reason": refusal.reason})
    return _response(refusal.status, "application/json", refusal.body())


def _response(status: int, content_type: str, body: str) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": content_type}, "body": body}
