"""Late chunking: embed the whole document, then mean-pool each chunk's tokens.

Each chunk's vector is the mean of the token states the model gave *inside the whole
document* (Günther et al. 2024, "Late Chunking"), so a chunk that says "it" knows what "it"
is. Documents longer than the window run as overlapping macro-windows
(:meth:`TextEmbedder.token_states`). The chunks come from any ragkit chunker: their exact
``start``/``end`` character offsets pick the tokens.

Usage::

    from ragkit import RecursiveChunker, TextEmbedder
    from ragkit.embed.late import late_chunk

    embedder = TextEmbedder("sentence-transformers/all-MiniLM-L6-v2")
    chunks = RecursiveChunker(embedder, chunk_size=128).chunk(text, source_id="paper.txt")
    vectors = late_chunk(embedder, text, chunks)  # (len(chunks), dim), unit length
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ragkit.chunking.chunk import Chunk
from ragkit.embed.onnx import TextEmbedder
from ragkit.embed.tokens import TokenStates
from ragkit.errors import InputError
from ragkit.types import Matrix

__all__ = ["chunk_token_mask", "late_chunk", "late_chunk_documents"]

_GROUP = 64  # documents whose token states are held at once


def late_chunk(
    embedder: TextEmbedder, text: str, chunks: Sequence[Chunk], *, overlap: int | None = None
) -> Matrix:
    """One vector per chunk, pooled from the whole document's token states.

    A token counts for every chunk its character span overlaps (a token cut by a chunk
    boundary counts for both). The document prompt is run but its tokens, like the special
    tokens, are never pooled; contextual headers (``chunk.embed_text``) do not apply: the
    document itself is the context. A chunk no token overlaps (all whitespace, or characters
    the tokenizer drops) is embedded on its own, as without late chunking, so every row is
    a vector like :meth:`TextEmbedder.embed_documents` returns. Pooling is always the mean,
    whatever the model's own pooling.

    Args:
        embedder: An ONNX embedder whose graph gives token states.
        text: The document.
        chunks: Its chunks (``text[chunk.start:chunk.end] == chunk.text``), in any order.
        overlap: Tokens shared by neighbouring macro-windows (default: a quarter of the window).

    Returns:
        float32 ``(len(chunks), embedder.dim)``, Matryoshka-truncated and L2-normalised as
        the embedder's vectors are.

    Raises:
        ModelGraphError: The model only outputs pooled vectors.
        InputError: A chunk's span lies outside ``text``.
    """
    return late_chunk_documents(embedder, [(text, chunks)], overlap=overlap)[0]


def late_chunk_documents(
    embedder: TextEmbedder,
    documents: Sequence[tuple[str, Sequence[Chunk]]],
    *,
    overlap: int | None = None,
) -> list[Matrix]:
    """:func:`late_chunk` for many documents: their windows share batches.

    Short documents take one model run each and run many to a batch; a document that fits
    the window is never split. Token states are held for 64 documents at a time.

    Args:
        embedder: An ONNX embedder whose graph gives token states.
        documents: ``(text, chunks)`` pairs.
        overlap: Tokens shared by neighbouring macro-windows (default: a quarter of the window).

    Returns:
        One ``(len(chunks), dim)`` matrix per document, in order.

    Raises:
        ModelGraphError: The model only outputs pooled vectors.
        InputError: A text is not a string, or a chunk's span lies outside its text.
    """
    _warn_unless_mean(embedder)
    for index, (text, chunks) in enumerate(documents):
        _check_spans(index, text, chunks)
    out = [np.empty((0, embedder.dim), dtype=np.float32) for _ in documents]
    todo = [i for i, (_, chunks) in enumerate(documents) if chunks]
    for first in range(0, len(todo), _GROUP):
        group = todo[first : first + _GROUP]
        states = embedder.token_states([documents[i][0] for i in group], overlap=overlap)
        for i, tokens in zip(group, states, strict=True):
            out[i] = _pool_chunks(embedder, tokens, documents[i][1])
    return out


def chunk_token_mask(
    offsets: npt.NDArray[np.int64], spans: Sequence[tuple[int, int]]
) -> npt.NDArray[np.bool_]:
    """Which tokens each span holds: ``(len(spans), T)``, True where the character spans overlap.

    A zero-width token counts for the span its position falls in.
    """
    starts, ends = offsets[:, 0], np.maximum(offsets[:, 1], offsets[:, 0] + 1)
    bounds = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    inside: npt.NDArray[np.bool_] = (starts[None, :] < bounds[:, 1:]) & (
        ends[None, :] > bounds[:, :1]
    )
    return inside


def _pool_chunks(embedder: TextEmbedder, tokens: TokenStates, chunks: Sequence[Chunk]) -> Matrix:
    mask = chunk_token_mask(tokens.offsets, [(c.start, c.end) for c in chunks])
    counts = mask.sum(axis=1)
    summed = mask.astype(np.float32) @ tokens.states
    pooled = (summed / np.maximum(counts, 1)[:, None]).astype(np.float32)
    vectors = embedder.postprocess(pooled)
    empty = np.flatnonzero(counts == 0)
    if len(empty):
        vectors[empty] = embedder.embed_documents([chunks[int(i)].text for i in empty])
    return vectors


def _check_spans(index: int, text: str, chunks: Sequence[Chunk]) -> None:
    if not isinstance(text, str):
        raise InputError(f"documents[{index}] has a {type(text).__name__} text, not str.")
    for chunk in chunks:
        if not 0 <= chunk.start <= chunk.end <= len(text):
            raise InputError(
                f"documents[{index}]: chunk {chunk.position} spans [{chunk.start}, {chunk.end}) "
                f"outside its text of {len(text)} characters; pass each text's own chunks."
            )


def _warn_unless_mean(embedder: TextEmbedder) -> None:
    if embedder.spec.pooling != "mean":
        warnings.warn(
            f"{embedder.spec.model_id} pools with {embedder.spec.pooling!r}, but late chunking "
            "mean-pools token states, so chunk vectors and queries are pooled differently. "
            "Prefer a mean-pooled model (e5, MiniLM, nomic, gte) for late chunking.",
            UserWarning,
            stacklevel=3,
        )
