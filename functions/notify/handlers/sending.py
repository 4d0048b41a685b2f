"""What the send functions share: one idempotency rule and one success outcome."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
)
from botocore.config import Config

from notify.domain.compose import Delivery
from notify.domain.errors import OPTED_OUT, PermanentError
from notify.domain.inbound import opt_out_address
from notify.domain.senders import check_sender
from notify.handlers.settings import SendSettings
from notify.integration.opt_outs import OptOutStore
from notify.integration.template_store import DynamoTemplateStore
from notify.integration.tenant_store import TenantStore
from notify.integration.trace_store import TraceStore

# Exactly once per (caller, TraceId, channel, address), for as long as a redrive can
# happen: the DLQ keeps messages 14 days and Step Functions redrives within 14 days.
IDEMPOTENCY = IdempotencyConfig(
    event_key_jmespath="[Request.Owner, Request.TraceId, Recipient.ChannelType, Recipient.Address]",
    raise_on_no_idempotency_key=True,
    expires_after_seconds=15 * 86400,
)


logger = Logger(child=True)

# The state machine owns retries of provider calls, so each attempt and its backoff shows
# in the execution history; SDK retries underneath would multiply them unseen.
PROVIDER_CLIENT_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 1})


@dataclass(frozen=True)
class SendResources:
    """What every send function builds at cold start from its settings."""

    settings: SendSettings
    templates: DynamoTemplateStore
    persistence: DynamoDBPersistenceLayer
    opt_outs: OptOutStore
    traces: TraceStore
    tenants: TenantStore

    @classmethod
    def from_env(cls) -> SendResources:
        settings = SendSettings.from_env()
        dynamodb = boto3.client("dynamodb")
        templates = DynamoTemplateStore(
            dynamodb, settings.templates_table, settings.template_cache_seconds
        )
        return cls(
            settings,
            templates,
            DynamoDBPersistenceLayer(settings.idempotency_table),
            OptOutStore(dynamodb, settings.opt_outs_table),
            TraceStore(
                boto3.resource("dynamodb").Table(settings.traces_table),
                settings.trace_retention_days,
            ),
            TenantStore(dynamodb, settings.tenants_table, settings.tenant_cache_seconds),
        )

    def refuse_unlisted_sender(self, delivery: Delivery, sender: str | None) -> None:
        """PermanentError(SenderNotAllowed) when the tenant may not send from `sender`."""
        check_sender(
            delivery.owner,
            delivery.channel,
            sender,
            self.tenants.senders(delivery.owner),
            self.settings.unlisted_tenant_senders,
        )

    def refuse_opted_out(self, channel: str, address: str) -> None:
        """PermanentError(OptedOut) when the recipient opted out of this channel (STOP)."""
        if self.opt_outs.is_opted_out(opt_out_address(channel, address), channel):
            raise PermanentError(OPTED_OUT, f"{address} has opted out of {channel}")

    @contextmanager
    def attempt(self, delivery: Delivery) -> Iterator[None]:
        """Around one provider call: count it first; if it fails, note that it has ended.

        A reconciler of a stopped execution waits for attempts that may still be at the
        provider; an attempt whose failure is recorded is not one of them. The note is best
        effort: without it the reconciler only waits longer.
        """
        key = (delivery.trace_id, delivery.owner, delivery.channel, delivery.address)
        self.traces.count_attempt(*key)
        try:
            yield
        except Exception:
            try:
                self.traces.end_attempt(*key)
            except Exception:
                logger.exception("the failed attempt's end was not recorded")
            raise

    def sent(self, delivery: Delivery, provider_message_id: str, **details: Any) -> dict[str, Any]:
        """The SENT outcome, with the provider's id also written on the trace at once.

        Provider callbacks find a recipient by that id, and they can arrive long before
        RecordOutcomes runs after the whole Map. The write is best effort: the message
        is already sent, and failing here would send it again on retry. RecordOutcomes
        writes the same id in any case.
        """
        at = datetime.now(UTC).isoformat()
        try:
            self.traces.record_sent(
                delivery.trace_id,
                delivery.owner,
                delivery.channel,
                delivery.address,
                provider_message_id,
                at,
            )
        except Exception:
            logger.exception("provider id not recorded early; RecordOutcomes will record it")
        return {
            "TraceId": delivery.trace_id,
            "Owner": delivery.owner,
            "Recipient": delivery.recipient,
            "Status": "SENT",
            "ProviderMessageId": provider_message_id,
            "SentAt": at,
            **details,
        }
