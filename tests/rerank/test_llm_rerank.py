"""LLMReranker against a fake OpenAI-compatible chat endpoint on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import Iterator

import httpx
import pytest

from ragkit.errors import (
    ConfigError,
    InputError,
    ServiceAuthError,
    ServiceError,
    ServiceNotFoundError,
)
from ragkit.rerank import _llm_http
from ragkit.rerank._llm_prompt import window_spans
from ragkit.rerank.llm import LLMReranker
from ragkit.retrieval import Passage
from tests.rerank.fake_chat_server import FakeChatServer, Reply, running_chat_server

KEY = "sk-test-5ecret-key-0123456789"


@pytest.fixture
def server() -> Iterator[FakeChatServer]:
    with running_chat_server() as chat:
        yield chat


@pytest.fixture(autouse=True)
def no_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Backoff waits asked for (blocking and asyncio), recorded instead of slept."""
    waits: list[float] = []

    async def asleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(_llm_http, "_sleep", waits.append)
    monkeypatch.setattr(_llm_http, "_asleep", asleep)
    return waits


def passages(*texts: str) -> list[Passage]:
    return [
        Passage(
            id=f"p{i}",
            score=0.9 - i / 100,
            text=text,
            source=f"doc{i}.md",
            start=0,
            end=len(text),
            position=0,
            heading_path=("Intro",),
            title=None,
            metadata={"lang": "en"},
            context=text,
            context_start=0,
            context_end=len(text),
            scores={"cosine": 0.9 - i / 100},
        )
        for i, text in enumerate(texts)
    ]


def apples(counts: list[int], filler: int = 0) -> list[Passage]:
    """Passage i mentions "apple" counts[i] times (the fake model ranks by that count)."""
    return passages(*(f"{'apple ' * c}pear {'filler ' * filler}".strip() for c in counts))


def reranker(server: FakeChatServer, **options: object) -> LLMReranker:
    return LLMReranker("fake-model", base_url=server.base_url, **options)  # type: ignore[arg-type]


def ids(ranked: list[Passage]) -> list[str]:
    return [p.id for p in ranked]


# -- ranking ----------------------------------------------------------------------------


def test_passages_come_back_in_the_models_order_scored_by_rank(server: FakeChatServer) -> None:
    given = apples([1, 3, 0, 2])
    ranked = reranker(server).rerank("apple", given)
    assert ids(ranked) == ["p1", "p3", "p0", "p2"]
    assert [p.score for p in ranked] == [1.0, 1 / 2, 1 / 3, 1 / 4]
    assert ranked[0].scores == {"cosine": given[1].score, "rerank": 1.0}
    assert ranked[0].text == given[1].text and ranked[0].metadata == {"lang": "en"}


def test_a_list_that_fits_the_context_is_ranked_in_one_call(server: FakeChatServer) -> None:
    ranked = reranker(server, window=20, step=10).rerank("apple", apples(list(range(30))))
    assert len(server.requests) == 1 and len(server.requests[0].numbered) == 30
    assert ids(ranked) == [f"p{i}" for i in reversed(range(30))]


def test_a_list_too_long_for_the_context_is_ranked_in_windows_back_to_front(
    server: FakeChatServer,
) -> None:
    counts = [(7 * i) % 30 for i in range(30)]  # a shuffle of 0..29
    given = apples(counts, filler=20)
    ranked = reranker(server, context_tokens=1200, window=20, step=10).rerank("apple", given)
    spans = window_spans(30, 20, 10)
    assert len(server.requests) == len(spans) == 2
    first = server.requests[0].numbered  # the back of the list goes first, cut to fit
    assert len(first) == 20 and all(
        p.text.startswith(t) for t, p in zip(first, given[10:], strict=True)
    )
    assert sum(len(t) for t in first) < 4 * 1200
    best = sorted(range(30), key=lambda i: -counts[i])[:10]
    assert ids(ranked)[:10] == [f"p{i}" for i in best]  # the top `step` are exact
    assert sorted(ids(ranked)) == sorted(ids(given))


def test_the_best_passage_bubbles_up_from_the_end_of_the_list(server: FakeChatServer) -> None:
    given = apples([0] * 44 + [5], filler=20)
    ranked = reranker(server, context_tokens=1200, window=10, step=5).rerank("apple", given)
    assert ranked[0].id == "p44" and len(server.requests) == len(window_spans(45, 10, 5))


def test_each_passage_is_cut_to_max_passage_tokens(server: FakeChatServer) -> None:
    reranker(server, max_passage_tokens=20).rerank("apple", apples([1, 2], filler=500))
    assert all(len(text) <= 80 for text in server.requests[0].numbered)


def test_the_given_token_counter_decides_whether_the_list_fits(server: FakeChatServer) -> None:
    given = apples([1] * 30, filler=40)  # ~300 characters each
    reranker(server).rerank("apple", given)  # ~75 tokens each at 4 characters a token
    assert len(server.requests) == 1
    reranker(server, count_tokens=len).rerank("apple", given)  # one token per character
    assert len(server.requests) == 1 + len(window_spans(30, 20, 10))


def test_a_query_too_long_for_the_context_is_an_input_error(server: FakeChatServer) -> None:
    with pytest.raises(InputError, match="context_tokens"):
        reranker(server, context_tokens=300).rerank("apple " * 200, apples([1, 2, 3]))
    assert server.requests == []


def test_empty_and_single_passage_lists_make_no_call(server: FakeChatServer) -> None:
    assert reranker(server).rerank("apple", []) == []
    (only,) = reranker(server).rerank("apple", apples([1]))
    assert only.score == 1.0 and only.scores["rerank"] == 1.0
    assert server.requests == []


def test_an_empty_query_is_an_input_error_before_any_call(server: FakeChatServer) -> None:
    with pytest.raises(InputError, match="query is empty"):
        reranker(server).rerank("  ", apples([1, 2]))
    assert server.requests == []


def test_a_malformed_permutation_is_repaired_and_keeps_every_passage(
    server: FakeChatServer,
) -> None:
    server.queue(Reply(content="[3] > [3] > [9] > [0] > [1]"))
    ranked = reranker(server).rerank("apple", apples([0, 0, 0, 0]))
    assert ids(ranked) == ["p2", "p0", "p1", "p3"]


def test_an_unparseable_answer_keeps_the_original_order_and_warns(
    server: FakeChatServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.queue(Reply(content="Sorry, I can't rank these."))
    with caplog.at_level(logging.WARNING, logger="ragkit"):
        ranked = reranker(server).rerank("apple", apples([0, 5, 9]))
    assert ids(ranked) == ["p0", "p1", "p2"] and "no ranking" in caplog.text


def test_the_request_is_a_deterministic_chat_completion(server: FakeChatServer) -> None:
    reranker(server).rerank("apple", apples([1, 2]))
    (request,) = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == "fake-model" and request.body["temperature"] == 0
    assert request.body["stream"] is False and request.body["max_tokens"] > 0
    assert "Search query: apple" in request.prompt


def test_extra_body_adds_fields_and_none_removes_defaults(server: FakeChatServer) -> None:
    reranker(server, extra_body={"top_p": 0.5, "max_tokens": None}).rerank("a", apples([1, 2]))
    body = server.requests[0].body
    assert body["top_p"] == 0.5 and "max_tokens" not in body


# -- keys and configuration -------------------------------------------------------------


def test_the_api_key_comes_from_ragkit_then_openai_variables(
    server: FakeChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    reranker(server).rerank("apple", apples([1, 2]))
    monkeypatch.setenv("OPENAI_API_KEY", "openai-key")
    reranker(server).rerank("apple", apples([1, 2]))
    monkeypatch.setenv("RAGKIT_LLM_API_KEY", "ragkit-key")
    reranker(server).rerank("apple", apples([1, 2]))
    reranker(server, api_key="given-key").rerank("apple", apples([1, 2]))
    sent = [r.headers.get("authorization") for r in server.requests]
    assert sent == [None, "Bearer openai-key", "Bearer ragkit-key", "Bearer given-key"]


def test_the_base_url_comes_from_the_environment_when_not_given(
    server: FakeChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert LLMReranker("m").base_url == "http://localhost:11434/v1"
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("RAGKIT_LLM_BASE_URL", server.base_url + "/")
    LLMReranker("fake-model").rerank("apple", apples([1, 2]))
    assert len(server.requests) == 1


def test_the_api_key_is_never_logged_or_shown(
    server: FakeChatServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.queue(Reply(status=500))
    ranker = reranker(server, api_key=KEY)
    with caplog.at_level(logging.DEBUG):
        ranker.rerank("apple", apples([1, 2]))
    assert len(server.requests) == 2 and "retry 1 of 3" in caplog.text
    assert KEY not in caplog.text and KEY not in repr(ranker)


@pytest.mark.parametrize(
    "options",
    [
        {"window": 1},
        {"step": 20},
        {"step": 0},
        {"context_tokens": 0},
        {"max_passage_tokens": 0},
        {"retries": -1},
        {"timeout": 0},
        {"temperature": -0.1},
        {"base_url": "ftp://example.org/v1"},
        {"base_url": "localhost:11434"},
    ],
)
def test_bad_options_are_config_errors(options: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        LLMReranker("m", **options)  # type: ignore[arg-type]


def test_an_empty_model_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="model"):
        LLMReranker(" ")


# -- failures -----------------------------------------------------------------------------


def test_429_waits_as_long_as_retry_after_says_then_succeeds(
    server: FakeChatServer, sleeps: list[float]
) -> None:
    server.queue(Reply(status=429, headers={"Retry-After": "7"}))
    ranked = reranker(server).rerank("apple", apples([1, 2]))
    assert ids(ranked) == ["p1", "p0"] and sleeps == [7.0] and len(server.requests) == 2


def test_a_5xx_is_retried_with_jittered_exponential_backoff(
    server: FakeChatServer, sleeps: list[float]
) -> None:
    server.queue(Reply(status=500), Reply(status=503), Reply(status=502))
    ranked = reranker(server).rerank("apple", apples([1, 2]))
    assert ids(ranked) == ["p1", "p0"] and len(server.requests) == 4
    assert [0.5 <= s <= 1.0 for s in sleeps[:1]] == [True]
    assert 1.0 <= sleeps[1] <= 2.0 and 2.0 <= sleeps[2] <= 4.0


def test_failures_past_the_retries_raise_a_service_error_naming_the_url(
    server: FakeChatServer,
) -> None:
    server.queue(*[Reply(status=500)] * 3)
    with pytest.raises(ServiceError, match="after 3 attempts: HTTP 500") as info:
        reranker(server, retries=2).rerank("apple", apples([1, 2]))
    assert server.base_url in str(info.value) and len(server.requests) == 3


def test_401_is_an_auth_error_naming_the_variable_and_is_not_retried(
    server: FakeChatServer,
) -> None:
    server.api_key = "the-right-key"
    with pytest.raises(ServiceAuthError, match="RAGKIT_LLM_API_KEY") as info:
        reranker(server).rerank("apple", apples([1, 2]))
    assert "HTTP 401" in str(info.value) and len(server.requests) == 1


def test_an_auth_error_never_repeats_the_key_even_when_the_server_echoes_it(
    server: FakeChatServer,
) -> None:
    server.api_key = "the-right-key"
    with pytest.raises(ServiceAuthError, match="api_key passed") as info:
        reranker(server, api_key=KEY).rerank("apple", apples([1, 2]))
    assert "Incorrect API key" in str(info.value) and KEY not in str(info.value)


def test_403_is_an_auth_error(server: FakeChatServer) -> None:
    server.queue(Reply(status=403))
    with pytest.raises(ServiceAuthError, match="HTTP 403"):
        reranker(server).rerank("apple", apples([1, 2]))


def test_an_unknown_model_is_a_not_found_error(server: FakeChatServer) -> None:
    server.models = {"fake-model"}
    with pytest.raises(ServiceNotFoundError, match="model 'llama9' not found") as info:
        LLMReranker("llama9", base_url=server.base_url).rerank("apple", apples([1, 2]))
    assert isinstance(info.value, LookupError) and "ollama pull" in str(info.value)


def test_a_base_url_without_the_api_path_is_a_not_found_error(server: FakeChatServer) -> None:
    root = server.base_url.removesuffix("/v1")
    with pytest.raises(ServiceNotFoundError, match="/v1"):
        LLMReranker("fake-model", base_url=root).rerank("apple", apples([1, 2]))


def test_another_client_error_is_a_service_error_without_retries(server: FakeChatServer) -> None:
    server.queue(Reply(status=400))
    with pytest.raises(ServiceError, match="HTTP 400: scripted HTTP 400"):
        reranker(server).rerank("apple", apples([1, 2]))
    assert len(server.requests) == 1


def test_a_hanging_server_times_out_and_fails_clearly_after_the_retries(
    server: FakeChatServer,
) -> None:
    server.queue(Reply(hang=True), Reply(hang=True))
    with pytest.raises(ServiceError, match="after 2 attempts: ReadTimeout") as info:
        reranker(server, timeout=0.3, retries=1).rerank("apple", apples([1, 2]))
    assert server.base_url in str(info.value)


def test_a_refused_connection_fails_clearly_after_the_retries(sleeps: list[float]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: nothing listens there
    url = f"http://127.0.0.1:{port}/v1"
    with pytest.raises(ServiceError, match="ConnectError") as info:
        LLMReranker("m", base_url=url, retries=2).rerank("apple", apples([1, 2]))
    assert url in str(info.value) and "ollama serve" in str(info.value) and len(sleeps) == 2


@pytest.mark.parametrize(
    "body",
    [
        b"<html>not json",
        b'{"choices": []}',
        b'{"object": "chat.completion"}',
        json.dumps({"choices": [{"message": {"role": "assistant", "content": None}}]}).encode(),
    ],
)
def test_an_answer_without_a_message_is_a_clear_error(server: FakeChatServer, body: bytes) -> None:
    server.queue(Reply(body=body))
    with pytest.raises(ServiceError, match="without a chat message"):
        reranker(server).rerank("apple", apples([1, 2]))


# -- clients and asyncio ------------------------------------------------------------------


def test_a_given_client_is_used_and_left_open(server: FakeChatServer) -> None:
    with httpx.Client() as client:
        ranker = reranker(server, client=client)
        ranker.rerank("apple", apples([1, 2]))
        ranker.rerank("apple", apples([2, 1]))
        assert not client.is_closed and len(server.requests) == 2


def test_arerank_ranks_like_rerank_in_windows(server: FakeChatServer) -> None:
    counts = [(7 * i) % 30 for i in range(30)]
    ranker = reranker(server, context_tokens=1200)
    expected = ranker.rerank("apple", apples(counts, filler=20))
    ranked = asyncio.run(ranker.arerank("apple", apples(counts, filler=20)))
    assert ranked == expected and len(server.requests) == 4


def test_arerank_retries_and_uses_a_given_async_client(
    server: FakeChatServer, sleeps: list[float]
) -> None:
    server.queue(Reply(status=429, headers={"Retry-After": "2"}))

    async def scenario() -> tuple[list[Passage], bool]:
        async with httpx.AsyncClient() as client:
            ranked = await reranker(server, async_client=client).arerank("apple", apples([1, 2]))
            return ranked, client.is_closed

    ranked, closed = asyncio.run(scenario())
    assert ids(ranked) == ["p1", "p0"] and not closed and sleeps == [2.0]


def test_arerank_raises_the_same_errors(server: FakeChatServer) -> None:
    server.api_key = "the-right-key"
    with pytest.raises(ServiceAuthError):
        asyncio.run(reranker(server).arerank("apple", apples([1, 2])))
    with pytest.raises(InputError):
        asyncio.run(reranker(server).arerank("", apples([1, 2])))
    assert asyncio.run(reranker(server).arerank("apple", [])) == []
