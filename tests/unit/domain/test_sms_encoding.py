"""SMS encoding and segment counts."""

from __future__ import annotations

import pytest

from notify.domain.errors import INVALID_MESSAGE, PermanentError
from notify.domain.sms_encoding import GSM_7, UCS_2, SmsSegments, sms_segments

EMOJI = "\U0001f600"  # outside the BMP: a surrogate pair, two UTF-16 code units


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param("a", SmsSegments(GSM_7, 1, 1), id="one-char"),
        pytest.param("a" * 160, SmsSegments(GSM_7, 160, 1), id="160-fits-one"),
        pytest.param("a" * 161, SmsSegments(GSM_7, 161, 2), id="161-needs-two"),
        pytest.param("a" * 306, SmsSegments(GSM_7, 306, 2), id="306-fills-two-parts"),
        pytest.param("a" * 307, SmsSegments(GSM_7, 307, 3), id="307-needs-three"),
        pytest.param("€" * 80, SmsSegments(GSM_7, 160, 1), id="80-euro-are-160-septets"),
        pytest.param("€" * 81, SmsSegments(GSM_7, 162, 2), id="81-euro-need-two"),
        pytest.param("a" * 159 + "€", SmsSegments(GSM_7, 161, 2), id="extension-char-tips-over"),
        pytest.param("ж" * 70, SmsSegments(UCS_2, 70, 1), id="70-ucs2-fits-one"),
        pytest.param("ж" * 71, SmsSegments(UCS_2, 71, 2), id="71-ucs2-needs-two"),
        pytest.param("ж" * 134, SmsSegments(UCS_2, 134, 2), id="134-ucs2-fills-two-parts"),
        pytest.param("ж" * 135, SmsSegments(UCS_2, 135, 3), id="135-ucs2-needs-three"),
        pytest.param(EMOJI, SmsSegments(UCS_2, 2, 1), id="emoji-is-two-units"),
        pytest.param(EMOJI * 35, SmsSegments(UCS_2, 70, 1), id="35-emoji-fit-one"),
        pytest.param(EMOJI * 36, SmsSegments(UCS_2, 72, 2), id="36-emoji-need-two"),
        pytest.param("a" * 160 + EMOJI, SmsSegments(UCS_2, 162, 3), id="one-emoji-forces-ucs2"),
    ],
)
def test_segments_are_counted_at_the_single_and_concatenated_limits(body, expected) -> None:
    assert sms_segments(body) == expected


@pytest.mark.parametrize(
    ("body", "septets"),
    [
        pytest.param("^{}\\[~]|€", 18, id="every-extension-char"),
        pytest.param("\f", 2, id="form-feed"),
        pytest.param("{name}", 8, id="braces"),
    ],
)
def test_extension_characters_count_two_septets(body, septets) -> None:
    assert sms_segments(body) == SmsSegments(GSM_7, septets, 1)


def test_a_two_septet_character_is_not_split_across_parts() -> None:
    # 152 + 2 + 152 = 306 septets would fit two parts of 153, but the "€" cannot
    # straddle the boundary, so it starts the second part and 1 septet spills over.
    body = "a" * 152 + "€" + "a" * 152

    assert sms_segments(body) == SmsSegments(GSM_7, 306, 3)


def test_a_surrogate_pair_is_not_split_across_parts() -> None:
    body = "ж" * 66 + EMOJI + "ж" * 66

    assert sms_segments(body) == SmsSegments(UCS_2, 134, 3)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("@£$¥èéùìòÇ\nØø\rÅå", id="row-0"),
        pytest.param("Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ", id="row-1-without-escape"),
        pytest.param(" !\"#¤%&'()*+,-./", id="row-2"),
        pytest.param("0123456789:;<=>?", id="row-3"),
        pytest.param("¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§", id="rows-4-5"),
        pytest.param("¿abcdefghijklmnopqrstuvwxyzäöñüà", id="rows-6-7"),
    ],
)
def test_the_gsm_basic_set_is_gsm_7_at_one_septet_each(body) -> None:
    assert sms_segments(body) == SmsSegments(GSM_7, len(body), 1)


@pytest.mark.parametrize(
    "char",
    [
        pytest.param("\x1b", id="escape-is-not-a-user-character"),
        pytest.param("`", id="backtick"),
        pytest.param("ç", id="lowercase-c-cedilla"),
        pytest.param("á", id="a-acute"),
        pytest.param("\u0131", id="dotless-i"),
        pytest.param("\t", id="tab"),
        pytest.param("\u2019", id="curly-apostrophe"),
        pytest.param("ж", id="cyrillic"),
        pytest.param("中", id="cjk"),
    ],
)
def test_a_character_outside_the_gsm_alphabet_needs_ucs_2(char) -> None:
    assert sms_segments(f"Hello {char}").encoding == UCS_2


def test_an_empty_body_is_an_invalid_message() -> None:
    with pytest.raises(PermanentError) as caught:
        sms_segments("")

    assert caught.value.reason == INVALID_MESSAGE
    assert caught.value.detail == "empty SMS body"


def test_the_result_is_immutable() -> None:
    result = sms_segments("hi")

    with pytest.raises(AttributeError):
        result.segments = 2  # type: ignore[misc]
