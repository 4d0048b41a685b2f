"""What the send functions share: one idempotency rule and one success outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
)
from botocore.config import Config

from notify.handlers.settings import SendSettings
from notify.integration.template_store import DynamoTemplateStore

# Exactly once per (caller, TraceId, channel, address), for as long as a redrive can
# happen: the DLQ keeps messages 14 days and Step Functions redrives within 14 days.
IDEMPOTENCY = IdempotencyConfig(
    event_key_jmespath="[Owner, TraceId, Recipient.ChannelType, Recipient.Address]",
    raise_on_no_idempotency_key=True,
    expires_after_seconds=15 * 86400,
)


# The state machine owns retries of provider calls, so each attempt and its backoff shows
# in the execution history; SDK retries underneath would multiply them unseen.
PROVIDER_CLIENT_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 1})


@dataclass(frozen=True)
class SendResources:
    """What every send function builds at cold start from its settings."""

    settings: SendSettings
    templates: DynamoTemplateStore
    persistence: DynamoDBPersistenceLayer

    @classmethod
    def from_env(cls) -> SendResources:
        settings = SendSettings.from_env()
        templates = DynamoTemplateStore(
            boto3.client("dynamodb"), settings.templates_table, settings.template_cache_seconds
        )
        return cls(settings, templates, DynamoDBPersistenceLayer(settings.idempotency_table))


def sent(recipient: dict[str, Any], provider_message_id: str, **details: Any) -> dict[str, Any]:
    return {
        "Recipient": recipient,
        "Status": "SENT",
        "ProviderMessageId": provider_message_id,
        "SentAt": datetime.now(UTC).isoformat(),
        **details,
    }
