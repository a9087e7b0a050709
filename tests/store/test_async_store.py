from __future__ import annotations

import asyncio
import uuid
from typing import Any

import chromadb
import pytest
from chromadb.config import Settings

from ragkit import AsyncChromaStore, ChromaStore, ConfigError, HashEmbedder
from tests.store.conftest import http_client

DOCS = [f"async document {i} on {'rivers' if i % 3 else 'mountains'}" for i in range(30)]
IDS = [f"a{i}" for i in range(30)]


async def _async_client(server: tuple[str, int]) -> Any:
    host, port = server
    return await chromadb.AsyncHttpClient(
        host=host, port=port, settings=Settings(anonymized_telemetry=False)
    )


def test_an_async_http_client_store_shares_the_server_with_blocking_ones(
    chroma_server: tuple[str, int],
) -> None:
    name = f"async-{uuid.uuid4().hex}"

    async def scenario() -> tuple[int, list[str], list[list[str]]]:
        client = await _async_client(chroma_server)
        async with await AsyncChromaStore.open(
            name, client=client, embedder=HashEmbedder(dim=32)
        ) as store:
            await store.add(IDS, documents=DOCS, metadatas=[{"i": i} for i in range(30)])
            first = [h.id for h in await store.query(DOCS[4], k=1)]
            together = await asyncio.gather(*(store.query(DOCS[i], k=3) for i in range(8)))
            await store.delete(["a5"])
            return await store.count(), first, [[h.id for h in hits] for hits in together]

    count, first, together = asyncio.run(scenario())
    assert count == 29 and first == ["a4"]
    assert [hits[0] for hits in together] == IDS[:8]  # concurrent queries, each its own answer
    blocking = ChromaStore(name, embedder=HashEmbedder(dim=32), client=http_client(chroma_server))
    assert blocking.count() == 29 and blocking.query(DOCS[7], k=1)[0].id == "a7"
    assert blocking.get(["a5"]) == []


def test_an_async_store_over_a_blocking_client(client: Any) -> None:
    async def scenario() -> tuple[str, list[tuple[str, float]], list[str]]:
        store = await AsyncChromaStore.open(
            f"async-{uuid.uuid4().hex}", client=client, embedder=HashEmbedder(dim=16)
        )
        await store.upsert(["x", "y"], documents=["first words", "second words"])
        scores = await store.query_scores("second words", k=2)
        ranked = [h.id for h in await store.query("second words", k=2)]
        return (await store.get(["y"]))[0].document or "", scores, ranked

    document, scores, ranked = asyncio.run(scenario())
    assert document == "second words"
    assert [i for i, _ in scores] == ranked and ranked[0] == "y"
    assert scores[0][1] == pytest.approx(1.0, abs=1e-5)


def test_the_blocking_store_refuses_an_async_client_and_says_what_to_use(
    chroma_server: tuple[str, int],
) -> None:
    async_client = asyncio.run(_async_client(chroma_server))
    with pytest.raises(ConfigError, match="AsyncChromaStore.open"):
        ChromaStore("refused", embedder=HashEmbedder(dim=8), client=async_client)
