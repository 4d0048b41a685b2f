"""A plain-text rendering of an HTML email, for its text part when only HTML is given.

The aim is a readable fallback, not a faithful layout: block elements become line
breaks, list items get a "- " bullet, and a link keeps its URL after its text.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Elements whose content is never shown to the reader.
_HIDDEN = frozenset({"script", "style", "head", "title"})
# Paragraph-like elements are set off by a blank line; the other blocks by a line break.
_PARAGRAPHS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6"})
_BLOCKS = frozenset({"div", "li", "tr", "table", "ul", "ol"})
# Table cells sit on one line, but must not run into each other.
_CELLS = frozenset({"td", "th"})


def html_to_text(html: str) -> str:
    """The text a reader would see in `html`, with line breaks where the blocks were."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return _tidy(parser.text())


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)  # entities arrive in handle_data unescaped
        self._out: list[str] = []
        self._hidden_depth = 0
        # Line breaks owed before the next visible text; held back so that several
        # nested blocks opening or closing together give one break, not a stack of them.
        self._pending_breaks = 0
        self._link: tuple[str, int] | None = None  # (href, where its text starts in _out)

    def text(self) -> str:
        return "".join(self._out)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden_depth += 1
        elif tag == "body":
            self._hidden_depth = 0  # a <head> that was never closed ends here
        if self._hidden_depth:
            return
        self._block_edge(tag)  # first, so that an <li>'s bullet comes after its line break
        if tag == "br":
            self._out.append("\n")
        elif tag == "li":
            self._write("- ")
        elif tag == "a":
            self._link = (dict(attrs).get("href") or "", len(self._out))

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden_depth = max(0, self._hidden_depth - 1)
            return
        if self._hidden_depth:
            return
        if tag == "a":
            self._close_link()
        self._block_edge(tag)

    def handle_data(self, data: str) -> None:
        if self._hidden_depth:
            return
        # Source line breaks and indentation are not layout; only the tags are.
        text = re.sub(r"\s+", " ", data)
        if text.strip():
            self._write(text)
        elif text and not self._pending_breaks:
            self._out.append(" ")  # the space between two inline elements

    def _block_edge(self, tag: str) -> None:
        if tag in _PARAGRAPHS:
            self._break(2)
        elif tag in _BLOCKS:
            self._break(1)
        elif tag in _CELLS:
            self._out.append(" ")

    def _break(self, count: int) -> None:
        self._pending_breaks = max(self._pending_breaks, count)

    def _write(self, text: str) -> None:
        if self._pending_breaks and self._out:
            self._out.append("\n" * self._pending_breaks)
        self._pending_breaks = 0
        self._out.append(text)

    def _close_link(self) -> None:
        if self._link is None:
            return
        href, start = self._link
        self._link = None
        label = "".join(self._out[start:]).strip()
        # mailto:a@b.c shown as a@b.c already says where it goes.
        if href and href not in (label, f"mailto:{label}"):
            self._out.append(f" ({href})")


def _tidy(text: str) -> str:
    lines = [re.sub(r" {2,}", " ", line).strip() for line in text.split("\n")]
    # At most one blank line in a row.
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
