"""The Starlette app: ``/v1/embeddings``, ``/v1/rerank``, ``/v1/models`` and ``/health``."""

from __future__ import annotations

import base64
import hmac
import json
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ragkit.embed.onnx import TextEmbedder
from ragkit.errors import ConfigError, InputError
from ragkit.rerank.cross_encoder import CrossEncoderReranker
from ragkit.serve._batcher import MicroBatcher
from ragkit.serve._errors import APIError, error_response
from ragkit.serve._models import ServedEmbedder, ServedReranker
from ragkit.serve._schemas import EmbeddingRequest, RerankRequest, parse
from ragkit.types import Matrix

__all__ = ["create_app"]

logger = logging.getLogger("ragkit.serve")


def create_app(
    embedders: Mapping[str, TextEmbedder],
    rerankers: Mapping[str, CrossEncoderReranker] | None = None,
    *,
    api_key: str | None = None,
    max_batch: int = 256,
    max_body_bytes: int = 4 * 1024 * 1024,
    batching: bool = True,
    batch_wait_ms: float = 0.0,
) -> Starlette:
    """An ASGI app serving ``embedders`` and ``rerankers`` under the names given.

    Args:
        embedders: Served name -> embedder (``/v1/embeddings``).
        rerankers: Served name -> cross-encoder (``/v1/rerank``).
        api_key: When set, every ``/v1`` request needs ``Authorization: Bearer <api_key>``.
        max_batch: Most inputs (or rerank documents) per request.
        max_body_bytes: Largest request body accepted (413 above).
        batching: Merge concurrent embedding requests into one model run.
        batch_wait_ms: With batching, how long a batch waits for more requests (0: it takes
            only what is queued already).

    Raises:
        ConfigError: No model to serve, or a limit below 1.
    """
    if not embedders and not rerankers:
        raise ConfigError("Nothing to serve: pass at least one embedder or reranker.")
    if max_batch < 1 or max_body_bytes < 1 or batch_wait_ms < 0:
        raise ConfigError(
            f"max_batch and max_body_bytes must be >= 1 and batch_wait_ms >= 0, got "
            f"{max_batch}, {max_body_bytes} and {batch_wait_ms}."
        )
    state = _State(
        {name: ServedEmbedder(name, e) for name, e in embedders.items()},
        {name: ServedReranker(name, r) for name, r in (rerankers or {}).items()},
        api_key, max_batch, max_body_bytes, batching, batch_wait_ms / 1000,
    )  # fmt: skip

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await state.aclose()

    routes = [
        Route("/health", _health, methods=["GET"]),
        Route("/v1/models", state.models, methods=["GET"]),
        Route("/v1/embeddings", state.embeddings, methods=["POST"]),
        Route("/v1/rerank", state.rerank, methods=["POST"]),
    ]
    handlers = {HTTPException: _http_error, APIError: _api_error, Exception: _server_error}
    return Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)


class _State:
    def __init__(
        self,
        embedders: dict[str, ServedEmbedder],
        rerankers: dict[str, ServedReranker],
        api_key: str | None,
        max_batch: int,
        max_body_bytes: int,
        batching: bool,
        wait_s: float,
    ) -> None:
        self.embedders, self.rerankers = embedders, rerankers
        self.api_key, self.max_batch, self.max_body_bytes = api_key, max_batch, max_body_bytes
        self.batching, self.wait_s = batching, wait_s
        self.batchers: dict[str, MicroBatcher] = {}

    async def aclose(self) -> None:
        for batcher in self.batchers.values():
            await batcher.aclose()
        self.batchers.clear()

    async def models(self, request: Request) -> Response:
        self._authorize(request)
        cards = [m.card() for m in self.embedders.values()]
        cards += [m.card() for m in self.rerankers.values()]
        return JSONResponse({"object": "list", "data": cards})

    async def embeddings(self, request: Request) -> Response:
        self._authorize(request)
        body: EmbeddingRequest = parse(EmbeddingRequest, await self._json(request))
        served = self._pick(self.embedders, body.model, "embedding")
        self._check_batch(len(body.input), "input")
        served.check_dimensions(body.dimensions)
        prompt = served.prompt(body.input_type)
        texts = [prompt + t for t in body.input] if prompt else body.input
        vectors, tokens = await self._embed(served, texts)
        vectors = served.shorten(vectors, body.dimensions)
        data = [
            {"object": "embedding", "index": i, "embedding": _encode(v, body.encoding_format)}
            for i, v in enumerate(vectors)
        ]
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return JSONResponse({"object": "list", "data": data, "model": served.name, "usage": usage})

    async def rerank(self, request: Request) -> Response:
        self._authorize(request)
        body: RerankRequest = parse(RerankRequest, await self._json(request))
        served = self._pick(self.rerankers, body.model, "rerank")
        self._check_batch(len(body.documents), "documents")
        try:
            scores, tokens = await run_in_threadpool(served.run, body.query, body.documents)
        except InputError as exc:
            raise APIError(400, str(exc), code="invalid_value") from None
        order = sorted(range(len(scores)), key=lambda i: -scores[i])[: body.top_n]
        results: list[dict[str, Any]] = []
        for i in order:
            result: dict[str, Any] = {"index": i, "relevance_score": scores[i]}
            if body.return_documents:
                result["document"] = {"text": body.documents[i]}
            results.append(result)
        return JSONResponse(
            {
                "id": f"rerank-{uuid.uuid4().hex}",
                "model": served.name,
                "results": results,
                "usage": {"total_tokens": tokens},
            }
        )

    async def _embed(self, served: ServedEmbedder, texts: list[str]) -> tuple[Matrix, int]:
        try:
            if not self.batching:
                return await run_in_threadpool(served.run, texts)
            batcher = self.batchers.get(served.name)
            if batcher is None:
                batcher = MicroBatcher(served.run, max_texts=self.max_batch, wait_s=self.wait_s)
                self.batchers[served.name] = batcher
            return await batcher.submit(texts)
        except InputError as exc:
            raise APIError(400, str(exc), param="input", code="invalid_value") from None

    def _authorize(self, request: Request) -> None:
        if self.api_key is None:
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), self.api_key.encode()
        ):
            raise APIError(
                401,
                "Missing or incorrect API key: send 'Authorization: Bearer <key>' with the key "
                "the server was started with (--api-key or RAGKIT_SERVE_API_KEY).",
                code="invalid_api_key",
            )

    async def _json(self, request: Request) -> Any:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise self._too_large()
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise self._too_large()
            chunks.append(chunk)
        try:
            return json.loads(b"".join(chunks))
        except (ValueError, UnicodeDecodeError) as exc:
            raise APIError(
                400, f"The request body is not valid JSON ({exc}).", code="invalid_json"
            ) from None

    def _too_large(self) -> APIError:
        return APIError(
            413,
            f"The request body is over the server's limit of {self.max_body_bytes} bytes: send "
            "fewer or shorter inputs per request (or start the server with a larger "
            "--max-body-bytes).",
            code="request_too_large",
        )

    def _check_batch(self, count: int, param: str) -> None:
        if count > self.max_batch:
            raise APIError(
                400,
                f"'{param}' has {count} items, over the server's limit of {self.max_batch} per "
                "request: split it into smaller requests.",
                param=param,
                code="batch_too_large",
            )

    def _pick(self, models: Mapping[str, Any], name: str, kind: str) -> Any:
        if name in models:
            return models[name]
        known = ", ".join(sorted(models)) or "none"
        raise APIError(
            404,
            f"The model '{name}' is not served here for {kind}; served {kind} models: {known} "
            "(GET /v1/models lists them).",
            param="model",
            code="model_not_found",
        )


async def _health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def _encode(vector: Matrix, encoding_format: str) -> Any:
    if encoding_format == "base64":
        return base64.b64encode(np.ascontiguousarray(vector, dtype="<f4").tobytes()).decode()
    return vector.tolist()


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, APIError)
    if exc.status >= 500:
        logger.error("%s %s failed: %s", request.method, request.url.path, exc.message)
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {
        404: f"No such endpoint: {request.method} {request.url.path}. The server has POST "
        "/v1/embeddings, POST /v1/rerank, GET /v1/models and GET /health.",
        405: f"{request.method} is not allowed on {request.url.path}.",
    }
    message = messages.get(exc.status_code, str(exc.detail))
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
    return error_response(APIError(exc.status_code, message, code=code))


async def _server_error(request: Request, exc: Exception) -> Response:
    logger.exception("%s %s failed", request.method, request.url.path)
    return error_response(
        APIError(500, f"The server failed: {type(exc).__name__}: {exc}", code="server_error")
    )
