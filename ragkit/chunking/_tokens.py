"""A document's token spans, for cheap token counts of any character span."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from functools import cached_property
from itertools import accumulate

from ragkit.chunking._cuts import fenced_blocks

__all__ = ["DocTokens"]


class DocTokens:
    """The token spans of one document, tokenised once.

    Counts over a span are estimates (a piece may tokenise slightly differently on its own);
    chunkers check every chunk with a real count before they return it.
    """

    def __init__(
        self,
        text: str,
        offsets: list[tuple[int, int]],
        measured: dict[tuple[int, int], list[int]] | None = None,
    ) -> None:
        self.text = text
        # Real token ids of the spans measured so far (prompt, header and specials included).
        self.measured: dict[tuple[int, int], list[int]] = {} if measured is None else measured
        self.starts = [start for start, _ in offsets]
        # Running maximum of the ends (sorted, even where byte-level tokens share a character).
        self.ends = list(accumulate((end for _, end in offsets), max))
        # A cut may go right before token i when no earlier token reaches past its start.
        after = zip(self.ends, self.starts[1:], strict=False)
        self.cuttable = [True, *(reach <= start for reach, start in after)] if offsets else []

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
        positions, tokens = [start], [lo]
        for index in range(lo + 1, hi):
            if self.cuttable[index] and start < self.starts[index] < end:
                positions.append(self.starts[index])
                tokens.append(index)
        positions.append(end)
        tokens.append(hi)
        return positions, tokens

    @cached_property
    def fenced_blocks(self) -> list[tuple[int, int]]:
        """Spans of the fenced code blocks (computed once per document)."""
        return fenced_blocks(self.text)
