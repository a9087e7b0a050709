from __future__ import annotations

import asyncio
import logging

import numpy as np
import pytest

from ragkit import ChromaStore, ConfigError, Embedder, InputError, ServiceError
from ragkit.embed.pooling import layer_norm
from ragkit.remote import OllamaEmbedder, OpenAIEmbedder, TEIEmbedder
from tests.remote.flaky_server import DIM, Fault, FlakyServer, unit, vector

TEXTS = ["binary codes", "chroma keeps the text", "a dog", "the cat", "hello world", "x", "y"]


def openai(
    server: FlakyServer, model: str = "intfloat/e5-small-v2", **kwargs: object
) -> OpenAIEmbedder:
    if "dimensions" not in kwargs:
        kwargs.setdefault("dim", DIM)  # the fake server's width, not the catalogue's 384
    return OpenAIEmbedder(model, base_url=server.url + "/v1", **kwargs)  # type: ignore[arg-type]


def test_openai_applies_the_catalogue_prompts_and_normalises(server: FlakyServer) -> None:
    embedder = openai(server)
    docs = embedder.embed_documents(TEXTS[:2])
    query = embedder.embed_query("what do binary codes save?")
    assert docs.dtype == np.float32 and docs.shape == (2, DIM)
    np.testing.assert_allclose(docs, [unit("passage: " + t) for t in TEXTS[:2]], rtol=1e-5)
    np.testing.assert_allclose(query, unit("query: what do binary codes save?"), rtol=1e-5)
    bodies = [r.body for r in server.requests("/v1/embeddings")]
    assert bodies[0] == {
        "model": "intfloat/e5-small-v2",
        "input": ["passage: binary codes", "passage: chroma keeps the text"],
        "encoding_format": "float",
    }
    assert bodies[1]["input"] == ["query: what do binary codes save?"]
    assert isinstance(embedder, Embedder)


def test_prompts_can_be_replaced_and_unknown_models_get_none(server: FlakyServer) -> None:
    embedder = openai(server, "my-model", query_prompt="Q: ")
    embedder.embed_query(["a"])
    embedder.embed_documents(["b"])
    assert [r.body["input"] for r in server.requests()] == [["Q: a"], ["b"]]
    with pytest.raises(ConfigError, match="no prompt named 'clustering'"):
        embedder.embed_documents(["b"], prompt_name="clustering")


def test_dimensions_are_sent_and_base64_is_decoded(server: FlakyServer) -> None:
    embedder = openai(server, dimensions=5, extra_body={"encoding_format": "base64"})
    out = embedder.embed_documents(["a", "b", "c"])
    np.testing.assert_allclose(out, [unit("passage: " + t, 5) for t in "abc"], rtol=1e-5)
    body = server.requests()[0].body
    assert body["dimensions"] == 5 and body["encoding_format"] == "base64"
    assert embedder.dim == 5
    with pytest.raises(ConfigError, match="more than intfloat/e5-small-v2's 384"):
        openai(server, dimensions=385)


def test_batches_stay_within_count_and_character_limits(server: FlakyServer) -> None:
    embedder = openai(server, "m", batch_size=3)
    out = embedder.embed_documents(TEXTS)
    assert [len(r.body["input"]) for r in server.requests()] == [3, 3, 1]
    np.testing.assert_allclose(out, [unit(t) for t in TEXTS], rtol=1e-5)
    server.recorded.clear()
    openai(server, "m", max_batch_chars=10).embed_documents(["12345", "12345", "1"])
    assert [r.body["input"] for r in server.requests()] == [["12345", "12345"], ["1"]]


def test_dim_is_learnt_from_the_first_answer(server: FlakyServer) -> None:
    embedder = OpenAIEmbedder("m", base_url=server.url + "/v1")
    assert embedder.dim == DIM
    assert len(server.requests()) == 1
    assert embedder.fingerprint() == {
        "remote": "OpenAI-compatible", "model": "m", "dim": DIM, "normalize": True,
        "query_prompt": "", "document_prompt": "",
    }  # fmt: skip
    assert embedder.embed_documents([]).shape == (0, DIM)
    assert len(server.requests()) == 1
    assert OpenAIEmbedder("intfloat/e5-small-v2", base_url=server.url).dim == 384  # no request
    assert len(server.requests()) == 1


def test_ollama_finds_prompts_without_the_tag(server: FlakyServer) -> None:
    embedder = OllamaEmbedder("nomic-embed-text:latest", base_url=server.url, dimensions=4)
    out = embedder.embed_query("cats")
    assert server.requests()[0].path == "/api/embed"
    assert server.requests()[0].body == {
        "model": "nomic-embed-text:latest",
        "input": ["search_query: cats"],
    }
    # nomic's Matryoshka recipe: layer norm, then cut, then renormalise (as TextEmbedder does)
    expected = layer_norm(vector("search_query: cats")[None])[0, :4]
    np.testing.assert_allclose(out, expected / np.linalg.norm(expected), rtol=1e-5)
    assert not np.allclose(out, unit("search_query: cats", 4), atol=1e-3)  # not a plain cut


def test_ollama_host_without_a_scheme(monkeypatch: pytest.MonkeyPatch, server: FlakyServer) -> None:
    monkeypatch.setenv("OLLAMA_HOST", server.url.removeprefix("http://"))
    assert OllamaEmbedder("m").embed_documents(["a"]).shape == (1, DIM)


def test_tei_sends_inputs_and_cuts_dimensions_here(server: FlakyServer) -> None:
    embedder = TEIEmbedder("BAAI/bge-small-en-v1.5", base_url=server.url, dimensions=6)
    out = embedder.embed_documents(["a", "b"])
    assert server.requests()[0].body == {"inputs": ["a", "b"], "normalize": True}
    np.testing.assert_allclose(out, [unit("a", 6), unit("b", 6)], rtol=1e-5)
    query = embedder.embed_query("q")  # bge's query instruction
    assert server.requests()[1].body["inputs"][0].endswith(": q")
    assert query.shape == (6,)


def test_bad_inputs_are_refused_before_any_request(server: FlakyServer) -> None:
    embedder = openai(server, "m")
    with pytest.raises(InputError, match="single str"):
        embedder.embed_documents("one string")  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"texts\[1\] is int"):
        embedder.embed_documents(["a", 1])  # type: ignore[list-item]
    assert server.requests() == []
    with pytest.raises(ConfigError, match="batch_size"):
        openai(server, "m", batch_size=0)
    with pytest.raises(ConfigError, match="http"):
        OpenAIEmbedder("m", base_url="ftp://example.com")


def test_wrong_answers_are_service_errors(server: FlakyServer) -> None:
    embedder = openai(server, "m")
    server.queue(Fault(body=b'{"data": []}'))
    with pytest.raises(ServiceError, match="answered 0 vectors"):
        embedder.embed_documents(["a"])
    server.queue(Fault(body=b'{"nothing": 1}'))
    with pytest.raises(ServiceError, match="without the embeddings expected"):
        embedder.embed_documents(["a"])
    embedder.embed_documents(["a"])
    server.queue(Fault(body=b'{"data": [{"index": 0, "embedding": [1, 2]}]}'))
    with pytest.raises(ServiceError, match="2-d vectors, but m gives 12-d ones"):
        embedder.embed_documents(["a"])


def test_api_key_from_the_environment_is_sent_and_never_shown(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, sleeps: list[float]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-123")
    with FlakyServer(api_key="sk-secret-123") as server:
        embedder = openai(server, "m")
        embedder.embed_documents(["a"])
        assert server.requests()[0].headers["Authorization"] == "Bearer sk-secret-123"
        assert "sk-secret" not in repr(embedder) and "sk-secret" not in repr(embedder._service)
    monkeypatch.setenv("RAGKIT_REMOTE_API_KEY", "sk-wrong-456")
    caplog.set_level(logging.DEBUG)
    with FlakyServer(api_key="sk-secret-123") as server:
        server.queue(Fault(status=503))
        with pytest.raises(Exception) as info:
            openai(server, "m").embed_documents(["a"])
    assert "RAGKIT_REMOTE_API_KEY" in str(info.value)
    assert "sk-wrong-456" not in str(info.value) and "sk-wrong-456" not in caplog.text
    assert "***" in str(info.value)  # the server echoed the key; it is scrubbed


def test_async_methods_match_the_sync_ones_with_bounded_concurrency(server: FlakyServer) -> None:
    server.delay = 0.05
    embedder = openai(server, batch_size=1, max_concurrency=2)
    texts = [f"text {i}" for i in range(8)]
    docs = asyncio.run(embedder.aembed_documents(texts))
    query = asyncio.run(embedder.aembed_query("q"))
    np.testing.assert_allclose(docs, [unit("passage: " + t) for t in texts], rtol=1e-5)
    np.testing.assert_allclose(query, unit("query: q"), rtol=1e-5)
    assert server.max_in_flight == 2


def test_it_plugs_into_chroma_store(server: FlakyServer) -> None:
    embedder = openai(server, "m")
    with ChromaStore("remote", embedder=embedder) as store:
        store.add(ids=["a", "b"], documents=["the cat", "a dog"])
        hits = store.query("the cat", k=1)
    assert hits[0].id == "a"
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
