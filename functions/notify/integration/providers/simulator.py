"""The test provider: what a test key's messages are sent through. It reaches no one.

It answers as a provider would for the documented test addresses (domain/test_keys.py):
a rejection is the same PermanentError a provider's refusal is, a throttle the same
TransientError (once: the recipient that comes back after its backoff is sent), and
everyone else gets a `test-<uuid>` message id. Its status event, the delivery status the
address simulates, is reported as soon as the send is recorded (`notify.handlers.sending`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from notify.domain.errors import PROVIDER_REJECTED, THROTTLED, PermanentError, TransientError
from notify.domain.pacing import THROTTLED as THROTTLED_BEFORE
from notify.domain.provider_events import DeliveryUpdate
from notify.domain.test_keys import REJECT, THROTTLE, behaviour, simulated_delivery

MESSAGE_ID_PREFIX = "test-"
PROVIDER = "test"  # as a DeliveryUpdate names who reported it


class SimulatedProvider:
    """One recipient's test provider: its pacing fields tell whether it was throttled before."""

    def __init__(self, recipient: Mapping[str, Any]) -> None:
        self._recipient = recipient
        self.sent_id: str | None = None  # the message id of this instance's send, once sent

    def send(self, message: Any, trace_id: str) -> str:
        """A `test-<uuid>` message id, or the error the recipient's test address simulates."""
        address = self._recipient["Address"]
        simulated = behaviour(address)
        if simulated == REJECT:
            raise PermanentError(
                PROVIDER_REJECTED, f"{address} is the test address that simulates a rejection"
            )
        if simulated == THROTTLE and not self._recipient.get(THROTTLED_BEFORE):
            raise TransientError(
                THROTTLED, f"{address} is the test address that simulates one throttle"
            )
        self.sent_id = f"{MESSAGE_ID_PREFIX}{uuid.uuid4()}"
        return self.sent_id

    def status_event(self, trace_id: str) -> DeliveryUpdate | None:
        """The delivery status its send ends with, as a provider reports one; None: not sent."""
        if self.sent_id is None:
            return None
        recipient = self._recipient
        simulated = simulated_delivery(recipient["ChannelType"], recipient["Address"])
        return DeliveryUpdate(
            PROVIDER,
            self.sent_id,
            simulated.status,
            datetime.now(UTC).isoformat(),
            simulated.error_code,
            trace_id=trace_id,
        )
