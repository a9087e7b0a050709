"""TokenChunker: fixed token windows with overlap, cut where the tokenizer's offsets allow.

Usage::

    from ragkit import TextEmbedder, TokenChunker

    embedder = TextEmbedder("intfloat/e5-small-v2")
    chunker = TokenChunker(embedder, chunk_size=256, chunk_overlap=32)
    chunks = chunker.chunk(long_text, source_id="report.txt")
    vectors = embedder.embed_documents([c.embed_text for c in chunks])  # none truncated
"""

from __future__ import annotations

from collections.abc import Sequence

from ragkit.chunking._tokens import DocTokens
from ragkit.chunking.base import BaseChunker, Budget, Section, Span, TokenizerSource
from ragkit.chunking.chunk import HeaderMode
from ragkit.errors import ConfigError

__all__ = ["TokenChunker"]


class TokenChunker(BaseChunker):
    """Windows of ``chunk_size`` tokens, each sharing ``chunk_overlap`` tokens with the last.

    Windows are mapped back to character offsets with the tokenizer's offsets, so each chunk's
    ``text`` is exactly ``document[start:end]`` (without the whitespace at its edges).

    Args:
        tokenizer: The embedder, a :class:`TokenCounter`, or a ``tokenizers.Tokenizer``.
        max_tokens: Override the window (required with a plain tokenizer).
        prompt: Override the document prompt counted against the window.
        chunk_size: Most tokens of chunk text (default: all the window leaves).
        chunk_overlap: Tokens shared by neighbouring chunks; less than the chunk size.
        header: Contextual header for ``embed_text``: ``"title"``, ``"headings"`` or ``"both"``.

    Raises:
        ConfigError: ``chunk_overlap`` is negative or not below the chunk size.
    """

    def __init__(
        self,
        tokenizer: TokenizerSource,
        *,
        max_tokens: int | None = None,
        prompt: str | None = None,
        chunk_size: int | None = None,
        chunk_overlap: int = 0,
        header: HeaderMode | None = None,
    ) -> None:
        super().__init__(
            tokenizer, max_tokens=max_tokens, prompt=prompt, chunk_size=chunk_size, header=header
        )
        size = chunk_size or self.counter.max_tokens - self.counter.overhead
        if isinstance(chunk_overlap, bool) or not isinstance(chunk_overlap, int):
            raise ConfigError(f"chunk_overlap must be an int, got {chunk_overlap!r}.")
        if not 0 <= chunk_overlap < size:
            raise ConfigError(
                f"chunk_overlap must be at least 0 and less than the chunk size ({size} tokens), "
                f"got {chunk_overlap}."
            )
        self.chunk_overlap = chunk_overlap

    def _split(self, doc: DocTokens, section: Section, budget: Budget) -> Sequence[Span]:
        return self._windows(doc, section.start, section.end, budget, self.chunk_overlap)

    def __repr__(self) -> str:
        return (
            f"TokenChunker(max_tokens={self.max_tokens}, chunk_size={self.chunk_size}, "
            f"chunk_overlap={self.chunk_overlap}, header={self.header!r})"
        )
