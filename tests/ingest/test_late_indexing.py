"""Indexing with late chunking: chunk vectors pooled within their document; the option re-indexes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ragkit import ChromaStore, ConfigError, HashEmbedder, TextEmbedder, late_chunk
from ragkit.chunking import RecursiveChunker
from ragkit.cli import main
from ragkit.ingest import Indexer

NOTES = (
    "binary codes keep one bit per dimension and scan fast.\n\n"
    "the store rescores candidates with float vectors from chroma.\n\n"
    "chunks never exceed the model window, prompt included."
)


@pytest.fixture()
def embedder(tiny_model_dir: Path) -> TextEmbedder:
    return TextEmbedder(tiny_model_dir)


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "notes.txt").write_text(NOTES)
    (root / "guide.md").write_text("# guide\n\nsome words about the store.\n")
    return root


def _client(tmp_path: Path) -> Any:
    import chromadb
    from chromadb.config import Settings

    return chromadb.PersistentClient(
        path=str(tmp_path / "chroma"), settings=Settings(anonymized_telemetry=False)
    )


def _indexer(tmp_path: Path, embedder: TextEmbedder, **options: Any) -> Indexer:
    store = ChromaStore("docs", embedder=embedder, client=_client(tmp_path))
    return Indexer(store, RecursiveChunker(embedder), **options)


def _vectors(indexer: Indexer, file: str) -> dict[str, np.ndarray]:
    found = indexer.store.collection.get(where={"file": file}, include=["embeddings"])
    return {i: np.asarray(v) for i, v in zip(found["ids"], found["embeddings"], strict=True)}


def test_late_chunking_stores_each_chunk_pooled_within_its_document(
    tmp_path: Path, embedder: TextEmbedder, corpus: Path
) -> None:
    indexer = _indexer(tmp_path, embedder, late_chunking=True)
    report = indexer.index([corpus])
    assert report.files_indexed == 2 and not report.failures
    chunks = RecursiveChunker(embedder).chunk(NOTES, source_id="notes.txt")
    expected = late_chunk(embedder, NOTES, chunks)
    alone = embedder.embed_documents([c.text for c in chunks])
    held = _vectors(indexer, "notes.txt")
    assert len(held) == len(chunks) > 1
    for chunk, vector, single in zip(chunks, expected, alone, strict=True):
        np.testing.assert_allclose(held[f"notes.txt#{chunk.position}"], vector, atol=1e-5)
        assert not np.allclose(vector, single, atol=1e-3)


def test_turning_late_chunking_on_or_off_re_indexes_every_file(
    tmp_path: Path, embedder: TextEmbedder, corpus: Path
) -> None:
    plain = _indexer(tmp_path, embedder)
    assert "late_chunking" not in plain.signature  # stores indexed before the option stay valid
    assert plain.index([corpus]).files_indexed == 2
    late = _indexer(tmp_path, embedder, late_chunking=True)
    assert late.index([corpus]).files_indexed == 2
    assert late.index([corpus]).files_unchanged == 2
    assert _indexer(tmp_path, embedder).index([corpus]).files_indexed == 2


def test_late_chunking_needs_a_text_embedder(tmp_path: Path) -> None:
    embedder = HashEmbedder(dim=16)
    store = ChromaStore("docs", embedder=embedder, client=_client(tmp_path))
    tokenizer_free = RecursiveChunker(_tiny_tokenizer(), max_tokens=16, prompt="")
    with pytest.raises(ConfigError, match="Late chunking needs a TextEmbedder"):
        Indexer(store, tokenizer_free, late_chunking=True)


def _tiny_tokenizer() -> Any:
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    tokenizer = Tokenizer(WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    return tokenizer


def test_cli_late_chunking_flag_indexes_and_toggling_re_indexes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_model_dir: Path, corpus: Path
) -> None:
    argv = ["index", str(corpus), "--store", str(tmp_path / "store"), "--model"]
    argv += [str(tiny_model_dir), "--json"]
    assert main([*argv, "--late-chunking"]) == 0
    assert json.loads(capsys.readouterr().out)["files_indexed"] == 2
    assert main([*argv, "--late-chunking"]) == 0
    assert json.loads(capsys.readouterr().out)["files_unchanged"] == 2
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["files_indexed"] == 2
