"""Amazon EventBridge: publish status events on the stack's status bus."""

from __future__ import annotations

import json
from typing import Any

from notify.domain.status_events import DETAIL_TYPE, SOURCE
from notify.integration.aws_errors import aws_errors

MAX_ENTRIES = 10  # PutEvents takes at most 10 entries a call


class StatusEventPublisher:
    def __init__(self, client: Any, bus_name: str) -> None:
        self._client = client  # a boto3 EventBridge client
        self._bus = bus_name

    def publish(self, events: list[dict[str, Any]]) -> None:
        """Put the events; any refused entry raises, so the stream record is retried whole.

        A retried record puts its events again: receivers drop repeats by EventId.
        """
        for start in range(0, len(events), MAX_ENTRIES):
            entries = [
                {
                    "EventBusName": self._bus,
                    "Source": SOURCE,
                    "DetailType": DETAIL_TYPE,
                    "Detail": json.dumps(event, separators=(",", ":")),
                }
                for event in events[start : start + MAX_ENTRIES]
            ]
            with aws_errors():
                response = self._client.put_events(Entries=entries)
            if response.get("FailedEntryCount"):
                failed = [e for e in response["Entries"] if "ErrorCode" in e]
                reasons = "; ".join(f"{e['ErrorCode']}: {e.get('ErrorMessage')}" for e in failed)
                raise RuntimeError(f"EventBridge refused {len(failed)} status event(s): {reasons}")
