"""Stores for the lexical tests: persistent embedded Chroma in tmp folders, and a real server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ragkit.embed.fake import HashEmbedder
from ragkit.lexical.analyzer import Analyzer
from ragkit.store.chroma import ChromaStore
from tests.store.conftest import chroma_server, client  # noqa: F401  (shared fixtures)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ChromaStore]:
    """An empty persistent store with a HashEmbedder, its index files under tmp_path."""
    with ChromaStore(
        "lexical", embedder=HashEmbedder(16), path=tmp_path / "db", index_dir=tmp_path / "idx"
    ) as opened:
        yield opened


def reopen(tmp_path: Path) -> ChromaStore:
    """The ``store`` fixture's collection, opened again (close the first one before)."""
    return ChromaStore(
        "lexical", embedder=HashEmbedder(16), path=tmp_path / "db", index_dir=tmp_path / "idx"
    )


def shared_store(chroma: Any, name: str, index_dir: Path) -> ChromaStore:
    """One more ChromaStore over the Chroma client ``chroma``, collection ``name``."""
    return ChromaStore(name, embedder=HashEmbedder(16), client=chroma, index_dir=index_dir)


def unique_name() -> str:
    return f"lexical-{uuid.uuid4().hex[:12]}"


class CountingAnalyzer(Analyzer):
    """An Analyzer that counts the texts it has turned into terms."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.texts = 0

    def terms(self, texts: Any) -> list[list[str]]:
        self.texts += len(texts)
        return super().terms(texts)
