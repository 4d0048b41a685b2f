"""The test provider: what a test key's messages are sent through. It reaches no one.

It answers as a provider would for the documented test addresses (domain/test_keys.py):
a rejection is the same PermanentError a provider's refusal is, a throttle the same
TransientError (once: the recipient that comes back after its backoff is sent), and
everyone else gets a `test-<uuid>` message id. Which delivery status the message then
ends with is recorded with the send (`notify.handlers.sending`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from notify.domain.errors import PROVIDER_REJECTED, THROTTLED, PermanentError, TransientError
from notify.domain.pacing import THROTTLED as THROTTLED_BEFORE
from notify.domain.test_keys import REJECT, THROTTLE, behaviour

MESSAGE_ID_PREFIX = "test-"


class SimulatedProvider:
    """One recipient's test provider: its pacing fields tell whether it was throttled before."""

    def __init__(self, recipient: Mapping[str, Any]) -> None:
        self._recipient = recipient

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
        return f"{MESSAGE_ID_PREFIX}{uuid.uuid4()}"
