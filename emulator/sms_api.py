"""A local End User Messaging SMS and Voice API (pinpoint-sms-voice-v2) on 127.0.0.1, which
moto lacks.

The SMS and voice functions reach it as they reach AWS: boto3 takes the service's endpoint
from AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2, which the local stack sets in its environment,
so the Lambda code and its client are unchanged. SendTextMessage and SendVoiceMessage
(AWS JSON 1.0, named by the X-Amz-Target header) are answered:
- the message lands in the outbox (channel SMS or VOICE), from its OriginationIdentity,
  with the TraceId the sender puts in its `Context`;
- the channel's fault rules apply: throttle -> ThrottlingException, 5xx ->
  InternalServerException, reject -> ValidationException, crash -> the connection is dropped;
- the channel's quota, per OriginationIdentity, answers ThrottlingException;
- the answer is `{"MessageId": ...}`.
"""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Request, Response

from emulator.http import HttpServer, injected_failure
from emulator.providers import Providers, SentMessage
from notify.domain.channels.sms import SMS
from notify.domain.channels.voice import VOICE

SEND_TEXT_MESSAGE = "PinpointSMSVoiceV2.SendTextMessage"
SEND_VOICE_MESSAGE = "PinpointSMSVoiceV2.SendVoiceMessage"
# The channel whose outbox and faults each operation's messages take.
_CHANNELS = {SEND_TEXT_MESSAGE: SMS.name, SEND_VOICE_MESSAGE: VOICE.name}
_CONTENT_TYPE = "application/x-amz-json-1.0"


class SmsApi:
    """The WSGI app; `start(port)` serves it on loopback."""

    def __init__(self, providers: Providers) -> None:
        self._providers = providers

    def start(self, port: int) -> HttpServer:
        return HttpServer(self, port).start()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self._handle(Request(environ))(environ, start_response)

    def _handle(self, request: Request) -> Response:
        target = request.headers.get("X-Amz-Target", "")
        channel = _CHANNELS.get(target)
        if request.method != "POST" or channel is None:
            return _error(
                400, "UnknownOperationException", f"{target or request.path} is not served"
            )
        operation = target.rpartition(".")[2]
        try:
            params = json.loads(request.get_data(as_text=True))
            to, body = params["DestinationPhoneNumber"], params["MessageBody"]
        except (ValueError, KeyError, TypeError) as exc:
            return _error(400, "ValidationException", f"malformed {operation}: {exc}")
        sender = params.get("OriginationIdentity")
        failure = injected_failure(self._providers, channel, to, request, _error, sender)
        if failure is not None:
            return failure
        message = SentMessage(
            channel=channel,
            to=to,
            sender=sender,
            body=body,
            trace_id=(params.get("Context") or {}).get("TraceId"),
        )
        self._providers.record(message)
        return _json(200, {"MessageId": message.message_id})


def _error(status: int, code: str, message: str) -> Response:
    response = _json(status, {"__type": code, "message": message})
    response.headers["x-amzn-ErrorType"] = code
    return response


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status=status, content_type=_CONTENT_TYPE)
