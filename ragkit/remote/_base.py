"""RemoteEmbedder: what every remote embedder shares (prompts, batching, retries, sync + async).

A provider module only says where to POST, what body to send for a batch of texts and how to
read the vectors out of the answer. Everything else is here: the catalogue's query/document
prompts applied before sending, batches within the provider's limits, Matryoshka truncation,
L2-normalised float32 output (true cosines), ``dim`` learnt from the first answer, and
bounded concurrency for the asyncio methods.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from collections.abc import Awaitable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any, ClassVar, TypeVar, overload

import httpx
import numpy as np

from ragkit.embed.base import check_texts
from ragkit.embed.pooling import l2_normalize, layer_norm
from ragkit.errors import ConfigError, ServiceError
from ragkit.remote._http import (
    Service,
    api_key_from,
    apost_json,
    base_url_from,
    make_timeout,
    post_json,
)
from ragkit.remote._prompts import catalogue_spec
from ragkit.types import Matrix, Vector

__all__ = ["RemoteEmbedder"]

logger = logging.getLogger("ragkit.remote")

_T = TypeVar("_T")
_COMMON_KEY = "RAGKIT_REMOTE_API_KEY"


class RemoteEmbedder:
    """Base class of the remote embedders; use :class:`OpenAIEmbedder` and its siblings.

    Args:
        model: The model name the server knows. Its catalogue entry (if any) gives the query
            and document prompts, applied here before the texts are sent.
        base_url: The API root (each provider has a default and an environment variable).
        api_key: Bearer token. Default: ``RAGKIT_REMOTE_API_KEY``, then the provider's own
            variable (``OPENAI_API_KEY``...); none is sent when neither is set. Never logged.
        api_key_env: Read the key from this variable instead.
        dimensions: Matryoshka dimension: keep the first ``dimensions`` and renormalise, after
            a layer norm for models that need one (nomic); the OpenAI embedder also asks the
            server for it.
        dim: The width the server's vectors have, when the catalogue does not know the model
            (default: the catalogue's, else learnt from the first answer; reading
            :attr:`dim` before any call then makes one small request).
        query_prompt: Replace the model's query prompt.
        document_prompt: Replace the model's document prompt.
        batch_size: Most texts per request (default: the provider's limit).
        max_batch_chars: Most characters per request (keeps a batch under token limits).
        max_concurrency: Requests in flight at once in the asyncio methods.
        timeout: Seconds to wait for each read (connecting: at most 10 s).
        retries: Further attempts after a connection error, timeout, 408, 429, 5xx or a body
            that is not JSON (exponential backoff with jitter, or the server's ``Retry-After``).
        extra_body: Extra fields of every request body; a key set to None removes a default.
        client: An ``httpx.Client`` to use (left open); default: one the embedder opens at first
            use (keep-alive) and closes in :meth:`close` or when it is garbage collected.
        async_client: An ``httpx.AsyncClient`` for the asyncio methods (default: one per call).

    Raises:
        ConfigError: An argument is out of range, or ``base_url`` is not an http(s) URL.
    """

    provider: ClassVar[str] = ""
    path: ClassVar[str] = ""
    default_base_url: ClassVar[str] = ""
    base_url_env: ClassVar[tuple[str, ...]] = ()
    api_key_env: ClassVar[tuple[str, ...]] = (_COMMON_KEY,)
    max_batch_size: ClassVar[int] = 32

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        api_key_env: str | None = None,
        dimensions: int | None = None,
        dim: int | None = None,
        query_prompt: str | None = None,
        document_prompt: str | None = None,
        batch_size: int | None = None,
        max_batch_chars: int = 400_000,
        max_concurrency: int = 4,
        timeout: float = 60.0,
        retries: int = 3,
        extra_body: Mapping[str, Any] | None = None,
        client: httpx.Client | None = None,
        async_client: httpx.AsyncClient | None = None,
    ) -> None:
        if not isinstance(model, str) or not model.strip():
            raise ConfigError("model must name the model the server serves, e.g. 'bge-m3'.")
        self.batch_size = self.max_batch_size if batch_size is None else batch_size
        _check_ints(1, batch_size=self.batch_size, max_batch_chars=max_batch_chars)
        _check_ints(1, max_concurrency=max_concurrency)
        _check_ints(0, retries=retries)
        spec = catalogue_spec(model)
        if dimensions is not None:
            _check_ints(1, dimensions=dimensions)
            if spec is not None and dimensions > spec.dim:
                raise ConfigError(
                    f"dimensions={dimensions} is more than {spec.model_id}'s {spec.dim}."
                )
        self.model = model
        self.dimensions = dimensions
        self._layer_norm = bool(spec is not None and spec.layer_norm_before_truncate)
        self.query_prompt = query_prompt if query_prompt is not None else _prompt(spec, "query")
        self.document_prompt = (
            document_prompt if document_prompt is not None else _prompt(spec, "document")
        )
        self.task_prompts: dict[str, str] = dict(spec.task_prompts) if spec else {}
        self.max_batch_chars = max_batch_chars
        self.max_concurrency = max_concurrency
        self.extra_body = dict(extra_body or {})
        key, hint = api_key_from(api_key, (api_key_env,) if api_key_env else self.api_key_env)
        self.base_url = base_url_from(base_url, self.base_url_env, self.default_base_url)
        self._service = Service(
            f"the {self.provider} embeddings endpoint",
            self.base_url, key, hint, make_timeout(timeout), retries,
        )  # fmt: skip
        self._client, self._async_client = client, async_client
        self._closer: weakref.finalize[Any, Any] | None = None
        self._lock = threading.Lock()
        if dim is not None:
            _check_ints(1, dim=dim)
        self._dim: int | None = dimensions or dim or (spec.dim if spec else None)

    # -- what a provider defines ---------------------------------------------------------

    def _body(self, texts: list[str]) -> dict[str, Any]:
        """The JSON body asking for the vectors of ``texts``."""
        raise NotImplementedError

    def _rows(self, payload: Any) -> list[Any]:
        """The vectors in an answer, in input order (lists of floats or arrays)."""
        raise NotImplementedError

    # -- the Embedder protocol -----------------------------------------------------------

    @property
    def dim(self) -> int:
        """Dimension of the returned vectors (learnt from the server on first use)."""
        if self._dim is None:
            self.embed_documents(["dimension probe"])
        assert self._dim is not None  # set by the answer
        return self._dim

    def fingerprint(self) -> dict[str, Any]:
        """What determines the vectors: provider, model, dimension and prompts."""
        return {
            "remote": self.provider,
            "model": self.model,
            "dim": self.dim,
            "normalize": True,
            "query_prompt": self.query_prompt,
            "document_prompt": self.document_prompt,
        }

    def embed_documents(
        self, texts: Sequence[str], *, prompt: str | None = None, prompt_name: str | None = None
    ) -> Matrix:
        """Embed documents with the document prompt into ``(len(texts), dim)`` unit float32.

        Raises:
            InputError: ``texts`` is not a list of strings.
            ServiceError: The server failed (see :mod:`ragkit.errors`).
        """
        items = check_texts(texts)
        return self._embed(items, self._choose(prompt, prompt_name, "document"))

    @overload
    def embed_query(self, text: str) -> Vector: ...

    @overload
    def embed_query(self, text: Sequence[str]) -> Matrix: ...

    def embed_query(
        self,
        text: str | Sequence[str],
        *,
        prompt: str | None = None,
        prompt_name: str | None = None,
    ) -> Vector | Matrix:
        """Embed a query (``(dim,)``) or a list of queries (``(n, dim)``) with the query prompt."""
        chosen = self._choose(prompt, prompt_name, "query")
        if isinstance(text, str):
            single: Vector = self._embed([text], chosen)[0]
            return single
        return self._embed(check_texts(text, what="queries"), chosen)

    async def aembed_documents(
        self, texts: Sequence[str], *, prompt: str | None = None, prompt_name: str | None = None
    ) -> Matrix:
        """The asyncio form of :meth:`embed_documents` (``max_concurrency`` batches at once)."""
        items = check_texts(texts)
        return await self._aembed(items, self._choose(prompt, prompt_name, "document"))

    @overload
    async def aembed_query(self, text: str) -> Vector: ...

    @overload
    async def aembed_query(self, text: Sequence[str]) -> Matrix: ...

    async def aembed_query(
        self,
        text: str | Sequence[str],
        *,
        prompt: str | None = None,
        prompt_name: str | None = None,
    ) -> Vector | Matrix:
        """The asyncio form of :meth:`embed_query`."""
        chosen = self._choose(prompt, prompt_name, "query")
        if isinstance(text, str):
            single: Vector = (await self._aembed([text], chosen))[0]
            return single
        return await self._aembed(check_texts(text, what="queries"), chosen)

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP client the embedder opened (not one passed in)."""
        with self._lock:
            if self._closer is not None:
                self._closer()  # closes the client; a passed-in one has no closer
                self._closer = self._client = None

    def __enter__(self: _T) -> _T:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        dims = f", dimensions={self.dimensions}" if self.dimensions else ""
        return f"{type(self).__name__}({self.model!r}, base_url={self.base_url!r}{dims})"

    # -- internals -------------------------------------------------------------------------

    def _choose(self, prompt: str | None, prompt_name: str | None, default: str) -> str:
        if prompt is not None and prompt_name is not None:
            raise ConfigError("Pass either prompt= or prompt_name=, not both.")
        if prompt is not None:
            return prompt
        name = prompt_name or default
        if name == "query":
            return self.query_prompt
        if name == "document":
            return self.document_prompt
        if name in self.task_prompts:
            return self.task_prompts[name]
        known = ", ".join(["query", "document", *sorted(self.task_prompts)])
        raise ConfigError(f"{self.model} has no prompt named {name!r}; known: {known}.")

    def _batches(self, texts: list[str]) -> Iterator[list[str]]:
        batch: list[str] = []
        chars = 0
        for text in texts:
            if batch and (
                len(batch) >= self.batch_size or chars + len(text) > self.max_batch_chars
            ):
                yield batch
                batch, chars = [], 0
            batch.append(text)
            chars += len(text)
        if batch:
            yield batch

    def _request(self, texts: list[str]) -> dict[str, Any]:
        body = {**self._body(texts), **self.extra_body}
        return {k: v for k, v in body.items() if v is not None}

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = self._service.client()
                # closed with the embedder, so its sockets never outlive it unclosed
                self._closer = weakref.finalize(self, self._client.close)
            return self._client

    def _embed(self, texts: list[str], prompt: str) -> Matrix:
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        client = self._http()
        out = []
        for batch in self._batches([prompt + t for t in texts]):
            payload = post_json(self._service, client, self.path, self._request(batch))
            out.append(self._vectors(payload, len(batch)))
        return np.concatenate(out) if len(out) > 1 else out[0]

    async def _aembed(self, texts: list[str], prompt: str) -> Matrix:
        if not texts:
            return np.empty((0, self._dim or await self._aprobe()), dtype=np.float32)
        gate = asyncio.Semaphore(self.max_concurrency)
        async with self._async_cm() as client:

            async def one(batch: list[str]) -> Matrix:
                async with gate:
                    body = self._request(batch)
                    payload = await apost_json(self._service, client, self.path, body)
                    return self._vectors(payload, len(batch))

            out = await _gather_all([one(b) for b in self._batches([prompt + t for t in texts])])
        return np.concatenate(out) if len(out) > 1 else out[0]

    async def _aprobe(self) -> int:
        await self._aembed(["dimension probe"], self.document_prompt)
        assert self._dim is not None
        return self._dim

    def _async_cm(self) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        if self._async_client is not None:
            return nullcontext(self._async_client)
        return self._service.async_client()

    def _vectors(self, payload: Any, expected: int) -> Matrix:
        """The answer as checked, truncated and normalised float32 rows."""
        where = f"{self._service.what} at {self._service.url(self.path)}"
        try:
            rows = self._rows(payload)
            vectors = np.asarray(rows, dtype=np.float32)
        except (LookupError, TypeError, ValueError, AttributeError) as exc:
            raise ServiceError(
                f"{where} answered without the embeddings expected ({type(exc).__name__}: "
                f"{exc}); check that base_url points at a {self.provider} server."
            ) from exc
        if vectors.ndim != 2 or len(vectors) != expected or vectors.shape[1] == 0:
            raise ServiceError(
                f"{where} answered {len(rows)} vectors of shape {vectors.shape[1:]} for "
                f"{expected} texts; check the server's model and version."
            )
        if not np.isfinite(vectors).all():
            raise ServiceError(f"{where} answered vectors holding NaN or infinity.")
        if self.dimensions is not None:
            if vectors.shape[1] < self.dimensions:
                raise ServiceError(
                    f"{where} answered {vectors.shape[1]}-d vectors, fewer than "
                    f"dimensions={self.dimensions}; lower dimensions."
                )
            if vectors.shape[1] > self.dimensions and self._layer_norm:
                vectors = layer_norm(vectors)  # nomic's Matryoshka recipe, as TextEmbedder does
            vectors = vectors[:, : self.dimensions]
        vectors = l2_normalize(vectors)
        with self._lock:
            if self._dim is None:
                self._dim = int(vectors.shape[1])
        if vectors.shape[1] != self._dim:
            raise ServiceError(
                f"{where} answered {vectors.shape[1]}-d vectors, but {self.model} gives "
                f"{self._dim}-d ones (from dim=, the catalogue or an earlier answer): check "
                "the model the server runs, or pass dim=."
            )
        return vectors


def _prompt(spec: Any, kind: str) -> str:
    return str(spec.prompt_for(kind)) if spec is not None else ""


def _check_ints(minimum: int, **values: int) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ConfigError(f"{name} must be an int >= {minimum}, got {value!r}.")


async def _gather_all(jobs: list[Awaitable[_T]]) -> list[_T]:
    """Run ``jobs`` concurrently; on the first failure cancel the others and raise it."""
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
