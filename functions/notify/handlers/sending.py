"""What the send functions share: sending at most once per recipient, and the outcome.

The send functions carry no Powertools Tracer: importing the X-Ray SDK and patching the
SDK clients is most of a cold start (measured by `make bench`), run for every recipient
burst. The Lambda service still traces each invocation (`Tracing: Active`), and the
state machine each task; the structured logs carry the TraceId.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from notify.domain.channels import Channel
from notify.domain.compose import Delivery
from notify.domain.errors import THROTTLED, AwaitingDelivery, TransientError
from notify.domain.jobs import JOB
from notify.domain.outcomes import CANCELLED, SENT
from notify.domain.pacing import (
    LATE,
    NOT_BEFORE,
    PACED,
    SLOT_HELD,
    Booking,
    decide,
    horizon,
    interval,
    lane_of,
    throttle_backoff,
)
from notify.domain.senders import (
    NO_SENDERS,
    AllowedSenders,
    InvalidSender,
    check_sender,
    default_senders,
)
from notify.domain.steps import DeliveryStep, Outcome, Tried
from notify.domain.test_keys import TEST_MARK, is_test
from notify.handlers.settings import SendSettings
from notify.integration.budgets import BudgetStore
from notify.integration.dynamodb_table import DynamoTable
from notify.integration.job_store import JobStore
from notify.integration.providers.simulator import SimulatedProvider
from notify.integration.template_store import DynamoTemplateStore
from notify.integration.tenant_store import TenantStore
from notify.integration.traces.attempts import AttemptStore
from notify.integration.traces.deliveries import DeliveryStatusStore
from notify.integration.traces.keys import recipient_item_key

logger = Logger()

# The state machine owns retries of provider calls, so each attempt and its backoff shows
# in the execution history; SDK retries underneath would multiply them unseen.
PROVIDER_CLIENT_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 1})


@dataclass(frozen=True)
class SendResources:
    """What every send function builds at cold start from its settings."""

    settings: SendSettings
    templates: DynamoTemplateStore
    traces: AttemptStore
    tenants: TenantStore
    budgets: BudgetStore
    deliveries: DeliveryStatusStore
    default_senders: AllowedSenders = NO_SENDERS
    jobs: JobStore | None = None

    @classmethod
    def from_env(cls) -> SendResources:
        settings = SendSettings.from_env()
        try:
            defaults = default_senders((settings.default_senders or "").split(","))
        except InvalidSender as exc:  # at cold start: a stack that cannot check senders stops
            raise RuntimeError(f"environment variable DEFAULT_SENDERS: {exc}") from exc
        dynamodb = boto3.client("dynamodb")
        return cls(
            settings,
            DynamoTemplateStore(
                dynamodb,
                settings.templates_table,
                settings.template_cache_seconds,
                tenant_table=settings.tenant_templates_table,
            ),
            AttemptStore(
                DynamoTable(dynamodb, settings.traces_table), settings.trace_retention_days
            ),
            TenantStore(dynamodb, settings.tenants_table, settings.tenant_cache_seconds),
            BudgetStore(DynamoTable(dynamodb, settings.budgets_table)),
            DeliveryStatusStore(DynamoTable(dynamodb, settings.traces_table)),
            defaults,
            JobStore(DynamoTable(dynamodb, settings.jobs_table)) if settings.jobs_table else None,
        )

    def refuse_unlisted_sender(self, delivery: Delivery, sender: str | None) -> None:
        """PermanentError(SenderNotAllowed) when the tenant may not send from `sender`."""
        check_sender(
            delivery.owner,
            delivery.channel,
            sender,
            self.tenants.senders(delivery.owner),
            self.settings.unlisted_tenant_senders,
            self.default_senders,
        )

    def pacer(
        self, channel: Channel, delivery: Delivery, retry: bool = False
    ) -> Callable[[], float | dict[str, Any]]:
        """What pacing says for this send, once its slot has come: 0.0 (send), or the
        fields it leaves the execution paced with (`pacing.decide`, `_on_time`)."""
        budget = channel.budget_key(delivery.messages.get(channel.block, {}))
        lane = lane_of(delivery.request)
        step = interval(self.settings.send_rate)

        def book_one() -> Booking:
            return self.budgets.book(budget, lane, time.time(), step)[0]

        def decided() -> float | dict[str, Any]:
            return decide(delivery.recipient, time.time(), book_one, retry)

        return lambda: _on_time(decided, horizon(delivery.recipient, time.time(), retry))

    def send_once(
        self,
        delivery: Delivery,
        context: LambdaContext,
        send: Callable[[], str],
        details: Mapping[str, Any],
        pace: Callable[[], float | dict[str, Any]] = lambda: 0.0,
        recorded: Mapping[str, Any] | None = None,
    ) -> Outcome:
        """Call `send` at most once per recipient and answer the SENT outcome.

        Exactly once per (tenant, TraceId, channel, address) however often SQS, the pipe
        or a redrive repeats it, for as long as the trace is kept: the recipient's trace
        item is its idempotency record (`AttemptStore.begin_send`). A recipient sent before
        gets that send's outcome again; `send`'s provider id is written before answering.
        `details` are what the message adds to the outcome, by their JSON names. `pace`
        is asked first: a send over its budget waits for its slot, or is PACED (it leaves
        the execution and comes back), as is one its provider throttles, until that has
        lasted `pacing.OUTLAST_THROTTLE_SECONDS`. `recorded`: what the recipient's item
        keeps beside SENT (the template and version the message was rendered from).
        """
        key = (delivery.trace_id, delivery.owner, delivery.channel, delivery.address)
        until = datetime.now(UTC) + timedelta(milliseconds=context.get_remaining_time_in_millis())
        job = delivery.recipient.get(JOB)
        if job and self.job_cancelled(delivery.owner, job):
            logger.info("its job was cancelled: not sent")
            return Outcome(delivery.trace_id, delivery.owner, delivery.recipient, CANCELLED)
        earlier = self.traces.begin_send(*key, until.isoformat(timespec="microseconds"), job)
        if earlier is not None and earlier.get("Status") == CANCELLED:
            # Its sender cancelled it: an outcome, not an error (never retried or dead-lettered).
            logger.info("cancelled, not sent")
            return Outcome(delivery.trace_id, delivery.owner, delivery.recipient, CANCELLED)
        if earlier is not None:
            logger.info("already sent", extra={"provider_message_id": earlier["ProviderMessageId"]})
            return _awaited(_sent(delivery, earlier["ProviderMessageId"], earlier["SentAt"], {}))
        try:
            decided = pace()
            if isinstance(decided, dict):
                self._end_attempt(key)
                logger.info("paced", extra={"not_before": decided.get("NotBefore")})
                return _paced(delivery, decided)
            message_id = send()
        except TransientError as exc:
            self._end_attempt(key)
            backoff = throttle_backoff(delivery.recipient, time.time())
            if exc.reason != THROTTLED or backoff is None:
                raise
            logger.info(
                "throttled by the provider: paced", extra={"retry_at": backoff["NotBefore"]}
            )
            return _paced(delivery, backoff)
        except Exception:
            self._end_attempt(key)
            raise
        at = datetime.now(UTC).isoformat()
        self.traces.complete_send(*key, message_id, at, recorded)
        logger.info("sent", extra={"channel": delivery.channel, "provider_message_id": message_id})
        return _awaited(_sent(delivery, message_id, at, details))

    @contextmanager
    def reporting_simulated(self, delivery: Delivery, sender: Provider) -> Iterator[None]:
        """Around a send: then the test provider's status event, written as a real provider's
        is (the rank rule), so it is published and called back after the SENT. Nothing for
        a live provider, or a test send that did not happen in this call."""
        try:
            yield
        except AwaitingDelivery:  # sent: its receipt decides whether the next channel is tried
            self._report_simulated(delivery, sender)
            raise
        self._report_simulated(delivery, sender)

    def _report_simulated(self, delivery: Delivery, sender: Provider) -> None:
        if not isinstance(sender, SimulatedProvider):
            return
        update = sender.status_event(delivery.trace_id)
        if update is not None:
            key = recipient_item_key(
                delivery.trace_id, delivery.owner, delivery.channel, delivery.address
            )
            self.deliveries.record_delivery_to(key, update)

    def job_cancelled(self, owner: str, job: str) -> bool:
        """Read at each row's send (one GetItem, not cached: a cancel is seen at once)."""
        return self.jobs is not None and self.jobs.status(owner, job) in (None, CANCELLED)

    def _end_attempt(self, key: tuple[str, str, str, str]) -> None:
        # Best effort: without it the next attempt waits for the in-progress mark to lapse.
        try:
            self.traces.end_attempt(*key)
        except Exception:
            logger.exception("the failed attempt's end was not recorded")


def _sent(delivery: Delivery, message_id: str, at: str, details: Mapping[str, Any]) -> Outcome:
    sent = Outcome(
        delivery.trace_id,
        delivery.owner,
        delivery.recipient,
        SENT,
        provider_message_id=message_id,
        sent_at=at,
    )
    # The message's details (an SMS's Segments) are named as the outcome's JSON names them.
    return Outcome.from_json(sent.to_json() | dict(details))


# A function that woke this late for its slot (a stalled host) asks pacing again so
# often, rather than send beside the slots after its own.
WAKE_ATTEMPTS = 3


def _on_time(pace: Callable[[], float | dict[str, Any]], horizon: float) -> float | dict[str, Any]:
    """Wait for the slot pacing gives: 0.0 once it is time to send, or the paced fields.

    Woken more than `pacing.LATE` after its slot, a send books afresh (pacing treats a slot
    gone by so), so a stall never turns into a burst at the provider. A turn in the bulk
    line that comes before `horizon` (the latest its execution waits for) is waited for
    here, then booked.
    """
    decided = pace()
    for _ in range(WAKE_ATTEMPTS):
        while isinstance(decided, dict) and _turn_within(decided, horizon):
            time.sleep(max(0.0, float(decided[NOT_BEFORE]) - time.time()))
            decided = pace()
        if isinstance(decided, dict):
            return decided
        slot = time.time() + decided
        time.sleep(decided)
        if time.time() - slot <= LATE:
            return 0.0
        decided = pace()
    return decided


def _turn_within(paced: Mapping[str, Any], horizon: float) -> bool:
    """A ticket (no slot held) whose turn comes before `horizon`."""
    return not paced.get(SLOT_HELD) and NOT_BEFORE in paced and paced[NOT_BEFORE] <= horizon


def _paced(delivery: Delivery, fields: Mapping[str, Any]) -> Outcome:
    return Outcome(delivery.trace_id, delivery.owner, delivery.recipient | dict(fields), PACED)


def _awaited(outcome: Outcome) -> Outcome:
    """The SENT outcome, or AwaitingDelivery when a next channel waits for its receipt."""
    seconds = outcome.recipient.get("AwaitDeliverySeconds")
    if seconds:
        raise AwaitingDelivery(
            f"sent as {outcome.provider_message_id}; the next channel is tried unless it is "
            f"delivered or read within {seconds} s"
        )
    return outcome


def count_paced(namespace: str, channel: Channel, lane: str) -> None:
    """One SendsPaced for a send that left its execution to wait (its budget, or a throttle).

    Only a paced send is counted: a send with room costs no metric. Honours
    POWERTOOLS_METRICS_DISABLED, as Record's counts do.
    """
    metrics = EphemeralMetrics(namespace=namespace)
    metrics.add_dimension(name="Channel", value=channel.name)
    metrics.add_dimension(name="Lane", value=lane)
    metrics.add_metric(name="SendsPaced", unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()


class Provider(Protocol):
    def send(self, message: Any, trace_id: str) -> str:
        """Hand the message to the provider; its id for the message."""


def provider_for(delivery: Delivery, provider: Provider) -> Provider:
    """The channel's provider, or for a test key's request the test provider (no one is reached)."""
    return SimulatedProvider(delivery.recipient) if _is_test(delivery) else provider


def traffic_mark(delivery: Delivery) -> dict[str, Any]:
    """What a test key's recipient item keeps beside SENT; nothing for a live one."""
    return {TEST_MARK: True} if _is_test(delivery) else {}


def _is_test(delivery: Delivery) -> bool:
    return is_test(delivery.request.get("Caller"))


def send_handler(
    channel: Channel, provider: Provider
) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """The one send path, for one channel: render, check the sender, send at most once.

    Each channel has its own function (least privilege: only its provider's rights);
    what differs is its registry entry (how it composes) and its provider.
    """
    resources = SendResources.from_env()

    @logger.inject_lambda_context(correlation_id_path="Request.TraceId")
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        delivery = Delivery.from_event(event)
        message = channel.compose(
            delivery, resources.templates, resources.settings.default_template
        )
        resources.refuse_unlisted_sender(delivery, message.sender)
        sender = provider_for(delivery, provider)
        with resources.reporting_simulated(delivery, sender):
            outcome = resources.send_once(
                delivery,
                context,
                lambda: sender.send(message, delivery.trace_id),
                message.details(),
                # The state machine's retries of this send (the ASL's Retry, RetryExhausted).
                resources.pacer(channel, delivery, retry=bool(event.get("Retry"))),
                (message.template.fields() if message.template else {}) | traffic_mark(delivery),
            )
        if outcome.status == PACED:  # Record continues it from its delivery, with its slot
            count_paced(resources.settings.metrics_namespace, channel, lane_of(delivery.request))
            step = DeliveryStep.from_json(event["Delivery"])
            outcome = replace(outcome, delivery=replace(step, recipient=outcome.recipient))
        # The channels given up on before this one (fallbacks): the state machine's output
        # is this answer, and Record writes their outcomes from it.
        return replace(outcome, tried=Tried.from_json(event.get("Tried"))).to_json()

    return handler
