"""ChromaStore for asyncio apps: the same store, its calls awaited off the event loop.

Chroma's embedded client and ragkit's scan are blocking work; each call runs in a worker
thread (``asyncio.to_thread``), so an app's event loop keeps serving while a query or an add
is under way, and concurrent coroutines share one thread-safe store.

Usage::

    client = await chromadb.AsyncHttpClient(host="127.0.0.1", port=8000)
    store = await AsyncChromaStore.open("docs", client=client, embedder=embedder)
    await store.add(["a"], documents=["some text"])
    hits = await store.query("a question", k=5)
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ragkit.errors import ConfigError
from ragkit.store.base import Hit
from ragkit.store.chroma import ChromaStore, is_async_client
from ragkit.types import Matrix

__all__ = ["AsyncChromaStore"]


class AsyncChromaStore:
    """Awaitable :class:`ChromaStore` methods; build one with :meth:`open`."""

    def __init__(self, store: ChromaStore) -> None:
        self.store = store

    @classmethod
    async def open(
        cls, name: str = "ragkit", *, client: Any = None, **options: Any
    ) -> AsyncChromaStore:
        """Open (or create) a collection, as ``ChromaStore(name, client=..., **options)`` does.

        Args:
            name: Collection name.
            client: A ``chromadb.AsyncHttpClient`` (ragkit talks to the same server, tenant
                and database with a blocking client of its own), any blocking Chroma client,
                or None with ``path=`` for a persistent folder.
            **options: Any :class:`ChromaStore` option (``embedder``, ``path``, ``search``...).
        """
        if is_async_client(client):
            client = await asyncio.to_thread(_blocking_twin, client)
        store = await asyncio.to_thread(ChromaStore, name, client=client, **options)
        return cls(store)

    async def add(
        self,
        ids: Sequence[str],
        *,
        documents: Sequence[str | None] | None = None,
        metadatas: Sequence[Mapping[str, Any] | None] | None = None,
        embeddings: Matrix | Sequence[Sequence[float]] | None = None,
    ) -> None:
        """:meth:`ChromaStore.add`."""
        await asyncio.to_thread(
            self.store.add, ids, documents=documents, metadatas=metadatas, embeddings=embeddings
        )

    upsert = add

    async def query(
        self, query: str | Sequence[float] | np.ndarray[Any, Any], k: int = 10, **options: Any
    ) -> list[Hit]:
        """:meth:`ChromaStore.query`."""
        return await asyncio.to_thread(self.store.query, query, k, **options)

    async def query_scores(
        self, query: str | Sequence[float] | np.ndarray[Any, Any], k: int = 10, **options: Any
    ) -> list[tuple[str, float]]:
        """:meth:`ChromaStore.query_scores`."""
        return await asyncio.to_thread(self.store.query_scores, query, k, **options)

    async def delete(
        self, ids: Sequence[str] | None = None, *, where: Mapping[str, Any] | None = None
    ) -> None:
        """:meth:`ChromaStore.delete`."""
        await asyncio.to_thread(self.store.delete, ids, where=where)

    async def get(self, ids: Sequence[str]) -> list[Hit]:
        """:meth:`ChromaStore.get`."""
        return await asyncio.to_thread(self.store.get, ids)

    async def count(self) -> int:
        """:meth:`ChromaStore.count`."""
        return await asyncio.to_thread(self.store.count)

    async def close(self) -> None:
        """:meth:`ChromaStore.close`."""
        self.store.close()

    async def __aenter__(self) -> AsyncChromaStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _blocking_twin(client: Any) -> Any:
    """A blocking HttpClient for the server, tenant and database of an async one."""
    import chromadb

    settings = client.get_settings()
    host, port = settings.chroma_server_host, settings.chroma_server_http_port
    if not host:
        raise ConfigError(
            "The async Chroma client names no server host; use chromadb.AsyncHttpClient."
        )
    return chromadb.HttpClient(
        host=host,
        port=int(port or 8000),
        ssl=bool(settings.chroma_server_ssl_enabled),
        headers=settings.chroma_server_headers,
        settings=settings.model_copy(update={"chroma_api_impl": "chromadb.api.fastapi.FastAPI"}),
        tenant=client.tenant,
        database=client.database,
    )
