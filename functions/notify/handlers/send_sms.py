"""Render and send one SMS through End User Messaging SMS (a Map iteration of the state machine)."""

import boto3

from notify.domain.compose import compose_sms
from notify.handlers.sending import PROVIDER_CLIENT_CONFIG, send_handler
from notify.handlers.settings import optional
from notify.integration.sms_voice import SmsSender

handler = send_handler(
    compose_sms,
    SmsSender(
        boto3.client("pinpoint-sms-voice-v2", config=PROVIDER_CLIENT_CONFIG),
        optional("SMS_CONFIGURATION_SET"),
    ),
    sender_of=lambda sms: sms.origination_identity,
    details=lambda sms: {"Segments": sms.segments.segments, "Encoding": sms.segments.encoding},
)
