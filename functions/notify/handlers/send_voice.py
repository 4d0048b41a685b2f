"""Place one text-to-speech call through End User Messaging Voice (a Map iteration)."""

import boto3

from notify.domain.channels.voice import VOICE
from notify.handlers.sending import PROVIDER_CLIENT_CONFIG, send_handler
from notify.handlers.settings import optional
from notify.integration.providers.end_user_messaging import VoiceSender

handler = send_handler(
    VOICE,
    VoiceSender(
        boto3.client("pinpoint-sms-voice-v2", config=PROVIDER_CLIENT_CONFIG),
        optional("SMS_CONFIGURATION_SET"),
    ),
)
