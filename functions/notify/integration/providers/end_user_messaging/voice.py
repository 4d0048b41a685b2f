"""AWS End User Messaging Voice (pinpoint-sms-voice-v2): place one text-to-speech call."""

from __future__ import annotations

from typing import Any

from notify.domain.channels.voice import VOICE, VoiceCall
from notify.integration.providers.end_user_messaging.errors import end_user_messaging_errors


class VoiceSender:
    def __init__(self, client: Any, configuration_set: str | None) -> None:
        self._client = client
        self._configuration_set = configuration_set

    def send(self, call: VoiceCall, trace_id: str) -> str:
        """Place the call and return the provider's MessageId; errors become Transient/Permanent.

        Polly reads the body (TEXT, or SSML) in `voice_id`'s voice, else the service's
        default one. The TraceId travels in the message Context, which voice events carry back.
        """
        request: dict[str, Any] = {
            "DestinationPhoneNumber": call.to,
            "OriginationIdentity": call.origination_identity,
            "MessageBody": call.body,
            "MessageBodyTextType": call.text_type,
            "Context": {"TraceId": trace_id},
        }
        if call.voice_id:
            request["VoiceId"] = call.voice_id
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        with end_user_messaging_errors(VOICE.name, call.to):
            return self._client.send_voice_message(**request)["MessageId"]
