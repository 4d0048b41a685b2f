"""Amazon EventBridge: publish an inbound message on the stack's custom bus."""

from __future__ import annotations

import json
from typing import Any

from notify.domain.provider_events import InboundMessage
from notify.integration.aws_errors import aws_errors

SOURCE = "messaging.inbound"
DETAIL_TYPE = "InboundMessage"


class InboundEventPublisher:
    def __init__(self, client: Any, bus_name: str) -> None:
        self._client = client  # a boto3 EventBridge client
        self._bus = bus_name

    def publish(self, message: InboundMessage) -> str:
        """Put one event; return its EventId. A refused entry raises (the record is retried)."""
        entry = {
            "EventBusName": self._bus,
            "Source": SOURCE,
            "DetailType": DETAIL_TYPE,
            "Detail": json.dumps(message.event_detail()),
        }
        with aws_errors():
            response = self._client.put_events(Entries=[entry])
        result = response["Entries"][0]
        if response.get("FailedEntryCount") or "EventId" not in result:
            error = f"{result.get('ErrorCode')}: {result.get('ErrorMessage')}"
            raise RuntimeError(f"EventBridge refused the event ({error})")
        return result["EventId"]
