"""Render and send one email (a Map iteration of the Delivery state machine)."""

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from notify.domain.compose import Delivery, compose_email
from notify.handlers.sending import PROVIDER_CLIENT_CONFIG, SendResources
from notify.handlers.settings import optional
from notify.integration.ses_email import SesEmailSender

resources = SendResources.from_env()
logger = Logger()
sender = SesEmailSender(
    boto3.client("sesv2", config=PROVIDER_CLIENT_CONFIG), optional("SES_CONFIGURATION_SET")
)


@logger.inject_lambda_context(correlation_id_path="Request.TraceId")
def handler(event: dict, context: LambdaContext) -> dict:
    delivery = Delivery.from_event(event)
    email = compose_email(delivery, resources.templates, resources.settings.default_template)
    resources.refuse_unlisted_sender(delivery, email.sender)
    return resources.send_once(delivery, context, lambda: sender.send(email, delivery.trace_id))
