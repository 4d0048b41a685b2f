"""Merging substitution variables and filling templates."""

from __future__ import annotations

import pytest

from notify.domain.errors import INVALID_MESSAGE, MISSING_VARIABLE, PermanentError
from notify.domain.rendering import merge_substitutions, render

README_TEMPLATE = (
    "Alert: Your {productName} account ending in {membershipNumber} "
    "has a low balance of ${accountBalance}"
)


def test_the_readme_template_renders_with_its_dollar_sign_kept() -> None:
    values = {"productName": "SAVINGS", "membershipNumber": "****7303", "accountBalance": "50.00"}

    assert render(README_TEMPLATE, values) == (
        "Alert: Your SAVINGS account ending in ****7303 has a low balance of $50.00"
    )


def test_text_around_a_placeholder_is_kept() -> None:
    assert render("balance of ${accountBalance}", {"accountBalance": "100.00"}) == (
        "balance of $100.00"
    )


@pytest.mark.parametrize(
    ("message_level", "recipient_level", "expected"),
    [
        pytest.param({"a": "1"}, None, {"a": "1"}, id="string-form"),
        pytest.param({"a": ["1"]}, None, {"a": "1"}, id="array-form"),
        pytest.param(None, {"a": ["1"]}, {"a": "1"}, id="array-form-per-recipient"),
        pytest.param({"a": "1", "b": "2"}, {"b": ["3"]}, {"a": "1", "b": "3"}, id="override"),
        pytest.param({"a": ["1"]}, {"a": "2"}, {"a": "2"}, id="override-across-forms"),
        pytest.param({"a": ""}, None, {"a": ""}, id="empty-string-is-a-value"),
        pytest.param(None, None, {}, id="neither"),
        pytest.param({}, {}, {}, id="both-empty"),
    ],
)
def test_recipient_values_override_message_values_in_either_form(
    message_level, recipient_level, expected
) -> None:
    assert merge_substitutions(message_level, recipient_level) == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param([], id="empty-list"),
        pytest.param(["1", "2"], id="two-element-list"),
        pytest.param([1], id="list-of-number"),
        pytest.param(1, id="number"),
        pytest.param(None, id="null"),
        pytest.param({"x": "1"}, id="object"),
    ],
)
def test_a_malformed_value_is_an_invalid_message_naming_the_variable(value) -> None:
    with pytest.raises(PermanentError) as caught:
        merge_substitutions({"ok": "1"}, {"balance": value})

    assert caught.value.reason == INVALID_MESSAGE
    assert "'balance'" in caught.value.detail


def test_substitutions_that_are_not_an_object_are_an_invalid_message() -> None:
    with pytest.raises(PermanentError) as caught:
        merge_substitutions(["a"], None)  # type: ignore[arg-type]

    assert caught.value.reason == INVALID_MESSAGE


def test_every_missing_variable_is_named_sorted() -> None:
    with pytest.raises(PermanentError) as caught:
        render("{zeta} {name} {alpha} {zeta}", {"name": "x"})

    assert caught.value.reason == MISSING_VARIABLE
    assert caught.value.detail.endswith("alpha, zeta")


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("<style>p { color: red }</style>", id="css-rule"),
        pytest.param("<style>p{color:red;}</style>", id="css-rule-without-spaces"),
        pytest.param('{"key": "value", "n": [1, 2]}', id="json"),
        pytest.param("{ }", id="spaced-braces"),
        pytest.param("{}", id="empty-braces"),
        pytest.param("{1abc}", id="name-starting-with-digit"),
        pytest.param("{two words}", id="name-with-space"),
        pytest.param("{{", id="lone-braces"),
    ],
)
def test_brace_text_that_is_not_a_placeholder_is_kept_literally(text) -> None:
    assert render(text, {}) == text


def test_css_braces_are_kept_next_to_a_placeholder() -> None:
    template = "<style>p { color: red }</style><p>Hi {name}</p>"

    assert render(template, {"name": "Ann"}, html=True) == (
        "<style>p { color: red }</style><p>Hi Ann</p>"
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("_private", "a", id="leading-underscore"),
        pytest.param("user.first-name", "b", id="dots-and-dashes"),
        pytest.param("Item2", "c", id="digits-after-first"),
    ],
)
def test_placeholder_names_may_use_letters_digits_underscore_dot_and_dash(name, value) -> None:
    assert render(f"[{{{name}}}]", {name: value}) == f"[{value}]"


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        pytest.param(
            "<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;", id="script-tag"
        ),
        pytest.param("Tom & Jerry", "Tom &amp; Jerry", id="ampersand"),
        pytest.param("\"double\" 'single'", "&quot;double&quot; &#x27;single&#x27;", id="quotes"),
    ],
)
def test_html_rendering_escapes_the_values(value, escaped) -> None:
    assert render("<p title='{v}'>{v}</p>", {"v": value}, html=True) == (
        f"<p title='{escaped}'>{escaped}</p>"
    )


def test_html_rendering_leaves_the_template_markup_alone() -> None:
    template = '<a href="https://x.com/?a=1&b=2">&copy; {v}</a>'

    assert render(template, {"v": "me"}, html=True) == (
        '<a href="https://x.com/?a=1&b=2">&copy; me</a>'
    )


def test_text_rendering_does_not_escape_values() -> None:
    assert render("{v}", {"v": "<b>&</b>"}) == "<b>&</b>"


def test_a_value_containing_a_placeholder_is_not_expanded_again() -> None:
    assert render("{a} {b}", {"a": "{b}", "b": "B"}) == "{b} B"


def test_unused_values_are_ignored() -> None:
    assert render("plain", {"extra": "x"}) == "plain"
