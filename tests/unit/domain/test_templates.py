"""A template write's checks, and the placeholders a preview names at once."""

from __future__ import annotations

import pytest

from notify.domain.templates import (
    InvalidTemplate,
    Template,
    TemplateUsed,
    check_name,
    missing_variables,
    template_parts,
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
