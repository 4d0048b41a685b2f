"""Render and send one email (a Map iteration of the Delivery state machine)."""

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, idempotent
from aws_lambda_powertools.utilities.typing import LambdaContext

from notify.domain.compose import Delivery, compose_email
from notify.handlers.sending import IDEMPOTENCY, PROVIDER_CLIENT_CONFIG, sent
from notify.handlers.settings import SendSettings, optional
from notify.integration.ses_email import SesEmailSender
from notify.integration.template_store import DynamoTemplateStore

settings = SendSettings.from_env()
logger = Logger()
tracer = Tracer()
templates = DynamoTemplateStore(
    boto3.client("dynamodb"), settings.templates_table, settings.template_cache_seconds
)
sender = SesEmailSender(
    boto3.client("sesv2", config=PROVIDER_CLIENT_CONFIG), optional("SES_CONFIGURATION_SET")
)
persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table)


@logger.inject_lambda_context(correlation_id_path="TraceId")
@tracer.capture_lambda_handler
@idempotent(config=IDEMPOTENCY, persistence_store=persistence)
def handler(event: dict, context: LambdaContext) -> dict:
    delivery = Delivery.from_event(event)
    email = compose_email(delivery, templates, settings.default_template)
    message_id = sender.send(email, delivery.trace_id)
    logger.info("email sent", extra={"channel": "EMAIL", "provider_message_id": message_id})
    return sent(delivery.recipient, message_id)
