"""A document's tokens, for cheap token counts of any character span and exact slices of them."""

from __future__ import annotations

import unicodedata
from bisect import bisect_left, bisect_right
from functools import cached_property

import numpy as np

from ragkit.chunking._cuts import fenced_blocks

__all__ = ["DocTokens", "is_word_edge"]


def is_word_edge(char: str) -> bool:
    """Whether a BERT pre-tokenizer always splits beside ``char``: whitespace or punctuation.

    Whitespace here is what the BERT normalizer keeps as whitespace (space, tab, newlines and
    the Zs spaces); control characters (U+001C, say) count as nothing: it deletes them.
    """
    if char in " \t\n\r":
        return True
    category = unicodedata.category(char)
    return category == "Zs" or category.startswith("P") or (char.isascii() and _ascii_punct(char))


def _ascii_punct(char: str) -> bool:
    code = ord(char)
    return 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126


class DocTokens:
    """The tokens of one document, tokenised once (no prompt, no special tokens).

    Counts over a span are estimates (a piece may tokenise slightly differently on its own);
    chunkers check every chunk with a real count before they return it, or, where the
    tokenizer allows it (:meth:`slice_ids`), take the span's ids straight from here.
    """

    def __init__(
        self,
        text: str,
        offsets: list[tuple[int, int]],
        measured: dict[tuple[int, int], list[int]] | None = None,
        ids: list[int] | None = None,
    ) -> None:
        self.text = text
        # Real token ids of the spans measured so far (prompt, header and specials included).
        self.measured: dict[tuple[int, int], list[int]] = {} if measured is None else measured
        self.ids = ids
        spans = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
        self._starts = spans[:, 0]
        # Running maximum of the ends (sorted, even where byte-level tokens share a character).
        self._ends = np.maximum.accumulate(spans[:, 1]) if len(spans) else spans[:, 1]
        # A cut may go right before token i when no earlier token reaches past its start.
        self._cuttable = np.concatenate(([True], self._ends[:-1] <= self._starts[1:]))[: len(spans)]
        self.starts: list[int] = self._starts.tolist()
        self.ends: list[int] = self._ends.tolist()

    def token_range(self, start: int, end: int) -> tuple[int, int]:
        """Indices ``[lo, hi)`` of the tokens that overlap ``[start, end)``."""
        lo = bisect_right(self.ends, start)
        hi = bisect_left(self.starts, end)
        return lo, max(lo, hi)

    def count(self, start: int, end: int) -> int:
        """Tokens overlapping ``[start, end)``."""
        lo, hi = self.token_range(start, end)
        return hi - lo

    def bounds(self, start: int, end: int) -> tuple[list[int], list[int]]:
        """Where ``[start, end)`` may be cut between tokens.

        Returns:
            Positions (``start``, each cuttable token start inside, ``end``) and, for each, the
            index of the first token after it; both strictly increasing.
        """
        lo, hi = self.token_range(start, end)
        inner = np.arange(lo + 1, hi)
        starts = self._starts[lo + 1 : hi]
        keep = self._cuttable[lo + 1 : hi] & (starts > start) & (starts < end)
        positions = [start, *starts[keep].tolist(), end]
        tokens = [lo, *inner[keep].tolist(), hi]
        return positions, tokens

    def slice_ids(self, start: int, end: int) -> list[int] | None:
        """The document's ids for ``[start, end)`` if the span, alone, tokenises to exactly them.

        True for a WordPiece tokenizer behind a BERT pre-tokenizer (what
        :attr:`ragkit.chunking.TokenCounter.sliceable` checks) when both edges sit at a word
        edge (whitespace or punctuation on either side, or the text's own ends) and no token
        straddles them. None otherwise: the caller tokenises the span.
        """
        if self.ids is None or not (self._edge(start) and self._edge(end)):
            return None
        lo, hi = self.token_range(start, end)
        if lo < hi and (self.starts[lo] < start or self.ends[hi - 1] > end):
            return None  # a token reaches over an edge (an added token, say)
        return self.ids[lo:hi]

    def _edge(self, pos: int) -> bool:
        text = self.text
        return (
            pos <= 0 or pos >= len(text) or is_word_edge(text[pos - 1]) or is_word_edge(text[pos])
        )

    @cached_property
    def fenced_blocks(self) -> list[tuple[int, int]]:
        """Spans of the fenced code blocks (computed once per document)."""
        return fenced_blocks(self.text)
