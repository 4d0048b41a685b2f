"""AWS End User Messaging SMS and Voice v2, the SMS and VOICE channels' provider: its
senders, its errors and its events."""

from notify.integration.providers.end_user_messaging.sms import SmsSender
from notify.integration.providers.end_user_messaging.voice import VoiceSender

__all__ = ["SmsSender", "VoiceSender"]
