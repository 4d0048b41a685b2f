"""Text no provider can carry: which characters, and how they are named in the reason."""

from __future__ import annotations

import pytest

from notify.domain.content import describe, refuse_uncarriable
from notify.domain.errors import INVALID_MESSAGE, PermanentError


@pytest.mark.parametrize(
    ("text", "one_line"),
    [
        pytest.param("Hi \U0001f600, see you\tat 5\r\n", False, id="emoji-tab-line-breaks"),
        pytest.param("page\fbreak \x1b", False, id="other-controls-in-a-body"),
        pytest.param("Alert \U0001f600 for you", True, id="emoji-in-a-line"),
        pytest.param("", True, id="empty"),
    ],
)
def test_text_providers_carry_passes(text, one_line):
    refuse_uncarriable("the body", text, one_line=one_line)


@pytest.mark.parametrize(
    ("text", "one_line", "detail"),
    [
        pytest.param(
            "ab\ud800",
            False,
            "the body has an unpaired UTF-16 surrogate U+D800 at character 3",
            id="lone-high",
        ),
        pytest.param(
            "\udfff",
            False,
            "the body has an unpaired UTF-16 surrogate U+DFFF at character 1",
            id="lone-low",
        ),
        pytest.param("a\x00", False, "the body has NUL (U+0000) at character 2", id="nul"),
        pytest.param(
            "a\nb",
            True,
            "the body has the control character U+000A at character 2",
            id="line-break-in-a-line",
        ),
        pytest.param(
            "a\x7f", True, "the body has the control character U+007F at character 2", id="delete"
        ),
    ],
)
def test_uncarriable_text_is_an_invalid_message_naming_the_character(text, one_line, detail):
    with pytest.raises(PermanentError) as caught:
        refuse_uncarriable("the body", text, one_line=one_line)

    assert caught.value.reason == INVALID_MESSAGE
    assert caught.value.detail == f"{detail}, which no provider can carry"


def test_the_character_is_named_never_included():
    assert describe("\ud800") == "an unpaired UTF-16 surrogate U+D800"
    assert describe("\ud800").encode("ascii")
