"""SciFact through the real tokenizer: every chunk of every document fits, offsets exact."""

from __future__ import annotations

from pathlib import Path

import pytest
from tokenizers import Tokenizer

from ragkit import MarkdownChunker, RecursiveChunker, TokenChunker, TokenCounter, load_file
from tests.chunking.conftest import raw_count

pytestmark = [pytest.mark.real_data, pytest.mark.real_model, pytest.mark.slow]


def test_scifact_chunks_fit_minilm_window(real_tokenizer: Tokenizer, scifact_dir: Path) -> None:
    docs = load_file(scifact_dir / "corpus.jsonl")[:1500]  # about 10 s for the three chunkers
    counter = TokenCounter(real_tokenizer, max_tokens=128, prompt="passage: ")
    chunkers = [
        TokenChunker(counter, chunk_overlap=16),
        RecursiveChunker(counter, header="title"),
        MarkdownChunker(counter, chunk_size=64, header="both"),
    ]
    for chunker in chunkers:
        chunks = list(chunker.chunk_documents(docs))
        assert len({c.source_id for c in chunks}) == sum(1 for d in docs if d.text.strip())
        by_id = {d.id: d for d in docs}
        for chunk in chunks:
            assert by_id[chunk.source_id].text[chunk.start : chunk.end] == chunk.text
            assert chunk.token_count <= 128
        # An independent count of a sample, header and prompt included.
        for chunk in chunks[::97]:
            assert chunk.token_count == raw_count(real_tokenizer, "passage: " + chunk.embed_text)
        assert max(c.token_count for c in chunks) > 100  # windows are filled
