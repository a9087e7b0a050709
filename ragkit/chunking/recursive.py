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
        return self._pack(doc, section.start, section.end, budget, self._levels(doc))

    def _pack(
        self,
        doc: DocTokens,
        start: int,
        end: int,
        budget: Budget,
        levels: Sequence[CutFinder],
    ) -> list[Span]:
        """Spans of ``[start, end)`` within ``budget.size`` tokens (estimated), cut at ``levels``.

        Counts of -1 mark spans the chunker still checks; token windows come checked.
        """
        if doc.count(start, end) <= budget.size:
            return [(start, end, -1)]
        if not levels:
            return self._windows(doc, start, end, budget)
        cuts = levels[0](doc.text, start, end)
        if not cuts:
            return self._pack(doc, start, end, budget, levels[1:])
        out: list[Span] = []
        run: tuple[int, int] | None = None  # pieces packed so far
        for a, b in zip([start, *cuts], [*cuts, end], strict=True):
            if doc.count(a, b) > budget.size:
                inner = self._pack(doc, a, b, budget, levels[1:])
                # The pieces packed so far join the first inner span, and the last inner span
                # takes the pieces after it, when they fit: no heading left alone in a chunk.
                if run is not None and inner[0][2] < 0:
                    if doc.count(run[0], inner[0][1]) <= budget.size:
                        inner[0] = (run[0], inner[0][1], -1)
                        run = None
                if run is not None:
                    out.append((run[0], run[1], -1))
                run = (inner[-1][0], inner[-1][1]) if inner[-1][2] < 0 else None
                out.extend(inner if run is None else inner[:-1])
            elif run is not None and doc.count(run[0], b) <= budget.size:
                run = (run[0], b)
            else:
                if run is not None:
                    out.append((run[0], run[1], -1))
                run = (a, b)
        if run is not None:
            out.append((run[0], run[1], -1))
        return out

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(max_tokens={self.max_tokens}, chunk_size={self.chunk_size}, "
            f"header={self.header!r})"
        )
