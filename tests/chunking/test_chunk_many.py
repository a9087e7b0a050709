"""chunk_many: the same chunks as one chunk() call per document, chunked in threads."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pytest
from tokenizers import Tokenizer

from ragkit import InputError, MarkdownChunker, RecursiveChunker, TokenChunker
from ragkit.chunking import BaseChunker, Chunk
from ragkit.errors import ConfigError

WORDS = ["the", "cat", "is", "in", "world", "a", "dog", "of", "claim", "vector"]


@dataclass(frozen=True)
class Doc:
    id: str
    text: str
    title: str | None = None


def _docs(n: int) -> list[Doc]:
    rng = np.random.default_rng(7)
    docs = []
    for i in range(n):
        sentences = [
            " ".join(rng.choice(WORDS, size=int(rng.integers(3, 12)))) + "."
            for _ in range(int(rng.integers(0, 30)))
        ]
        docs.append(Doc(f"d{i}", "\n\n".join(sentences), title=f"title {i}"))
    return docs


def _key(chunks: list[Chunk]) -> list[tuple[object, ...]]:
    return [
        (c.source_id, c.start, c.end, c.text, c.embed_text, c.token_count, c.position)
        + (None if c.token_ids is None else tuple(c.token_ids),)
        for c in chunks
    ]


@pytest.mark.parametrize("kind", [RecursiveChunker, MarkdownChunker, TokenChunker])
def test_threads_give_the_chunks_of_one_call_per_document(
    wordpiece: Tokenizer, kind: type[BaseChunker]
) -> None:
    chunker = kind(wordpiece, max_tokens=24, header="title")
    docs = _docs(120)
    expected = [_key(chunker.chunk(d.text, source_id=d.id, title=d.title)) for d in docs]
    assert any(len(e) > 1 for e in expected) and any(not e for e in expected)
    got = chunker.chunk_many(docs, workers=3)
    assert [_key(chunks) for chunks in got] == expected


def test_many_documents_are_chunked_in_worker_threads(
    wordpiece: Tokenizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    chunker = RecursiveChunker(wordpiece, max_tokens=24)
    seen: set[str] = set()
    chunk = chunker.chunk

    def spy(text: str, **kwargs: object) -> list[Chunk]:
        seen.add(threading.current_thread().name)
        return chunk(text, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(chunker, "chunk", spy)
    chunker.chunk_many(_docs(64), workers=2)
    assert seen and all(name.startswith("ragkit-chunk") for name in seen)
    seen.clear()
    chunker.chunk_many(_docs(64), workers=1)
    assert seen == {threading.current_thread().name}


def test_the_first_bad_document_raises(wordpiece: Tokenizer) -> None:
    docs = _docs(40)
    docs[25] = Doc("bad", 42)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="text must be a str"):
        RecursiveChunker(wordpiece, max_tokens=24).chunk_many(docs, workers=2)


@pytest.mark.parametrize("workers", [0, -1, 1.5, True])
def test_bad_worker_counts_are_refused(wordpiece: Tokenizer, workers: object) -> None:
    with pytest.raises(ConfigError, match="workers must be a positive int"):
        RecursiveChunker(wordpiece, max_tokens=24).chunk_many(_docs(3), workers=workers)  # type: ignore[arg-type]


def test_no_documents_give_no_chunks(wordpiece: Tokenizer) -> None:
    assert RecursiveChunker(wordpiece, max_tokens=24).chunk_many([]) == []
