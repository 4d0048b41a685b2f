"""Render and send one WhatsApp message through Twilio (a Map iteration of the state machine)."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from notify.domain.compose import Delivery, compose_whatsapp
from notify.handlers.sending import SendResources
from notify.handlers.settings import TwilioSettings
from notify.integration.twilio_whatsapp import TwilioSecret, TwilioWhatsAppSender

resources = SendResources.from_env()
twilio = TwilioSettings.from_env()
logger = Logger()
sender = TwilioWhatsAppSender(
    TwilioSecret(twilio.secret_name, twilio.secret_max_age_seconds),
    twilio.api_url,
    twilio.status_callback_url,
)


@logger.inject_lambda_context(correlation_id_path="Request.TraceId")
def handler(event: dict, context: LambdaContext) -> dict:
    delivery = Delivery.from_event(event)
    message = compose_whatsapp(delivery, resources.templates, resources.settings.default_template)
    resources.refuse_unlisted_sender(delivery, message.sender)
    return resources.send_once(delivery, context, lambda: sender.send(message, delivery.trace_id))
