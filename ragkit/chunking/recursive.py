"""RecursiveChunker: split at the largest structure that fits, then pack pieces to the budget.

Headings, then paragraphs, sentences, lines and words; token windows only as a last resort.

Usage::

    from ragkit import RecursiveChunker, TextEmbedder

    chunker = RecursiveChunker(TextEmbedder("BAAI/bge-small-en-v1.5"))
    for chunk in chunker.chunk(text, source_id="notes.txt"):
        print(chunk.start, chunk.end, chunk.token_count)
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from ragkit.chunking import _cuts
from ragkit.chunking._cuts import CutFinder
from ragkit.chunking._tokens import DocTokens
from ragkit.chunking.base import BaseChunker, Budget, Section, Span

__all__ = ["RecursiveChunker"]


class RecursiveChunker(BaseChunker):
    """Structure first: a chunk ends at a heading, a paragraph, a sentence or a word if it can.

    A span that fits the budget is kept whole; one that does not is cut at its next level of
    structure, and neighbouring pieces that fit together are packed into one chunk. Fenced code
    blocks are not cut at blank lines.

    Args:
        tokenizer: The embedder, a :class:`TokenCounter`, or a ``tokenizers.Tokenizer``.
        max_tokens: Override the window (required with a plain tokenizer).
        prompt: Override the document prompt counted against the window.
        chunk_size: Most tokens of chunk text (default: all the window leaves).
        header: Contextual header for ``embed_text``: ``"title"`` (this chunker finds no
            heading path; :class:`MarkdownChunker` does).
    """

    _hard_levels = 1  # headings: a chunk never holds the end of one section and part of the next

    def _levels(self, doc: DocTokens) -> list[CutFinder]:
        blocks = doc.fenced_blocks
        return [
            partial(_cuts.heading_cuts, blocks=blocks),
            partial(_cuts.paragraph_cuts, blocks=blocks),
            _cuts.sentence_cuts,
            _cuts.line_cuts,
            _cuts.word_cuts,
        ]

    def _split(self, doc: DocTokens, section: Section, budget: Budget) -> Sequence[Span]:
        return self._pack(
            doc, section.start, section.end, budget, self._levels(doc), self._hard_levels
        )

    def _pack(
        self,
        doc: DocTokens,
        start: int,
        end: int,
        budget: Budget,
        levels: Sequence[CutFinder],
        hard: int,
    ) -> list[Span]:
        """Spans of ``[start, end)`` within ``budget.size`` tokens (estimated), cut at ``levels``.

        No chunk straddles a cut of the first ``hard`` levels unless both sides fit whole.
        Counts of -1 mark spans the chunker still checks; token windows come checked.
        """
        if doc.count(start, end) <= budget.size:
            return [(start, end, -1)]
        if not levels:
            return self._windows(doc, start, end, budget)
        cuts = levels[0](doc.text, start, end)
        if not cuts:
            return self._pack(doc, start, end, budget, levels[1:], hard - 1)
        out: list[Span] = []
        run: tuple[int, int] | None = None  # pieces packed so far, not yet emitted
        for a, b in zip([start, *cuts], [*cuts, end], strict=True):
            if doc.count(a, b) <= budget.size:
                if run is not None and doc.count(run[0], b) <= budget.size:
                    run = (run[0], b)
                    continue
                if run is not None:
                    out.append((run[0], run[1], -1))
                run = (a, b)
                continue
            # Too long: cut it finer. Below the hard levels the pieces packed so far go in
            # with it, and its last piece takes the pieces after it (no heading left alone).
            soft = hard <= 0
            if run is not None and not soft:
                out.append((run[0], run[1], -1))
            first = run[0] if run is not None and soft else a
            inner = self._pack(doc, first, b, budget, levels[1:], hard - 1)
            run = None
            if soft and inner and inner[-1][2] < 0:
                run = (inner[-1][0], inner[-1][1])
                inner = inner[:-1]
            out.extend(inner)
        if run is not None:
            out.append((run[0], run[1], -1))
        return out

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(max_tokens={self.max_tokens}, chunk_size={self.chunk_size}, "
            f"header={self.header!r})"
        )
