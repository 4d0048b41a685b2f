"""Each function's settings, read once at cold start. A missing variable stops the start.

A settings class lists its fields with the environment variable each comes from; the
one loader, `FromEnvironment.from_env`, reads and converts them by the field's type
(`str`, `int`, `float`; `str | None` may be absent) and checks `choices`. A field
`per_channel` is one variable per channel of the registry.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar, get_args, get_type_hints

from notify.domain.channels import CHANNELS
from notify.domain.lanes import is_small_request
from notify.domain.senders import UNLISTED_MODES
from notify.integration.schedules import SendSchedules

T = TypeVar("T", bound="FromEnvironment")


def required(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise RuntimeError(f"environment variable {name} is required")
    return value


def optional(name: str) -> str | None:
    return os.environ.get(name) or None


def env(name: str, *, choices: tuple[str, ...] | None = None) -> Any:
    """A setting read from the environment variable `name`."""
    return field(metadata={"env": name, "choices": choices})


def per_channel(pattern: str) -> Any:
    """ChannelType -> the variable `pattern` names for it, e.g. SEND_{channel}_FUNCTION_ARN."""
    return field(metadata={"env": pattern, "choices": None, "per_channel": True})


class FromEnvironment:
    @classmethod
    def from_env(cls: type[T]) -> T:
        hints = get_type_hints(cls)
        return cls(**{f.name: _read(f.metadata, hints[f.name]) for f in fields(cls)})  # type: ignore[arg-type]


def _read(metadata: Any, kind: Any) -> Any:
    name, choices = metadata["env"], metadata["choices"]
    if metadata.get("per_channel"):
        return {channel: required(name.format(channel=channel)) for channel in CHANNELS}
    if type(None) in get_args(kind):
        return optional(name)
    value = required(name)
    if choices and value not in choices:
        raise RuntimeError(f"environment variable {name} must be one of {choices}, not {value!r}")
    return kind(value)


@dataclass(frozen=True)
class MessageSettings(FromEnvironment):
    """What checks a message before it is sent: its template and its sender."""

    templates_table: str = env("TEMPLATES_TABLE")  # the operator's shared templates
    tenant_templates_table: str = env("TENANT_TEMPLATES_TABLE")  # the tenants' own, versioned
    traces_table: str = env("TRACES_TABLE")
    trace_retention_days: int = env("TRACE_RETENTION_DAYS")
    default_template: str = env("DEFAULT_TEMPLATE_NAME")
    template_cache_seconds: float = env("TEMPLATE_CACHE_SECONDS")
    tenants_table: str = env("TENANTS_TABLE")
    tenant_cache_seconds: float = env("TENANT_CACHE_SECONDS")
    unlisted_tenant_senders: str = env("UNLISTED_TENANT_SENDERS", choices=UNLISTED_MODES)
    # Comma-separated (the DefaultSenders parameter); what `defaults` lets an unlisted tenant use.
    default_senders: str | None = env("DEFAULT_SENDERS")


@dataclass(frozen=True)
class SendSettings(MessageSettings):
    budgets_table: str = env("SEND_BUDGETS_TABLE")
    # The function's channel's default send budget, messages per second (e.g. EmailSendRate).
    send_rate: float = env("SEND_RATE")
    # Where a paced send is counted (SendsPaced, by channel and lane).
    metrics_namespace: str = env("POWERTOOLS_METRICS_NAMESPACE")
    # A job's row is not sent once its job is cancelled (None: no job's rows come here).
    jobs_table: str | None = env("JOBS_TABLE")


@dataclass(frozen=True)
class DeliveryStepSettings(FromEnvironment):
    """What Plan and Record share: the traces, the DLQ and the one-time schedules."""

    traces_table: str = env("TRACES_TABLE")
    retention_days: int = env("TRACE_RETENTION_DAYS")
    dead_letter_queue_url: str = env("DEAD_LETTER_QUEUE_URL")
    # Scheduled sends and fallbacks: the stack's schedule group, the role Scheduler sends
    # with, and the queues a schedule may send to (small and large requests) or dead-letter to.
    schedule_group: str = env("SCHEDULE_GROUP")
    scheduler_role_arn: str = env("SCHEDULER_ROLE_ARN")
    message_queue_arn: str = env("MESSAGE_QUEUE_ARN")
    large_message_queue_arn: str = env("LARGE_MESSAGE_QUEUE_ARN")
    dead_letter_queue_arn: str = env("DEAD_LETTER_QUEUE_ARN")

    def send_schedules(self, client: Any) -> SendSchedules:
        """The one-time schedules Plan (SendAt) and Record (fallbacks) create."""
        return SendSchedules(
            client, self.schedule_group, self.scheduler_role_arn, self.dead_letter_queue_arn
        )

    def queue_for(self, request: Mapping[str, Any]) -> str:
        """The queue a request takes (its lane, as the API chose it)."""
        return self.message_queue_arn if is_small_request(request) else self.large_message_queue_arn


@dataclass(frozen=True)
class RecordSettings(DeliveryStepSettings):
    metrics_namespace: str = env("POWERTOOLS_METRICS_NAMESPACE")
    # A continuation due within 15 minutes is queued with a delay on its request's queue.
    message_queue_url: str = env("MESSAGE_QUEUE_URL")
    large_message_queue_url: str = env("LARGE_MESSAGE_QUEUE_URL")

    def queue_url_for(self, request: Mapping[str, Any]) -> str:
        return self.message_queue_url if is_small_request(request) else self.large_message_queue_url


@dataclass(frozen=True)
class PlanSettings(DeliveryStepSettings):
    execution_timeout_seconds: int = env("EXECUTION_TIMEOUT_SECONDS")
    opt_outs_table: str = env("OPT_OUTS_TABLE")
    # Channel -> the ARN of its send function.
    send_functions: Mapping[str, str] = per_channel("SEND_{channel}_FUNCTION_ARN")
    budgets_table: str = env("SEND_BUDGETS_TABLE")
    # Channel -> its default send budget, messages per second (the *SendRate parameters).
    send_rates: Mapping[str, str] = per_channel("SEND_RATE_{channel}")
    jobs_table: str = env("JOBS_TABLE")


@dataclass(frozen=True)
class ReconcileSettings(FromEnvironment):
    traces_table: str = env("TRACES_TABLE")
    retention_days: int = env("TRACE_RETENTION_DAYS")
    execution_timeout_seconds: int = env("EXECUTION_TIMEOUT_SECONDS")
    dead_letter_queue_url: str = env("DEAD_LETTER_QUEUE_URL")
    schedule_group: str = env("SCHEDULE_GROUP")


@dataclass(frozen=True)
class StatusSettings(FromEnvironment):
    traces_table: str = env("TRACES_TABLE")


@dataclass(frozen=True)
class CancelSettings(FromEnvironment):
    traces_table: str = env("TRACES_TABLE")
    retention_days: int = env("TRACE_RETENTION_DAYS")
    schedule_group: str = env("SCHEDULE_GROUP")


@dataclass(frozen=True)
class TriggerSettings(FromEnvironment):
    tenants_table: str = env("TENANTS_TABLE")
    tenant_cache_seconds: float = env("TENANT_CACHE_SECONDS")
    message_queue_url: str = env("MESSAGE_QUEUE_URL")
    large_message_queue_url: str = env("LARGE_MESSAGE_QUEUE_URL")


@dataclass(frozen=True)
class TwilioSettings(FromEnvironment):
    secret_name: str = env("TWILIO_SECRET_NAME")
    secret_max_age_seconds: int = env("TWILIO_SECRET_MAX_AGE_SECONDS")
    api_url: str = env("TWILIO_API_URL")
    status_callback_url: str | None = env("STATUS_CALLBACK_URL")


@dataclass(frozen=True)
class WebhookSettings(FromEnvironment):
    twilio_secret_name: str = env("TWILIO_SECRET_NAME")
    secret_max_age_seconds: int = env("TWILIO_SECRET_MAX_AGE_SECONDS")
    inbound_queue_url: str = env("INBOUND_QUEUE_URL")


@dataclass(frozen=True)
class InboundSettings(FromEnvironment):
    opt_outs_table: str = env("OPT_OUTS_TABLE")
    traces_table: str = env("TRACES_TABLE")
    idempotency_table: str = env("IDEMPOTENCY_TABLE")
    event_bus: str = env("INBOUND_EVENT_BUS")
    help_reply_text: str = env("HELP_REPLY_TEXT")
    budgets_table: str = env("SEND_BUDGETS_TABLE")
    # The WhatsApp senders' default send budget (WhatsAppSendRate): a HELP reply spends it.
    send_rate: float = env("SEND_RATE")


@dataclass(frozen=True)
class StatusEventsSettings(FromEnvironment):
    event_bus: str = env("STATUS_EVENT_BUS")
    metrics_namespace: str = env("POWERTOOLS_METRICS_NAMESPACE")


@dataclass(frozen=True)
class CallbackSettings(FromEnvironment):
    """The callbacks API (PUT/GET/DELETE /callbacks) and the dispatcher share these."""

    tenants_table: str = env("TENANTS_TABLE")
    secret_prefix: str = env("CALLBACK_SECRET_PREFIX")
    # Only the local stack's configuration sets it: loopback (and http to it) allowed.
    allow_loopback: str = env("CALLBACK_ALLOW_LOOPBACK", choices=("true", "false"))

    @property
    def loopback_allowed(self) -> bool:
        return self.allow_loopback == "true"


@dataclass(frozen=True)
class DispatchSettings(FromEnvironment):
    tenant_cache_seconds: float = env("TENANT_CACHE_SECONDS")
    timeout_seconds: float = env("CALLBACK_TIMEOUT_SECONDS")
    retry_base_seconds: int = env("CALLBACK_RETRY_BASE_SECONDS")
    retry_max_seconds: int = env("CALLBACK_RETRY_MAX_SECONDS")
    queue_url: str = env("CALLBACKS_QUEUE_URL")
    metrics_namespace: str = env("POWERTOOLS_METRICS_NAMESPACE")


@dataclass(frozen=True)
class JobsSettings(MessageSettings):
    jobs_table: str = env("JOBS_TABLE")
    jobs_bucket: str = env("JOBS_BUCKET")
    job_state_machine_arn: str = env("JOB_STATE_MACHINE_ARN")


@dataclass(frozen=True)
class TemplatesSettings(FromEnvironment):
    """The templates API: the tenants' own templates and the shared ones it shows beside."""

    templates_table: str = env("TEMPLATES_TABLE")
    tenant_templates_table: str = env("TENANT_TEMPLATES_TABLE")
