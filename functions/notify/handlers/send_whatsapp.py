"""Render and send one WhatsApp message through Twilio (a Map iteration of the state machine)."""

from notify.domain.channels.whatsapp import WHATSAPP
from notify.handlers.sending import send_handler
from notify.handlers.settings import TwilioSettings
from notify.integration.providers.twilio.whatsapp import TwilioSecret, TwilioWhatsAppSender

twilio = TwilioSettings.from_env()
handler = send_handler(
    WHATSAPP,
    TwilioWhatsAppSender(
        TwilioSecret(twilio.secret_name, twilio.secret_max_age_seconds),
        twilio.api_url,
        twilio.status_callback_url,
    ),
)
