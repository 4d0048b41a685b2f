"""Each function's settings, read once at cold start. A missing variable stops the start."""

from __future__ import annotations

import os
from dataclasses import dataclass

from notify.domain.senders import UNLISTED_MODES


def required(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise RuntimeError(f"environment variable {name} is required")
    return value


def optional(name: str) -> str | None:
    return os.environ.get(name) or None


def one_of(name: str, allowed: tuple[str, ...]) -> str:
    value = required(name)
    if value not in allowed:
        raise RuntimeError(f"environment variable {name} must be one of {allowed}, not {value!r}")
    return value


@dataclass(frozen=True)
class SendSettings:
    templates_table: str
    traces_table: str
    trace_retention_days: int
    default_template: str
    template_cache_seconds: float
    tenants_table: str
    tenant_cache_seconds: float
    unlisted_tenant_senders: str  # senders.ANY or senders.NONE

    @classmethod
    def from_env(cls) -> SendSettings:
        return cls(
            templates_table=required("TEMPLATES_TABLE"),
            traces_table=required("TRACES_TABLE"),
            trace_retention_days=int(required("TRACE_RETENTION_DAYS")),
            default_template=required("DEFAULT_TEMPLATE_NAME"),
            template_cache_seconds=float(required("TEMPLATE_CACHE_SECONDS")),
            tenants_table=required("TENANTS_TABLE"),
            tenant_cache_seconds=float(required("TENANT_CACHE_SECONDS")),
            unlisted_tenant_senders=one_of("UNLISTED_TENANT_SENDERS", UNLISTED_MODES),
        )


@dataclass(frozen=True)
class PlanSettings:
    traces_table: str
    retention_days: int
    execution_timeout_seconds: int
    send_functions: dict[str, str]  # channel -> the ARN of its send function
    opt_outs_table: str

    @classmethod
    def from_env(cls) -> PlanSettings:
        return cls(
            opt_outs_table=required("OPT_OUTS_TABLE"),
            traces_table=required("TRACES_TABLE"),
            retention_days=int(required("TRACE_RETENTION_DAYS")),
            execution_timeout_seconds=int(required("EXECUTION_TIMEOUT_SECONDS")),
            send_functions={
                "EMAIL": required("SEND_EMAIL_FUNCTION_ARN"),
                "SMS": required("SEND_SMS_FUNCTION_ARN"),
                "WHATSAPP": required("SEND_WHATSAPP_FUNCTION_ARN"),
            },
        )


@dataclass(frozen=True)
class ReconcileSettings:
    traces_table: str
    retention_days: int
    execution_timeout_seconds: int
    dead_letter_queue_url: str

    @classmethod
    def from_env(cls) -> ReconcileSettings:
        return cls(
            traces_table=required("TRACES_TABLE"),
            retention_days=int(required("TRACE_RETENTION_DAYS")),
            execution_timeout_seconds=int(required("EXECUTION_TIMEOUT_SECONDS")),
            dead_letter_queue_url=required("DEAD_LETTER_QUEUE_URL"),
        )


@dataclass(frozen=True)
class StatusSettings:
    traces_table: str

    @classmethod
    def from_env(cls) -> StatusSettings:
        return cls(traces_table=required("TRACES_TABLE"))


@dataclass(frozen=True)
class TriggerSettings:
    tenants_table: str
    tenant_cache_seconds: float
    message_queue_url: str

    @classmethod
    def from_env(cls) -> TriggerSettings:
        return cls(
            tenants_table=required("TENANTS_TABLE"),
            tenant_cache_seconds=float(required("TENANT_CACHE_SECONDS")),
            message_queue_url=required("MESSAGE_QUEUE_URL"),
        )


@dataclass(frozen=True)
class TraceSettings:
    traces_table: str
    retention_days: int
    metrics_namespace: str

    @classmethod
    def from_env(cls) -> TraceSettings:
        return cls(
            traces_table=required("TRACES_TABLE"),
            retention_days=int(required("TRACE_RETENTION_DAYS")),
            metrics_namespace=required("POWERTOOLS_METRICS_NAMESPACE"),
        )


@dataclass(frozen=True)
class TwilioSettings:
    secret_name: str
    secret_max_age_seconds: int
    api_url: str
    status_callback_url: str | None

    @classmethod
    def from_env(cls) -> TwilioSettings:
        return cls(
            secret_name=required("TWILIO_SECRET_NAME"),
            secret_max_age_seconds=int(required("TWILIO_SECRET_MAX_AGE_SECONDS")),
            api_url=required("TWILIO_API_URL"),
            status_callback_url=optional("STATUS_CALLBACK_URL"),
        )


@dataclass(frozen=True)
class WebhookSettings:
    twilio_secret_name: str
    secret_max_age_seconds: int
    inbound_queue_url: str

    @classmethod
    def from_env(cls) -> WebhookSettings:
        return cls(
            twilio_secret_name=required("TWILIO_SECRET_NAME"),
            secret_max_age_seconds=int(required("TWILIO_SECRET_MAX_AGE_SECONDS")),
            inbound_queue_url=required("INBOUND_QUEUE_URL"),
        )


@dataclass(frozen=True)
class InboundSettings:
    opt_outs_table: str
    traces_table: str
    idempotency_table: str
    event_bus: str
    help_reply_text: str

    @classmethod
    def from_env(cls) -> InboundSettings:
        return cls(
            opt_outs_table=required("OPT_OUTS_TABLE"),
            traces_table=required("TRACES_TABLE"),
            idempotency_table=required("IDEMPOTENCY_TABLE"),
            event_bus=required("INBOUND_EVENT_BUS"),
            help_reply_text=required("HELP_REPLY_TEXT"),
        )
