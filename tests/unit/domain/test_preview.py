"""A template's preview: the send's own compose, every missing variable named at once."""

from __future__ import annotations

import pytest

from notify.domain.errors import INVALID_MESSAGE, TEMPLATE_NOT_FOUND, PermanentError
from notify.domain.preview import MissingVariables, PreviewRequest, preview
from notify.domain.templates import Template

OWNER = "customer:acme"


class Versions:
    """A TemplateSource of one tenant's versions of one name, remembering what was asked."""

    def __init__(self, *versions: Template) -> None:
        self._versions = {t.version: t for t in versions}
        self.asked: list[tuple[str, str | None, int | None]] = []

    def get(self, name: str, owner: str | None = None, version: int | None = None) -> Template:
        self.asked.append((name, owner, version))
        if owner != OWNER:
            raise PermanentError(TEMPLATE_NOT_FOUND, f"no template named {name!r}")
        return self._versions[version or max(self._versions)]


WELCOME_V1 = Template("welcome", subject="Hi {name}", html_body="<b>{name}</b>", version=1)
WELCOME_V2 = Template("welcome", subject="Hello {name}", text_body="Hello {name}", version=2)


def test_an_email_preview_is_the_subject_html_and_text_the_send_renders() -> None:
    templates = Versions(WELCOME_V1)

    shown = preview(templates, OWNER, PreviewRequest("welcome", substitutions={"name": "<Al>"}))

    assert shown == {
        "Name": "welcome",
        "Version": 1,
        "Shared": False,
        "ChannelType": "EMAIL",
        "Subject": "Hi <Al>",
        "Html": "<b>&lt;Al&gt;</b>",
        "Text": "<Al>",
    }


def test_a_pinned_version_is_previewed_and_composed_from_that_version() -> None:
    templates = Versions(WELCOME_V1, WELCOME_V2)

    shown = preview(templates, OWNER, PreviewRequest("welcome", "EMAIL", {"name": "Al"}, 1))

    assert (shown["Version"], shown["Subject"]) == (1, "Hi Al")
    assert set(templates.asked) == {("welcome", OWNER, 1)}


def test_an_sms_preview_counts_its_segments_and_encoding() -> None:
    templates = Versions(Template("code", message_body="Code {c} " + "x" * 160, version=1))

    shown = preview(templates, OWNER, PreviewRequest("code", "SMS", {"c": "1"}))

    assert (shown["Segments"], shown["Encoding"], shown["Characters"]) == (2, "GSM-7", 167)
    assert shown["Body"] == "Code 1 " + "x" * 160


def test_every_missing_variable_is_named_at_once() -> None:
    templates = Versions(Template("t", subject="{a}", html_body="{b} {c}", version=1))

    with pytest.raises(MissingVariables) as caught:
        preview(templates, OWNER, PreviewRequest("t", substitutions={"b": "1"}))

    assert caught.value.missing == ["a", "c"]
    assert str(caught.value) == "MissingVariable: no value for: a, c"


def test_another_tenants_template_is_not_found() -> None:
    with pytest.raises(PermanentError) as caught:
        preview(Versions(WELCOME_V1), "customer:other", PreviewRequest("welcome"))

    assert caught.value.reason == TEMPLATE_NOT_FOUND


def test_what_a_send_would_refuse_a_preview_refuses_with_the_same_words() -> None:
    templates = Versions(Template("long", message_body="x" * 1700, version=1))

    with pytest.raises(PermanentError) as caught:
        preview(templates, OWNER, PreviewRequest("long", "WHATSAPP"))

    assert caught.value.reason == INVALID_MESSAGE
    assert "the limit is 1600" in caught.value.detail


def test_a_preview_for_a_locale_renders_the_variant_a_send_to_it_chooses() -> None:
    french = {"Subject": "Salut {name}", "TextBody": "Salut {name}"}
    templates = Versions(Template("welcome", "x", "Hi {name}", version=3, variants={"fr": french}))

    shown = preview(
        templates, OWNER, PreviewRequest("welcome", "EMAIL", {"name": "Al"}, None, "fr-CA")
    )
    default = preview(
        templates, OWNER, PreviewRequest("welcome", "EMAIL", {"name": "Al"}, None, "de")
    )

    assert (shown["Locale"], shown["Subject"], shown["Text"]) == ("fr", "Salut Al", "Salut Al")
    assert "Locale" not in default
    assert default["Subject"] == "Hi Al"


def test_a_variant_missing_a_variable_is_named_as_the_default_would_be() -> None:
    templates = Versions(
        Template("code", message_body="{c}", version=1, variants={"fr": {"MessageBody": "{code}"}})
    )

    with pytest.raises(MissingVariables) as missing:
        preview(templates, OWNER, PreviewRequest("code", "SMS", {"c": "1"}, locale="fr"))
    assert missing.value.missing == ["code"]
