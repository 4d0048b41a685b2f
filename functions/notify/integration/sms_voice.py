"""AWS End User Messaging SMS (pinpoint-sms-voice-v2): send one text message."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from notify.domain.compose import Sms
from notify.domain.errors import OPTED_OUT, PermanentError
from notify.integration.aws_errors import UNREACHABLE, classify_client_error, unreachable

_OPTED_OUT_REASON = "DESTINATION_PHONE_NUMBER_OPTED_OUT"


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
        try:
            return self._client.send_text_message(**request)["MessageId"]
        except ClientError as exc:
            if exc.response.get("Reason") == _OPTED_OUT_REASON:
                raise PermanentError(OPTED_OUT, f"{sms.to} has opted out of SMS") from exc
            raise classify_client_error(exc) from exc
        except UNREACHABLE as exc:
            raise unreachable(exc) from exc
