"""MarkdownChunker: one heading section at a time, each chunk labelled with its heading path.

Usage::

    from ragkit import MarkdownChunker, TextEmbedder

    chunker = MarkdownChunker(TextEmbedder("BAAI/bge-small-en-v1.5"), header="both")
    chunks = chunker.chunk(markdown, source_id="guide.md", title="User guide")
    chunks[3].heading_path  # ("Install", "From source")
    chunks[3].embed_text  # starts with "User guide > Install > From source"
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import partial

from ragkit.chunking import _cuts
from ragkit.chunking._cuts import CutFinder
from ragkit.chunking._tokens import DocTokens
from ragkit.chunking.base import Section
from ragkit.chunking.recursive import RecursiveChunker

__all__ = ["Heading", "MarkdownChunker", "markdown_headings"]

_LINE = re.compile(r"[^\n]*(?:\n|$)")
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$")
_ATX_CLOSE = re.compile(r"(?:^|[ \t]+)#+$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_NOT_SETEXT_TEXT = re.compile(r"^ {0,3}(?:[-*+>|]|\d{1,9}[.)]|#|`{3}|~{3})")


@dataclass(frozen=True)
class Heading:
    """A Markdown heading: where it starts, its level (1-6), its text, and where it ends.

    ``end`` is past the heading's line (past the underline for a setext heading).
    """

    start: int
    level: int
    title: str
    end: int


class MarkdownChunker(RecursiveChunker):
    """Chunks Markdown by heading sections, keeping each chunk's heading path.

    ATX (``## Title``) and setext (``Title`` over ``===``/``---``) headings start sections;
    ``#`` lines inside fenced code blocks do not. A section is split as the
    :class:`RecursiveChunker` splits text (paragraphs, sentences, lines, words), except that
    fenced code blocks are cut only at line ends, and only when one alone is over the budget.
    Chunks never span two sections; a heading with no text of its own stays with the
    subsection under it.

    Args:
        tokenizer: The embedder, a :class:`TokenCounter`, or a ``tokenizers.Tokenizer``.
        max_tokens: Override the window (required with a plain tokenizer).
        prompt: Override the document prompt counted against the window.
        chunk_size: Most tokens of chunk text (default: all the window leaves).
        header: Contextual header for ``embed_text``: ``"title"``, ``"headings"`` (the
            heading path joined with ``" > "``) or ``"both"``.
    """

    def _sections(self, text: str) -> list[Section]:
        return heading_sections(text, markdown_headings(text))

    _hard_levels = 0  # sections are chunked apart already

    def _levels(self, doc: DocTokens) -> list[CutFinder]:
        blocks = doc.fenced_blocks
        return [
            partial(_cuts.paragraph_cuts, blocks=blocks),
            partial(_prose_sentence_cuts, blocks=blocks),
            _cuts.line_cuts,
            _cuts.word_cuts,
        ]


def markdown_headings(text: str) -> list[Heading]:
    """The ATX and setext headings of ``text`` outside fenced code blocks, in order."""
    blocks = _cuts.fenced_blocks(text)
    starts = [block[0] for block in blocks]
    headings: list[Heading] = []
    before_previous_blank = True
    previous: tuple[int, str] | None = None  # a line that may be a setext heading's text
    for match in _LINE.finditer(text):
        start, line = match.start(), match.group().rstrip("\n")
        if start == len(text) and not line:
            break
        index = bisect_right(starts, start) - 1
        if index >= 0 and start < blocks[index][1]:
            previous, before_previous_blank = None, False
            continue
        atx = _ATX.match(line)
        setext = _SETEXT.match(line)
        if atx:
            title = _ATX_CLOSE.sub("", atx.group(2) or "").strip()
            headings.append(Heading(start, len(atx.group(1)), title, match.end()))
            previous = None
        elif setext and previous is not None:
            level = 1 if setext.group(1)[0] == "=" else 2
            headings.append(Heading(previous[0], level, previous[1].strip(), match.end()))
            previous = None
        elif line.strip() and before_previous_blank and not _NOT_SETEXT_TEXT.match(line):
            previous = (start, line)
        else:
            previous = None
        before_previous_blank = not line.strip()
    return headings


def heading_sections(text: str, headings: list[Heading]) -> list[Section]:
    """Sections between headings, each with its heading path.

    A heading with nothing but whitespace before the next, deeper heading joins that section.
    """
    sections: list[Section] = []
    if not headings or headings[0].start > 0:
        sections.append(Section(0, headings[0].start if headings else len(text)))
    stack: list[Heading] = []
    pending: int | None = None  # start of a heading-only section waiting for its child
    for index, heading in enumerate(headings):
        while stack and stack[-1].level >= heading.level:
            stack.pop()
        stack.append(heading)
        start = heading.start if pending is None else pending
        end = headings[index + 1].start if index + 1 < len(headings) else len(text)
        following = headings[index + 1] if index + 1 < len(headings) else None
        empty = not text[heading.end : end].strip()
        if empty and following is not None and following.level > heading.level:
            pending = start
            continue
        pending = None
        sections.append(Section(start, end, tuple(h.title for h in stack)))
    return sections


def _prose_sentence_cuts(
    text: str, start: int, end: int, blocks: list[tuple[int, int]]
) -> list[int]:
    """Sentence ends outside fenced code (code is cut at line ends instead)."""
    return [cut for cut in _cuts.sentence_cuts(text, start, end) if not _cuts.inside(blocks, cut)]
