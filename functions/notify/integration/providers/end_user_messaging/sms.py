"""AWS End User Messaging SMS (pinpoint-sms-voice-v2): send one text message."""

from __future__ import annotations

from typing import Any

from notify.domain.channels.sms import SMS, Sms
from notify.integration.providers.end_user_messaging.errors import end_user_messaging_errors


class SmsSender:
    def __init__(self, client: Any, configuration_set: str | None) -> None:
        self._client = client
        self._configuration_set = configuration_set

    def send(self, sms: Sms, trace_id: str) -> str:
        """Send and return the provider's MessageId; provider errors become Transient/Permanent.

        The TraceId travels in the message Context, which SMS events carry back.
        """
        request: dict[str, Any] = {
            "DestinationPhoneNumber": sms.to,
            "MessageBody": sms.body,
            "MessageType": sms.message_type,
            "Context": {"TraceId": trace_id},
        }
        if sms.origination_identity:
            request["OriginationIdentity"] = sms.origination_identity
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        with end_user_messaging_errors(SMS.name, sms.to):
            return self._client.send_text_message(**request)["MessageId"]
