"""A template write's checks, the placeholders a preview names at once, and locale variants:
which one a recipient gets, and what a new version carries."""

from __future__ import annotations

import pytest

from emulator.request_schema import load_components
from notify.domain.templates import (
    LOCALE,
    InvalidTemplate,
    Template,
    TemplateUsed,
    check_name,
    choose_locale,
    missing_variables,
    next_version,
    template_parts,
    template_write,
)


def test_a_template_with_a_body_is_stored_as_given() -> None:
    body = {"Subject": "Hi {name}", "HtmlBody": "<p>{name}</p>", "TextBody": "{name}"}

    assert template_parts(body) == body


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"MessageBody": "x", "Body": "y"}, r"unknown field\(s\) Body; a template has Subject"),
        ({"Subject": "Only a subject"}, "a template needs a body: one of HtmlBody, TextBody"),
        ({"MessageBody": "  "}, "MessageBody: must be non-empty text"),
        ({"MessageBody": 3}, "MessageBody: must be non-empty text"),
        ([], "the body must be a JSON object"),
        ({"MessageBody": "x" * 400_000}, "bytes; at most"),
    ],
    ids=["unknown field", "no body", "blank", "not text", "not an object", "too large"],
)
def test_a_template_write_that_cannot_be_stored_says_why(body, why) -> None:
    with pytest.raises(InvalidTemplate, match=why):
        template_parts(body)


@pytest.mark.parametrize("name", ["a#b", "", "x" * 129, "with space"])
def test_a_name_outside_the_requests_template_name_rule_is_refused(name) -> None:
    with pytest.raises(InvalidTemplate, match="1-128 characters"):
        check_name(name)


def test_every_missing_variable_of_every_part_is_named_once_sorted() -> None:
    texts = ["Hi {name}, {code}", None, "<p>{name} {amount}</p>"]

    assert missing_variables(texts, {"code": "1"}) == ["amount", "name"]


def test_the_trace_records_a_versioned_template_with_its_version_and_a_shared_one_without() -> None:
    assert Template("t", message_body="x", version=3).used.fields() == {
        "TemplateName": "t",
        "TemplateVersion": 3,
    }
    assert TemplateUsed("alert-template", None).fields() == {"TemplateName": "alert-template"}
    assert Template("t", message_body="x").shared


# ---------------------------------------------------------------- locales
VARIANTS = {"fr": {"MessageBody": "Bonjour"}, "fr-CA": {"MessageBody": "Allô"}}
GREETING = Template("greet", message_body="Hello", version=2, variants=VARIANTS)


@pytest.mark.parametrize(
    ("wanted", "chosen"),
    [("fr-CA", "fr-CA"), ("fr-BE", "fr"), ("fr", "fr"), ("de", None), (None, None)],
    ids=["exact tag", "its language", "a language", "neither: default", "none: default"],
)
def test_a_recipient_gets_its_exact_tag_else_its_language_else_the_default(wanted, chosen) -> None:
    assert choose_locale(wanted, VARIANTS) == chosen


def test_the_variant_chosen_is_rendered_and_recorded_with_its_locale() -> None:
    french = GREETING.for_locale("fr-BE")

    assert (french.message_body, french.version, french.locale) == ("Bonjour", 2, "fr")
    assert french.used.fields() == {"TemplateName": "greet", "TemplateVersion": 2, "Locale": "fr"}
    assert GREETING.for_locale("de") is GREETING
    assert GREETING.used.fields() == {"TemplateName": "greet", "TemplateVersion": 2}


def test_a_shared_template_has_no_variants_and_renders_its_default() -> None:
    shared = Template.from_item({"TemplateName": "alert", "MessageBody": "Alert"})

    assert shared.for_locale("fr") is shared


def test_a_write_naming_a_locale_is_that_variant() -> None:
    body = {"Locale": "fr-CA", "MessageBody": "Allô {n}"}

    assert template_write(body) == ({"MessageBody": "Allô {n}"}, "fr-CA")
    assert template_write({"MessageBody": "Hi"}) == ({"MessageBody": "Hi"}, None)


@pytest.mark.parametrize("tag", ["fr_CA", "fr-ca", "FR", "french", "", 3])
def test_a_locale_that_is_no_language_tag_is_refused_saying_what_one_is(tag) -> None:
    with pytest.raises(InvalidTemplate, match="a language tag such as fr, fr-CA or es-419"):
        template_write({"Locale": tag, "MessageBody": "x"})


def test_a_new_version_carries_every_variant_and_replaces_only_the_one_written() -> None:
    live = {"TemplateName": "t", "Version": 1, "MessageBody": "Hi", "Locales": VARIANTS}

    french = next_version(live, {"MessageBody": "Salut"}, "fr")
    default = next_version(live, {"MessageBody": "Hello"}, None)

    assert french == {"MessageBody": "Hi", "Locales": VARIANTS | {"fr": {"MessageBody": "Salut"}}}
    assert default == {"MessageBody": "Hello", "Locales": VARIANTS}
    assert live["Locales"] == VARIANTS  # the version read is left as it was


def test_a_variant_cannot_be_written_before_the_default() -> None:
    with pytest.raises(InvalidTemplate, match="no default variant yet; PUT it without Locale"):
        next_version(None, {"MessageBody": "Salut"}, "fr")


def test_a_template_whose_variants_together_are_too_large_is_refused() -> None:
    live = {"MessageBody": "x" * 200_000, "Locales": {"fr": {"MessageBody": "y" * 100_000}}}

    with pytest.raises(InvalidTemplate, match=r"with all its variants is \d+ bytes; at most"):
        next_version(live, {"MessageBody": "z" * 100_000}, "de")


def test_the_apis_locale_rule_is_this_one() -> None:
    assert load_components()["Locale"]["pattern"] == f"^{LOCALE.pattern}$"
