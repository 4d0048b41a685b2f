"""Render and send one email through SES v2 (a Map iteration of the Delivery state machine)."""

import boto3

from notify.domain.compose import compose_email
from notify.handlers.sending import PROVIDER_CLIENT_CONFIG, send_handler
from notify.handlers.settings import optional
from notify.integration.ses_email import SesEmailSender

handler = send_handler(
    compose_email,
    SesEmailSender(
        boto3.client("sesv2", config=PROVIDER_CLIENT_CONFIG), optional("SES_CONFIGURATION_SET")
    ),
    sender_of=lambda email: email.sender,
)
