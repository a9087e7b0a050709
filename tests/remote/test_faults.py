"""Fault injection: the remote embedders against a flaky local server."""

from __future__ import annotations

import asyncio
import email.utils
import time

import numpy as np
import pytest

from ragkit import ServiceAuthError, ServiceError, ServiceNotFoundError
from ragkit.remote import OpenAIEmbedder, RemoteReranker, TEIEmbedder, TEIReranker
from tests.remote.flaky_server import Fault, FlakyServer, unit


def embedder(server: FlakyServer, **kwargs: object) -> OpenAIEmbedder:
    return OpenAIEmbedder("m", base_url=server.url + "/v1", **kwargs)  # type: ignore[arg-type]


def check(out: np.ndarray) -> None:
    np.testing.assert_allclose(out, [unit("a"), unit("b")], rtol=1e-5)


def test_429_honours_retry_after(server: FlakyServer, sleeps: list[float]) -> None:
    server.queue(Fault(status=429, headers={"Retry-After": "2"}))
    check(embedder(server).embed_documents(["a", "b"]))
    assert sleeps == [2.0]
    assert len(server.requests()) == 2


def test_503s_back_off_exponentially_with_jitter(server: FlakyServer, sleeps: list[float]) -> None:
    server.queue(*[Fault(status=503)] * 3)
    check(embedder(server, retries=3).embed_documents(["a", "b"]))
    assert len(sleeps) == 3
    for attempt, wait in enumerate(sleeps, start=1):
        assert 2 ** (attempt - 1) / 2 <= wait <= 2 ** (attempt - 1)


def test_retries_run_out_with_a_clear_error(server: FlakyServer, sleeps: list[float]) -> None:
    server.queue(*[Fault(status=502)] * 5)
    with pytest.raises(ServiceError, match=r"after 3 attempts: HTTP 502 fault 502\. Check that"):
        embedder(server, retries=2).embed_documents(["a"])
    assert len(server.requests()) == 3


def test_a_slow_answer_times_out_and_is_retried(server: FlakyServer, sleeps: list[float]) -> None:
    server.queue(Fault(delay=1.0))
    check(embedder(server, timeout=0.2).embed_documents(["a", "b"]))
    assert len(server.requests()) == 2 and len(sleeps) == 1
    server.queue(Fault(delay=1.0), Fault(delay=1.0))
    with pytest.raises(ServiceError, match="ReadTimeout"):
        embedder(server, timeout=0.2, retries=1).embed_documents(["a"])


def test_a_dropped_connection_is_retried(server: FlakyServer, sleeps: list[float]) -> None:
    server.queue(Fault(drop=True))
    check(embedder(server).embed_documents(["a", "b"]))
    assert len(sleeps) == 1


def test_malformed_json_is_retried_then_reported(server: FlakyServer, sleeps: list[float]) -> None:
    server.queue(Fault(body=b'{"data": [{"ind'))
    check(embedder(server).embed_documents(["a", "b"]))
    server.queue(*[Fault(body=b"<html>gateway</html>")] * 2)
    with pytest.raises(ServiceError, match="not JSON: '<html>gateway</html>'"):
        embedder(server, retries=1).embed_documents(["a"])


def test_client_errors_are_not_retried(server: FlakyServer, sleeps: list[float]) -> None:
    server.queue(Fault(status=400))
    with pytest.raises(ServiceError, match="answered HTTP 400: fault 400"):
        embedder(server).embed_documents(["a"])
    server.queue(Fault(status=413))
    with pytest.raises(ServiceError, match="Lower batch_size"):
        embedder(server).embed_documents(["a"])
    server.queue(Fault(status=404))
    with pytest.raises(ServiceNotFoundError, match="Check the model name"):
        embedder(server).embed_documents(["a"])
    server.queue(Fault(status=403))
    with pytest.raises(ServiceAuthError, match="No API key was sent"):
        embedder(server).embed_documents(["a"])
    assert sleeps == [] and len(server.requests()) == 4


def test_nothing_listening(sleeps: list[float]) -> None:
    with FlakyServer() as gone:
        url = gone.url
    with pytest.raises(ServiceError, match="ConnectError"):
        TEIEmbedder("m", base_url=url, retries=1).embed_documents(["a"])
    assert len(sleeps) == 1


def test_async_retries_the_same_faults(server: FlakyServer, sleeps: list[float]) -> None:
    server.queue(
        Fault(status=429, headers={"Retry-After": "1"}), Fault(drop=True), Fault(body=b"{"),
    )  # fmt: skip
    out = asyncio.run(embedder(server).aembed_documents(["a", "b"]))
    check(out)
    assert len(sleeps) == 3 and sleeps[0] == 1.0


def test_async_failure_cancels_the_other_batches(server: FlakyServer, sleeps: list[float]) -> None:
    server.queue(Fault(status=401))
    with pytest.raises(ServiceAuthError):
        asyncio.run(
            embedder(server, batch_size=1, max_concurrency=1).aembed_documents(list("abcd"))
        )
    assert len(server.requests()) < 4


def test_retry_after_as_an_http_date_and_capped(server: FlakyServer, sleeps: list[float]) -> None:
    soon = email.utils.formatdate(time.time() + 30, usegmt=True)
    server.queue(
        Fault(status=503, headers={"Retry-After": soon}),
        Fault(status=429, headers={"Retry-After": "86400"}),  # a day: capped
    )  # fmt: skip
    check(embedder(server).embed_documents(["a", "b"]))
    assert 25 <= sleeps[0] <= 31 and sleeps[1] == 120.0


@pytest.mark.parametrize("kind", ["cohere", "tei"])
def test_rerankers_retry_the_same_faults(
    server: FlakyServer, sleeps: list[float], kind: str
) -> None:
    reranker = (
        RemoteReranker("r", base_url=server.url + "/v1", timeout=0.2, retries=4)
        if kind == "cohere"
        else TEIReranker(base_url=server.url, timeout=0.2, retries=4)
    )
    server.queue(
        Fault(status=429, headers={"Retry-After": "3"}), Fault(drop=True), Fault(delay=1.0),
        Fault(body=b"[{"),
    )  # fmt: skip
    scores = reranker.score("binary codes", ["binary codes here", "nothing"])
    assert scores.tolist() == pytest.approx([2 / 3, 0.0])
    assert len(sleeps) == 4 and sleeps[0] == 3.0
    server.queue(*[Fault(status=503)] * 5)
    with pytest.raises(ServiceError, match="rerank endpoint .* after 5 attempts: HTTP 503"):
        reranker.score("q", ["a"])
