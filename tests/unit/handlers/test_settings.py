"""Settings read once from the environment: converted by type, refused loudly when wrong."""

from __future__ import annotations

import pytest

from notify.handlers.settings import SendSettings, TwilioSettings

SEND = {
    "TEMPLATES_TABLE": "templates",
    "TENANT_TEMPLATES_TABLE": "tenant-templates",
    "TRACES_TABLE": "traces",
    "TRACE_RETENTION_DAYS": "90",
    "DEFAULT_TEMPLATE_NAME": "alert-template",
    "TEMPLATE_CACHE_SECONDS": "1.5",
    "TENANTS_TABLE": "tenants",
    "TENANT_CACHE_SECONDS": "60",
    "UNLISTED_TENANT_SENDERS": "any",
    "SEND_BUDGETS_TABLE": "send-budgets",
    "SEND_RATE": "14",
    "POWERTOOLS_METRICS_NAMESPACE": "Messaging",
}


@pytest.fixture
def environment(monkeypatch):
    def set_all(variables: dict[str, str]) -> None:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)

    return set_all


def test_each_setting_is_read_and_converted_by_its_type(environment) -> None:
    environment(SEND)

    settings = SendSettings.from_env()

    assert settings.trace_retention_days == 90
    assert settings.template_cache_seconds == 1.5
    assert settings.unlisted_tenant_senders == "any"
    assert settings.send_rate == 14.0


def test_a_missing_variable_stops_the_start_naming_it(environment, monkeypatch) -> None:
    environment(SEND)
    monkeypatch.delenv("TRACES_TABLE")

    with pytest.raises(RuntimeError, match="TRACES_TABLE is required"):
        SendSettings.from_env()


def test_a_value_outside_its_choices_is_refused(environment) -> None:
    environment(SEND | {"UNLISTED_TENANT_SENDERS": "some"})

    with pytest.raises(RuntimeError, match="must be one of"):
        SendSettings.from_env()


def test_an_optional_setting_may_be_absent(environment, monkeypatch) -> None:
    environment(
        {
            "TWILIO_SECRET_NAME": "twilio",
            "TWILIO_SECRET_MAX_AGE_SECONDS": "300",
            "TWILIO_API_URL": "https://api.twilio.com",
        }
    )
    monkeypatch.delenv("STATUS_CALLBACK_URL", raising=False)

    assert TwilioSettings.from_env().status_callback_url is None
