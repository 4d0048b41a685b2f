"""The plain-text part derived from an HTML email."""

from __future__ import annotations

import pytest

from notify.domain.html_text import html_to_text


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        pytest.param("Hello", "Hello", id="plain-text"),
        pytest.param("", "", id="empty"),
        pytest.param("a<br>b<br/>c", "a\nb\nc", id="br"),
        pytest.param("a<br><br><br><br>b", "a\n\nb", id="many-br-collapse-to-one-blank-line"),
        pytest.param("<p>one</p><p>two</p>", "one\n\ntwo", id="paragraphs"),
        pytest.param("<h1>Title</h1>body", "Title\n\nbody", id="heading"),
        pytest.param("<div>one</div><div>two</div>", "one\ntwo", id="divs"),
        pytest.param("<div><div><div>deep</div></div></div>after", "deep\nafter", id="nested"),
        pytest.param("<ul><li>one</li><li>two</li></ul>", "- one\n- two", id="unordered-list"),
        pytest.param("<ol>\n  <li>one</li>\n  <li>two</li>\n</ol>", "- one\n- two", id="ordered"),
        pytest.param("<li>unclosed<li>items", "- unclosed\n- items", id="unclosed-li"),
        pytest.param(
            "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>",
            "a b\nc d",
            id="table",
        ),
        pytest.param("<b>bold</b> <i>italic</i>", "bold italic", id="inline-space-kept"),
        pytest.param("a   b\n\n   c\td", "a b c d", id="source-whitespace-collapses"),
        pytest.param("  <p>  padded  </p>  ", "padded", id="stripped"),
    ],
)
def test_blocks_become_line_breaks(html, expected) -> None:
    assert html_to_text(html) == expected


@pytest.mark.parametrize(
    "html",
    [
        pytest.param("<script>alert('x')</script>shown", id="script"),
        pytest.param("<style>p { color: red }</style>shown", id="style"),
        pytest.param("<head><title>T</title><meta charset='utf-8'></head>shown", id="head"),
        pytest.param("<head><title>T</title><body>shown</body>", id="unclosed-head"),
        pytest.param("<head><p>hidden</p><br></head>shown", id="blocks-inside-head"),
    ],
)
def test_content_a_reader_never_sees_is_dropped(html) -> None:
    assert html_to_text(html) == "shown"


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        pytest.param(
            '<a href="https://example.com/pay">Pay now</a>',
            "Pay now (https://example.com/pay)",
            id="text-differs-from-href",
        ),
        pytest.param(
            '<a href="https://example.com">https://example.com</a>',
            "https://example.com",
            id="text-is-the-href",
        ),
        pytest.param('<a href="mailto:a@b.com">a@b.com</a>', "a@b.com", id="mailto-of-its-text"),
        pytest.param(
            '<a href="https://x.com/?a=1&amp;b=2">go</a>',
            "go (https://x.com/?a=1&b=2)",
            id="href-entities-unescaped",
        ),
        pytest.param("<a name='top'>anchor</a>", "anchor", id="no-href"),
        pytest.param(
            'See <a href="https://x.com"> <b>this</b> </a>.',
            "See this (https://x.com).",
            id="nested-markup-in-link",
        ),
    ],
)
def test_links_keep_their_url_when_it_is_not_already_their_text(html, expected) -> None:
    assert html_to_text(html) == expected


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        pytest.param("Tom &amp; Jerry", "Tom & Jerry", id="named"),
        pytest.param("&lt;tag&gt;", "<tag>", id="angle-brackets"),
        pytest.param("&#8364;5 &#x20AC;6", "€5 €6", id="numeric"),
        pytest.param("&copy; 2025", "© 2025", id="copyright"),
    ],
)
def test_entities_are_unescaped(html, expected) -> None:
    assert html_to_text(html) == expected


def test_a_whole_email_reads_as_plain_text() -> None:
    html = """<!DOCTYPE html>
<html>
  <head><title>Low balance</title><style>body { font: 14px sans-serif; }</style></head>
  <body>
    <h1>Alert</h1>
    <p>Your SAVINGS account ending in ****7303
       has a low balance of $50.00.</p>
    <ul>
      <li>Transfer money</li>
      <li><a href="https://bank.example/help">Get help</a></li>
    </ul>
    <p>Thanks,<br>The Bank</p>
  </body>
</html>"""

    assert html_to_text(html) == (
        "Alert\n"
        "\n"
        "Your SAVINGS account ending in ****7303 has a low balance of $50.00.\n"
        "\n"
        "- Transfer money\n"
        "- Get help (https://bank.example/help)\n"
        "\n"
        "Thanks,\n"
        "The Bank"
    )
