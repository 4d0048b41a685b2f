"""Render and send one SMS (a Map iteration of the Delivery state machine)."""

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.idempotency import idempotent
from aws_lambda_powertools.utilities.typing import LambdaContext

from notify.domain.compose import Delivery, compose_sms
from notify.handlers.sending import IDEMPOTENCY, PROVIDER_CLIENT_CONFIG, SendResources
from notify.handlers.settings import optional
from notify.integration.sms_voice import SmsSender

resources = SendResources.from_env()
logger = Logger()
tracer = Tracer()
sender = SmsSender(
    boto3.client("pinpoint-sms-voice-v2", config=PROVIDER_CLIENT_CONFIG),
    optional("SMS_CONFIGURATION_SET"),
)


@logger.inject_lambda_context(correlation_id_path="TraceId")
@tracer.capture_lambda_handler
@idempotent(config=IDEMPOTENCY, persistence_store=resources.persistence)
def handler(event: dict, context: LambdaContext) -> dict:
    delivery = Delivery.from_event(event)
    sms = compose_sms(delivery, resources.templates, resources.settings.default_template)
    resources.refuse_unlisted_sender(delivery, sms.origination_identity)
    resources.refuse_opted_out(delivery.channel, sms.to)
    with resources.attempt(delivery):
        message_id = sender.send(sms, delivery.trace_id)
    logger.info("sms sent", extra={"channel": "SMS", "provider_message_id": message_id})
    return resources.sent(
        delivery,
        message_id,
        Segments=sms.segments.segments,
        Encoding=sms.segments.encoding,
    )
