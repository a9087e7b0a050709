"""Remote rerankers: Cohere/Jina-style ``POST /rerank`` and Text Embeddings Inference's ``/rerank``.

Both follow :class:`~ragkit.retrieval.Reranker`, so they plug into ``Retriever(reranker=...)``.
Long candidate lists go in several requests (the scores are per pair, so they merge).

Usage::

    from ragkit.remote import RemoteReranker, TEIReranker

    reranker = RemoteReranker("jina-reranker-v2-base-multilingual", base_url="https://api.jina.ai/v1")
    reranker.score("does vitamin D lower fracture risk?", ["passage one", "passage two"])
    tei = TEIReranker(base_url="http://localhost:8080")  # TEI serving a cross-encoder
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import replace
from typing import Any, ClassVar

import httpx
import numpy as np
import numpy.typing as npt

from ragkit.errors import ConfigError, InputError, ServiceError
from ragkit.remote._base import _COMMON_KEY, _check_ints, _gather_all
from ragkit.remote._http import (
    Service,
    api_key_from,
    apost_json,
    base_url_from,
    make_timeout,
    post_json,
)
from ragkit.retrieval import Passage

__all__ = ["RemoteReranker", "TEIReranker"]

FloatArray = npt.NDArray[np.float32]


class _RemoteRanker:
    """What both remote rerankers share; see :class:`RemoteReranker` for the arguments."""

    provider: ClassVar[str] = ""
    path: ClassVar[str] = "/rerank"
    default_base_url: ClassVar[str] = ""
    api_key_env: ClassVar[tuple[str, ...]] = (_COMMON_KEY,)
    max_batch_size: ClassVar[int] = 32

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None,
        api_key: str | None,
        api_key_env: str | None,
        batch_size: int | None,
        max_concurrency: int,
        timeout: float,
        retries: int,
        extra_body: Mapping[str, Any] | None,
        client: httpx.Client | None,
        async_client: httpx.AsyncClient | None,
    ) -> None:
        self.batch_size = self.max_batch_size if batch_size is None else batch_size
        _check_ints(1, batch_size=self.batch_size, max_concurrency=max_concurrency)
        _check_ints(0, retries=retries)
        self.model = model
        self.max_concurrency = max_concurrency
        self.extra_body = dict(extra_body or {})
        self.base_url = base_url_from(base_url, (), self.default_base_url)
        key, hint = api_key_from(api_key, (api_key_env,) if api_key_env else self.api_key_env)
        self._service = Service(
            f"the {self.provider} rerank endpoint",
            self.base_url, key, hint, make_timeout(timeout), retries,
        )  # fmt: skip
        self._client, self._async_client = client, async_client
        self._closer: weakref.finalize[Any, Any] | None = None

    def _body(self, query: str, texts: list[str]) -> dict[str, Any]:
        raise NotImplementedError

    def _pairs(self, payload: Any) -> list[tuple[int, float]]:
        """``(index in the batch, score)`` pairs of an answer."""
        raise NotImplementedError

    def score(self, query: str, passages: Sequence[str]) -> FloatArray:
        """Relevance of each passage to ``query``, in input order (the server's scores).

        Raises:
            InputError: An empty query, or a passage that is not a string.
            ServiceError: The server failed, or its answer does not score every passage.
        """
        texts = _checked(query, passages)
        if not texts:
            return np.empty(0, dtype=np.float32)
        client = self._http()
        parts = [
            self._scores(post_json(self._service, client, self.path, self._request(query, b)), len(b))
            for b in self._batches(texts)
        ]  # fmt: skip
        return np.concatenate(parts)

    async def ascore(self, query: str, passages: Sequence[str]) -> FloatArray:
        """The asyncio form of :meth:`score` (``max_concurrency`` requests at once)."""
        texts = _checked(query, passages)
        if not texts:
            return np.empty(0, dtype=np.float32)
        gate = asyncio.Semaphore(self.max_concurrency)
        async with self._async_cm() as client:

            async def one(batch: list[str]) -> FloatArray:
                async with gate:
                    body = self._request(query, batch)
                    return self._scores(
                        await apost_json(self._service, client, self.path, body), len(batch)
                    )

            parts = await _gather_all([one(b) for b in self._batches(texts)])
        return np.concatenate(parts)

    def rerank(
        self, query: str, passages: Sequence[Passage], *, top_k: int | None = None
    ) -> list[Passage]:
        """The passages best first, ``score`` (and ``scores["rerank"]``) set to the server's.

        Raises:
            ConfigError: ``top_k`` below 1.
            InputError: An empty query, or an item that is not a Passage.
            ServiceError: The server failed.
        """
        items = _passages(passages, top_k)
        return _ranked(items, self.score(query, [p.text for p in items]), top_k)

    async def arerank(
        self, query: str, passages: Sequence[Passage], *, top_k: int | None = None
    ) -> list[Passage]:
        """The asyncio form of :meth:`rerank`."""
        items = _passages(passages, top_k)
        return _ranked(items, await self.ascore(query, [p.text for p in items]), top_k)

    def close(self) -> None:
        """Close the HTTP client the reranker opened (not one passed in)."""
        if self._closer is not None:
            self._closer()
            self._closer = self._client = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model!r}, base_url={self.base_url!r})"

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = self._service.client()
            self._closer = weakref.finalize(self, self._client.close)
        return self._client

    def _batches(self, texts: list[str]) -> list[list[str]]:
        return [texts[i : i + self.batch_size] for i in range(0, len(texts), self.batch_size)]

    def _request(self, query: str, texts: list[str]) -> dict[str, Any]:
        body = {**self._body(query, texts), **self.extra_body}
        return {k: v for k, v in body.items() if v is not None}

    def _async_cm(self) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        if self._async_client is not None:
            return nullcontext(self._async_client)
        return self._service.async_client()

    def _scores(self, payload: Any, expected: int) -> FloatArray:
        where = f"{self._service.what} at {self._service.url(self.path)}"
        try:
            pairs = self._pairs(payload)
        except (LookupError, TypeError, ValueError, AttributeError) as exc:
            raise ServiceError(
                f"{where} answered without the scores expected ({type(exc).__name__}: {exc}); "
                f"check that base_url points at a {self.provider} server."
            ) from exc
        out = np.full(expected, np.nan, dtype=np.float32)
        for index, value in pairs:
            if 0 <= index < expected:
                out[index] = value
        if np.isnan(out).any():
            raise ServiceError(
                f"{where} scored {int((~np.isnan(out)).sum())} of the {expected} passages sent; "
                "check that the server does not cap top_n below the batch size (lower batch_size)."
            )
        return out


class RemoteReranker(_RemoteRanker):
    """Rerank with a Cohere/Jina-style ``POST {base_url}/rerank`` (Jina, Cohere, ragkit serve).

    Sends ``{"model", "query", "documents", "top_n", "return_documents": false}`` and reads
    ``results[].index`` / ``results[].relevance_score``.

    Args:
        model: The reranker the server knows.
        base_url: The API root, e.g. ``https://api.jina.ai/v1``, ``https://api.cohere.com/v2``
            or ``http://127.0.0.1:8000/v1`` (ragkit serve).
        api_key: Bearer token. Default: ``RAGKIT_REMOTE_API_KEY``, then ``COHERE_API_KEY``,
            then ``JINA_API_KEY``. Never logged.
        api_key_env: Read the key from this variable instead.
        batch_size: Most passages per request (default 256).
        max_concurrency: Requests in flight at once in the asyncio methods.
        timeout: Seconds to wait for each read.
        retries: Further attempts after a transient failure (backoff with jitter, Retry-After).
        extra_body: Extra fields of every body; a key set to None removes a default one.
        client: An ``httpx.Client`` to use (left open).
        async_client: An ``httpx.AsyncClient`` for the asyncio methods.
    """

    provider: ClassVar[str] = "Cohere/Jina-style"
    api_key_env: ClassVar[tuple[str, ...]] = (_COMMON_KEY, "COHERE_API_KEY", "JINA_API_KEY")
    max_batch_size: ClassVar[int] = 256

    def __init__(
        self,
        model: str,
        *,
        base_url: str,
        api_key: str | None = None,
        api_key_env: str | None = None,
        batch_size: int | None = None,
        max_concurrency: int = 4,
        timeout: float = 60.0,
        retries: int = 3,
        extra_body: Mapping[str, Any] | None = None,
        client: httpx.Client | None = None,
        async_client: httpx.AsyncClient | None = None,
    ) -> None:
        if not isinstance(model, str) or not model.strip():
            raise ConfigError("model must name the reranker the server serves.")
        super().__init__(
            model, base_url=base_url, api_key=api_key, api_key_env=api_key_env,
            batch_size=batch_size, max_concurrency=max_concurrency, timeout=timeout,
            retries=retries, extra_body=extra_body, client=client, async_client=async_client,
        )  # fmt: skip

    def _body(self, query: str, texts: list[str]) -> dict[str, Any]:
        return {
            "model": self.model,
            "query": query,
            "documents": texts,
            "top_n": len(texts),
            "return_documents": False,
        }

    def _pairs(self, payload: Any) -> list[tuple[int, float]]:
        return [(int(r["index"]), float(r["relevance_score"])) for r in payload["results"]]


class TEIReranker(_RemoteRanker):
    """Rerank with a Text Embeddings Inference server's ``POST /rerank`` (a cross-encoder).

    Sends ``{"query", "texts", "raw_scores": false}`` (scores are probabilities) in batches of
    32, TEI's default ``--max-client-batch-size``. ``model`` only names it (TEI serves one);
    ``base_url`` defaults to ``http://localhost:8080``; the key comes from
    ``RAGKIT_REMOTE_API_KEY`` or ``TEI_API_KEY``. Other arguments as for
    :class:`RemoteReranker`.
    """

    provider: ClassVar[str] = "Text Embeddings Inference"
    default_base_url: ClassVar[str] = "http://localhost:8080"
    api_key_env: ClassVar[tuple[str, ...]] = (_COMMON_KEY, "TEI_API_KEY")

    def __init__(
        self,
        model: str = "tei",
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        api_key_env: str | None = None,
        batch_size: int | None = None,
        max_concurrency: int = 4,
        timeout: float = 60.0,
        retries: int = 3,
        extra_body: Mapping[str, Any] | None = None,
        client: httpx.Client | None = None,
        async_client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(
            model, base_url=base_url, api_key=api_key, api_key_env=api_key_env,
            batch_size=batch_size, max_concurrency=max_concurrency, timeout=timeout,
            retries=retries, extra_body=extra_body, client=client, async_client=async_client,
        )  # fmt: skip

    def _body(self, query: str, texts: list[str]) -> dict[str, Any]:
        return {"query": query, "texts": texts, "raw_scores": False, "return_text": False}

    def _pairs(self, payload: Any) -> list[tuple[int, float]]:
        return [(int(r["index"]), float(r["score"])) for r in payload]


def _checked(query: object, passages: Sequence[object]) -> list[str]:
    if not isinstance(query, str) or not query.strip():
        raise InputError("The query is empty: pass the question as text.")
    if isinstance(passages, str):
        raise InputError("passages must be a list of strings, not one string.")
    items = list(passages)
    bad = next((i for i, p in enumerate(items) if not isinstance(p, str)), None)
    if bad is not None:
        raise InputError(f"Passage {bad} is {type(items[bad]).__name__}; pass strings.")
    return items  # type: ignore[return-value]


def _passages(passages: Sequence[Passage], top_k: int | None) -> list[Passage]:
    if top_k is not None and top_k < 1:
        raise ConfigError(f"top_k must be at least 1 (or None for all), got {top_k}.")
    items = list(passages)
    bad = next((i for i, p in enumerate(items) if not isinstance(p, Passage)), None)
    if bad is not None:
        raise InputError(
            f"rerank() takes Passage objects; item {bad} is {type(items[bad]).__name__}. "
            "Use score() for plain strings."
        )
    return items


def _ranked(items: list[Passage], scores: FloatArray, top_k: int | None) -> list[Passage]:
    order = np.argsort(-scores, kind="stable")[:top_k]
    out = []
    for i in order:
        p, value = items[int(i)], float(scores[int(i)])
        out.append(replace(p, score=value, scores={**p.scores, "rerank": value}))
    return out
