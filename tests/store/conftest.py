"""One Chroma client for the store tests: in-memory, no telemetry, closed at the end."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import chromadb
import pytest
from chromadb.config import Settings


@pytest.fixture(scope="session")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """An in-memory Chroma without telemetry (the settings ChromaStore uses), closed afterwards."""
    settings = Settings(anonymized_telemetry=False)
    try:
        chroma = chromadb.EphemeralClient(settings=settings)
    except ValueError:
        # Chroma allows one in-memory instance per process, with one set of settings; if another
        # holds it, a private on-disk instance behaves the same.
        chroma = chromadb.PersistentClient(
            path=str(tmp_path_factory.mktemp("chroma")), settings=settings
        )
    yield chroma
    chroma.close()
