"""Render and send one email (a Map iteration of the Delivery state machine)."""

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.idempotency import idempotent
from aws_lambda_powertools.utilities.typing import LambdaContext

from notify.domain.compose import Delivery, compose_email
from notify.handlers.sending import IDEMPOTENCY, PROVIDER_CLIENT_CONFIG, SendResources
from notify.handlers.settings import optional
from notify.integration.ses_email import SesEmailSender

resources = SendResources.from_env()
logger = Logger()
tracer = Tracer()
sender = SesEmailSender(
    boto3.client("sesv2", config=PROVIDER_CLIENT_CONFIG), optional("SES_CONFIGURATION_SET")
)


@logger.inject_lambda_context(correlation_id_path="TraceId")
@tracer.capture_lambda_handler
@idempotent(config=IDEMPOTENCY, persistence_store=resources.persistence)
def handler(event: dict, context: LambdaContext) -> dict:
    delivery = Delivery.from_event(event)
    email = compose_email(delivery, resources.templates, resources.settings.default_template)
    resources.refuse_unlisted_sender(delivery, email.sender)
    resources.refuse_opted_out(delivery.channel, email.to)
    with resources.attempt(delivery):
        message_id = sender.send(email, delivery.trace_id)
    logger.info("email sent", extra={"channel": "EMAIL", "provider_message_id": message_id})
    return resources.sent(delivery, message_id)
