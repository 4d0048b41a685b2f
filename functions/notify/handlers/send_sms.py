"""Render and send one SMS through End User Messaging SMS (a Map iteration of the state machine)."""

import boto3

from notify.domain.channels.sms import SMS
from notify.handlers.sending import PROVIDER_CLIENT_CONFIG, send_handler
from notify.handlers.settings import optional
from notify.integration.providers.end_user_messaging import SmsSender

handler = send_handler(
    SMS,
    SmsSender(
        boto3.client("pinpoint-sms-voice-v2", config=PROVIDER_CLIENT_CONFIG),
        optional("SMS_CONFIGURATION_SET"),
    ),
)
