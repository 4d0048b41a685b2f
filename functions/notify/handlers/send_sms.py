"""Render and send one SMS (a Map iteration of the Delivery state machine)."""

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from notify.domain.compose import Delivery, compose_sms
from notify.handlers.sending import PROVIDER_CLIENT_CONFIG, SendResources
from notify.handlers.settings import optional
from notify.integration.sms_voice import SmsSender

resources = SendResources.from_env()
logger = Logger()
sender = SmsSender(
    boto3.client("pinpoint-sms-voice-v2", config=PROVIDER_CLIENT_CONFIG),
    optional("SMS_CONFIGURATION_SET"),
)


@logger.inject_lambda_context(correlation_id_path="Request.TraceId")
def handler(event: dict, context: LambdaContext) -> dict:
    delivery = Delivery.from_event(event)
    sms = compose_sms(delivery, resources.templates, resources.settings.default_template)
    resources.refuse_unlisted_sender(delivery, sms.origination_identity)
    return resources.send_once(
        delivery,
        context,
        lambda: sender.send(sms, delivery.trace_id),
        Segments=sms.segments.segments,
        Encoding=sms.segments.encoding,
    )
