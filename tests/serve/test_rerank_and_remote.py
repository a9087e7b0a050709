"""ragkit's own remote embedder and reranker against ragkit serve."""

from __future__ import annotations

import asyncio

import httpx
import numpy as np

from ragkit import CrossEncoderReranker, TextEmbedder
from ragkit.remote import OpenAIEmbedder, RemoteReranker
from tests.serve.conftest import KEY, NAME

TEXTS = ["binary codes take less memory", "the cat sat", "a dog", "hello world"] * 3


def remote(base_url: str, **kwargs: object) -> OpenAIEmbedder:
    kwargs.setdefault("dim", 32)  # the tiny model's width (e5's name, e5's prompts)
    return OpenAIEmbedder(NAME, base_url=base_url + "/v1", api_key=KEY, **kwargs)  # type: ignore[arg-type]


def test_remote_embedder_equals_the_local_one(base_url: str, embedder: TextEmbedder) -> None:
    client = remote(base_url, batch_size=5)  # three requests, each at most the server's 8
    np.testing.assert_allclose(
        client.embed_documents(TEXTS), embedder.embed_documents(TEXTS), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        client.embed_query("the cat"), embedder.embed_query("the cat"), rtol=1e-5, atol=1e-6
    )
    assert client.dim == embedder.dim == 32
    client.close()


def test_async_remote_embedder_and_matryoshka(base_url: str, embedder: TextEmbedder) -> None:
    client = remote(base_url, batch_size=2, max_concurrency=3, dimensions=16, dim=None)
    docs = asyncio.run(client.aembed_documents(TEXTS))
    full = embedder.embed_documents(TEXTS)[:, :16]
    np.testing.assert_allclose(
        docs, full / np.linalg.norm(full, axis=1, keepdims=True), rtol=1e-5, atol=1e-6
    )


def test_rerank_endpoint_equals_the_cross_encoder(
    base_url: str, cross_encoder: CrossEncoderReranker
) -> None:
    docs = ["the cat sat", "a dog", "hello world", "cat"]
    expected = cross_encoder.score("the cat", docs)
    scores = RemoteReranker("tiny-ce", base_url=base_url + "/v1", api_key=KEY, batch_size=3).score(
        "the cat", docs
    )
    np.testing.assert_allclose(scores, expected, rtol=1e-6)
    body = httpx.post(
        f"{base_url}/v1/rerank",
        json={"model": "tiny-ce", "query": "the cat", "documents": [{"text": d} for d in docs],
              "top_n": 2, "return_documents": True},
        headers={"Authorization": f"Bearer {KEY}"},
    ).json()  # fmt: skip
    best = np.argsort(-expected, kind="stable")[:2]
    assert [r["index"] for r in body["results"]] == list(best)
    assert body["results"][0]["document"] == {"text": docs[best[0]]}
    assert body["model"] == "tiny-ce" and body["usage"]["total_tokens"] > 0


def test_concurrent_requests_each_get_their_own_rows(base_url: str, embedder: TextEmbedder) -> None:
    client = remote(base_url, batch_size=1, max_concurrency=12)
    texts = [f"text number {i}" for i in range(24)]
    out = asyncio.run(client.aembed_documents(texts, prompt=""))
    np.testing.assert_allclose(
        out, embedder.embed_documents(texts, prompt=""), rtol=1e-5, atol=1e-6
    )
