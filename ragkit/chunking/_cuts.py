"""Where text may be cut: pure functions returning sorted character positions.

Each ``*_cuts`` function returns the cut positions strictly inside ``(start, end)``; the pieces
between consecutive cuts cover the span exactly (whitespace stays with the pieces and is only
stripped when a chunk is made, so offsets never drift).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Sequence

__all__ = [
    "CutFinder",
    "fenced_blocks",
    "heading_cuts",
    "inside",
    "line_cuts",
    "paragraph_cuts",
    "sentence_cuts",
    "word_cuts",
]

CutFinder = Callable[[str, int, int], list[int]]
"""``(text, start, end) -> cut positions strictly inside (start, end)``."""

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})", re.MULTILINE)
_ATX = re.compile(r"^ {0,3}#{1,6}(?:[ \t]|$)", re.MULTILINE)
_BLANK_LINES = re.compile(r"\n(?:[ \t]*\n)+")
# A sentence ends at . ! ? or an ellipsis (then closing quotes/brackets) before whitespace, or
# at a CJK full stop, question or exclamation mark (then closing quotes), with or without space.
_SENTENCE_END = re.compile(
    r"[.!?\u2026][\"'\u201d\u2019)\]]*\s+|[\u3002\uff01\uff1f\uff0e][\u300d\u300f\"'\u201d\u2019)\]]*\s*"
)
_WHITESPACE = re.compile(r"\s+")
# A full stop after these ends no sentence: initials ("J. Smith") and common abbreviations.
_ABBREVIATION = re.compile(
    r"(?:^|[\s(\[])(?:[A-Z]|Mr|Mrs|Ms|Dr|Prof|Sr|Jr|St|vs|e\.g|i\.e|cf|al|Fig|Figs|Eq|No|Ref)$"
)


def fenced_blocks(text: str) -> list[tuple[int, int]]:
    """Spans of fenced code blocks (from the opening fence's line to the closing fence's).

    An unclosed fence runs to the end of the text, as in CommonMark.
    """
    blocks: list[tuple[int, int]] = []
    pos = 0
    while True:
        opening = _FENCE.search(text, pos)
        if opening is None:
            return blocks
        fence = opening.group(1)
        line_end = _line_end(text, opening.end())
        closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.M)
        found = closing.search(text, line_end)
        end = len(text) if found is None else _line_end(text, found.end())
        blocks.append((opening.start(), end))
        pos = end
        if end >= len(text):
            return blocks


def _line_end(text: str, pos: int) -> int:
    newline = text.find("\n", pos)
    return len(text) if newline < 0 else newline + 1


def inside(blocks: Sequence[tuple[int, int]], pos: int) -> bool:
    """Whether ``pos`` lies strictly inside one of the sorted, disjoint ``blocks``."""
    index = bisect_right(blocks, pos, key=lambda block: block[0]) - 1
    return index >= 0 and blocks[index][0] < pos < blocks[index][1]


def heading_cuts(
    text: str, start: int, end: int, blocks: Sequence[tuple[int, int]] = ()
) -> list[int]:
    """Starts of ATX heading lines (``# Title``) outside fenced code blocks."""
    return [
        m.start()
        for m in _ATX.finditer(text, start, end)
        if start < m.start() < end and not inside(blocks, m.start())
    ]


def paragraph_cuts(
    text: str, start: int, end: int, blocks: Sequence[tuple[int, int]] = ()
) -> list[int]:
    """Ends of blank-line runs (paragraph breaks) outside fenced code blocks."""
    return [
        m.end()
        for m in _BLANK_LINES.finditer(text, start, end)
        if start < m.end() < end and not inside(blocks, m.end())
    ]


def sentence_cuts(text: str, start: int, end: int) -> list[int]:
    """Ends of sentences: after the terminator, closing quotes and the whitespace that follows.

    A full stop after an initial or a common abbreviation (``Dr.``, ``e.g.``, ``et al.``) is not
    a sentence end.
    """
    return [
        m.end()
        for m in _SENTENCE_END.finditer(text, start, end)
        if start < m.end() < end
        and not (
            text[m.start()] == "."
            and _ABBREVIATION.search(text, max(start, m.start() - 6), m.start())
        )
    ]


def line_cuts(text: str, start: int, end: int) -> list[int]:
    """Starts of lines."""
    cuts: list[int] = []
    pos = text.find("\n", start, end)
    while pos >= 0:
        if pos + 1 < end:
            cuts.append(pos + 1)
        pos = text.find("\n", pos + 1, end)
    return cuts


def word_cuts(text: str, start: int, end: int) -> list[int]:
    """Starts of words (ends of whitespace runs)."""
    return [m.end() for m in _WHITESPACE.finditer(text, start, end) if start < m.end() < end]
