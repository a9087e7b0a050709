"""HTML files: visible text extracted with Beautiful Soup (the ``html`` extra).

Scripts, styles and other invisible elements are dropped; block elements become paragraphs,
``<br>`` and list items new lines, ``<pre>`` keeps its whitespace, and headings become Markdown
``#`` lines, so :class:`~ragkit.MarkdownChunker` finds the heading path of HTML too.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ragkit.errors import DependencyError, LoaderError
from ragkit.loaders._read import RawFile, decode
from ragkit.loaders.document import Document
from ragkit.loaders.text import file_metadata

if TYPE_CHECKING:
    from bs4.element import PageElement

__all__ = ["html_to_text", "load_html"]

_INVISIBLE = ("script", "style", "noscript", "template", "head", "svg", "iframe", "object", "nav")
"""Elements whose text is not content: code, metadata, embeds, and navigation bars."""
_BLOCKS = frozenset(
    "address article aside blockquote details dialog dd div dl dt fieldset figcaption figure "
    "footer form header hr main nav ol p section summary table tbody thead tfoot ul".split()
)
_LINES = frozenset(["li", "tr", "caption", "option"])
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_SPACES = re.compile(r"\s+")


def load_html(raw: RawFile, doc_id: str, *, encoding: str | None = None) -> list[Document]:
    """An ``.html`` file as one document titled with its ``<title>`` (else first ``<h1>``).

    Raises:
        DependencyError: beautifulsoup4 is not installed.
        UndecodableFileError: The file is not valid UTF-8 (or ``encoding``).
    """
    text, title = html_to_text(decode(raw, encoding), source=str(raw.path))
    return [Document(doc_id, text, title or raw.path.stem, file_metadata(raw, "html"))]


def html_to_text(html: str, *, source: str = "<string>") -> tuple[str, str | None]:
    """The visible text of ``html`` and its title.

    Raises:
        DependencyError: beautifulsoup4 is not installed.
        LoaderError: The parser failed on the document.
    """
    try:
        from bs4 import BeautifulSoup
    except ImportError as exc:
        raise DependencyError(
            "Reading HTML files needs beautifulsoup4: pip install 'ragkit[html]'."
        ) from exc
    try:
        soup = BeautifulSoup(html, "html.parser")
    except Exception as exc:  # the parser raises assorted errors on broken markup
        raise LoaderError(f"Cannot parse {source} as HTML: {exc}.", path=source) from exc
    title = " ".join(soup.title.get_text(" ").split()) if soup.title else ""
    for element in soup(list(_INVISIBLE)):
        element.decompose()
    if not title:
        first = soup.find("h1")
        title = " ".join(first.get_text(" ").split()) if first else ""
    return _Writer().render(soup), title or None


class _Writer:
    """Turns a parsed tree into text, one element at a time (no recursion: deep pages work)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.breaks = 0  # newlines owed before the next text
        self.pre = 0  # depth inside <pre>

    def render(self, root: PageElement) -> str:
        from bs4.element import NavigableString, PreformattedString, Tag

        stack: list[tuple[PageElement, bool]] = [(root, False)]
        while stack:
            node, leaving = stack.pop()
            if isinstance(node, Tag):
                if leaving:
                    self._close(node.name)
                    continue
                self._open(node.name)
                stack.append((node, True))
                stack.extend((child, False) for child in reversed(node.contents))
            elif isinstance(node, NavigableString) and not isinstance(node, PreformattedString):
                self._text(str(node))
        return "".join(self.parts).strip()

    def _open(self, name: str) -> None:
        if name == "br":
            self._break(1)
        elif name == "pre":
            self._break(2)
            self.pre += 1
        elif name in _HEADINGS:
            self._break(2)
            self._text("#" * _HEADINGS[name] + " ")
        elif name in _BLOCKS:
            self._break(2)
        elif name in _LINES:
            self._break(1)
        elif name in ("td", "th"):
            self._text(" ")

    def _close(self, name: str) -> None:
        if name == "pre":
            self.pre -= 1
            self._break(2)
        elif name in _HEADINGS or name in _BLOCKS:
            self._break(2)
        elif name in _LINES:
            self._break(1)

    def _break(self, newlines: int) -> None:
        self.breaks = max(self.breaks, newlines)

    def _text(self, text: str) -> None:
        if not self.pre:
            text = _SPACES.sub(" ", text)
        if not text or (not self.pre and text == " " and self.breaks):
            return
        if self.breaks:
            if self.parts:
                self.parts[-1] = self.parts[-1].rstrip(" ")
                self.parts.append("\n" * self.breaks)
            self.breaks = 0
            if not self.pre:
                text = text.lstrip(" ")
        elif not self.pre and text.startswith(" ") and self.parts and self.parts[-1].endswith(" "):
            text = text[1:]
        if text:
            self.parts.append(text)
