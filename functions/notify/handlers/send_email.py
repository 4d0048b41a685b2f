"""Render and send one email through SES v2 (a Map iteration of the Delivery state machine)."""

import boto3

from notify.domain.channels.email import EMAIL
from notify.handlers.sending import PROVIDER_CLIENT_CONFIG, send_handler
from notify.handlers.settings import optional
from notify.integration.providers.ses import SesEmailSender

handler = send_handler(
    EMAIL,
    SesEmailSender(
        boto3.client("sesv2", config=PROVIDER_CLIENT_CONFIG), optional("SES_CONFIGURATION_SET")
    ),
)
