"""InboundQueue -> this function: opt-outs, HELP, delivery statuses, inbound messages.

Each record is processed once per provider event (idempotency on its key), and a record
that fails is reported alone, so SQS retries it (and, after three receives, dead-letters
it) without repeating the rest of the batch.
"""

from __future__ import annotations

import time
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from notify.domain.channels.whatsapp import WHATSAPP, WhatsApp
from notify.domain.errors import THROTTLED, TransientError
from notify.domain.inbound import InboundHandling
from notify.domain.pacing import TRANSACTIONAL, interval, next_step
from notify.handlers.settings import InboundSettings, TwilioSettings
from notify.integration.budgets import BudgetStore
from notify.integration.dynamodb_table import DynamoTable
from notify.integration.inbound_events import InboundEventPublisher
from notify.integration.opt_outs import OptOutStore
from notify.integration.providers import parse_record
from notify.integration.providers.twilio.whatsapp import TwilioSecret, TwilioWhatsAppSender
from notify.integration.traces.deliveries import DeliveryStatusStore

settings = InboundSettings.from_env()
twilio = TwilioSettings.from_env()
logger = Logger()
tracer = Tracer()

# A provider event is handled once: a duplicate delivered while the first is kept (or
# redriven from the DLQ within its 14 days) finds the stored outcome instead.
IDEMPOTENCY = IdempotencyConfig(
    event_key_jmespath="Key", raise_on_no_idempotency_key=True, expires_after_seconds=15 * 86400
)
persistence = DynamoDBPersistenceLayer(settings.idempotency_table)


class TwilioReplier:
    """Answers on the channel the message came in on: from the number it was sent to.

    A reply spends that number's send budget like any send, in the transactional lane
    (someone waits for it): it waits for a near slot here; a later one fails the record
    THROTTLED, and SQS gives it again after the queue's visibility timeout.
    """

    def __init__(
        self, sender: TwilioWhatsAppSender, budgets: BudgetStore, send_rate: float
    ) -> None:
        self._sender = sender
        self._budgets = budgets
        self._interval = interval(send_rate)

    def reply(self, to: str, sender: str, body: str) -> str:
        self._wait_for_slot(WHATSAPP.budget_key({WHATSAPP.sender_field: sender}))
        return self._sender.send(WhatsApp(to=to, from_number=sender, body=body), trace_id="")

    def _wait_for_slot(self, budget: str) -> None:
        now = time.time()
        [booking] = self._budgets.book(budget, TRANSACTIONAL, now, self._interval)
        wait = next_step(booking, now)
        if wait is None:
            raise TransientError(
                THROTTLED,
                f"send budget {budget}: the HELP reply's turn is {booking.at - now:.1f} s away; "
                "the record is retried",
            )
        time.sleep(wait)


dynamodb = boto3.client("dynamodb")
handling = InboundHandling(
    opt_outs=OptOutStore(dynamodb, settings.opt_outs_table),
    statuses=DeliveryStatusStore(DynamoTable(dynamodb, settings.traces_table)),
    publisher=InboundEventPublisher(boto3.client("events"), settings.event_bus),
    # No status callback: a reply is on no trace, so its callbacks would have nowhere to go.
    replier=TwilioReplier(
        TwilioWhatsAppSender(
            TwilioSecret(twilio.secret_name, twilio.secret_max_age_seconds), twilio.api_url, None
        ),
        BudgetStore(DynamoTable(dynamodb, settings.budgets_table)),
        settings.send_rate,
    ),
    help_text=settings.help_reply_text,
)


@idempotent_function(
    data_keyword_argument="record", config=IDEMPOTENCY, persistence_store=persistence
)
def handle(record: dict[str, str]) -> dict[str, str]:
    outcome = handling.handle(parse_record(record["Body"]))
    logger.info("inbound handled", extra={"key": outcome.key, "action": outcome.action})
    return outcome.to_dict()


def handle_record(record: SQSRecord) -> dict[str, str]:
    return handle(record={"Key": parse_record(record.body).key, "Body": record.body})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    IDEMPOTENCY.register_lambda_context(context)
    # One processor per invocation: it keeps the batch's successes and failures.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(
        event=event, record_handler=handle_record, processor=processor, context=context
    )
