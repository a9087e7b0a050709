from __future__ import annotations

import asyncio

import numpy as np
import pytest

from ragkit import InputError, Passage, ServiceError
from ragkit.remote import RemoteReranker, TEIReranker
from tests.remote.flaky_server import Fault, FlakyServer, overlap

QUERY = "the cat sat"
DOCS = ["a dog", "the cat and a dog", "cat sat on the mat", "hello", "the cat sat"]


def passage(i: int, text: str) -> Passage:
    return Passage(
        id=str(i), score=0.0, text=text, source="s", start=0, end=len(text), position=i,
        heading_path=(), title=None, metadata={}, context=text, context_start=0,
        context_end=len(text), scores={"cosine": 0.5},
    )  # fmt: skip


@pytest.mark.parametrize("kind", ["cohere", "tei"])
def test_scores_merge_across_batches_in_input_order(server: FlakyServer, kind: str) -> None:
    if kind == "cohere":
        reranker: RemoteReranker | TEIReranker = RemoteReranker(
            "rr", base_url=server.url + "/v1", batch_size=2
        )
        path = "/v1/rerank"
    else:
        reranker = TEIReranker(base_url=server.url, batch_size=2)
        path = "/rerank"
    scores = reranker.score(QUERY, DOCS)
    np.testing.assert_allclose(scores, [overlap(QUERY, d) for d in DOCS], rtol=1e-6)
    sent = [r.body.get("documents") or r.body["texts"] for r in server.requests(path)]
    assert [len(batch) for batch in sent] == [2, 2, 1]
    ranked = reranker.rerank(QUERY, [passage(i, d) for i, d in enumerate(DOCS)], top_k=2)
    assert [p.text for p in ranked] == ["the cat sat", "cat sat on the mat"]
    assert ranked[0].scores == {"cosine": 0.5, "rerank": 1.0}
    again = asyncio.run(reranker.arerank(QUERY, [passage(i, d) for i, d in enumerate(DOCS)]))
    assert [p.id for p in again] == [
        p.id for p in reranker.rerank(QUERY, [passage(i, d) for i, d in enumerate(DOCS)])
    ]
    reranker.close()


def test_cohere_body(server: FlakyServer) -> None:
    RemoteReranker("rr", base_url=server.url + "/v1").score(QUERY, ["a", "b"])
    assert server.requests()[0].body == {
        "model": "rr", "query": QUERY, "documents": ["a", "b"], "top_n": 2,
        "return_documents": False,
    }  # fmt: skip


def test_missing_scores_and_bad_inputs(server: FlakyServer, sleeps: list[float]) -> None:
    reranker = RemoteReranker("rr", base_url=server.url + "/v1")
    server.queue(Fault(body=b'{"results": [{"index": 0, "relevance_score": 0.5}]}'))
    with pytest.raises(ServiceError, match="scored 1 of the 2 passages"):
        reranker.score(QUERY, ["a", "b"])
    server.queue(Fault(status=503))
    assert reranker.score(QUERY, ["a"]).shape == (1,)
    with pytest.raises(InputError, match="query is empty"):
        reranker.score(" ", ["a"])
    with pytest.raises(InputError, match="Passage 1 is int"):
        reranker.score(QUERY, ["a", 3])  # type: ignore[list-item]
    with pytest.raises(InputError, match="takes Passage objects"):
        reranker.rerank(QUERY, ["a"])  # type: ignore[list-item]
    assert reranker.score(QUERY, []).shape == (0,)
