"""LLMReranker: listwise reranking by a chat model behind an OpenAI-compatible endpoint.

RankGPT-style: the passages are numbered ``[1]..[n]`` in one prompt and the model answers with a
permutation such as ``[3] > [1] > [2]``. When the whole list fits the model's context, that is
one call; when it does not, windows of ``window`` passages slide from the back of the list to the
front by ``step``, so the best passages bubble up. Malformed answers are repaired (duplicates
kept at their first place, invented ids dropped, missing ids appended in their original order)
and an answer with no ranking at all keeps the original order, with a logged warning.

Any OpenAI-compatible server works: Ollama (the default ``http://localhost:11434/v1``),
llama.cpp's server, vLLM, LM Studio, OpenAI itself.

Usage::

    from ragkit.rerank.llm import LLMReranker

    reranker = LLMReranker("qwen2.5:7b-instruct")  # Ollama on this machine
    ranked = reranker.rerank("how do binary codes save memory?", passages)
    ranked[0].score  # 1.0: the score is 1 / (1 + rank)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Generator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager, nullcontext
from dataclasses import replace
from typing import Any

import httpx

from ragkit._download import USER_AGENT, _make_client, _make_timeout
from ragkit.errors import ConfigError, InputError
from ragkit.rerank._llm_http import ChatEndpoint, achat, chat, request_body
from ragkit.rerank._llm_prompt import (
    TokenCount,
    answer_tokens,
    chars_per_token_count,
    messages,
    parse_permutation,
    prompt_tokens,
    truncate,
    window_spans,
)
from ragkit.retrieval import Passage

__all__ = ["DEFAULT_BASE_URL", "LLMReranker"]

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "http://localhost:11434/v1"
_BASE_URL_VARS = ("RAGKIT_LLM_BASE_URL", "OPENAI_BASE_URL")
_API_KEY_VARS = ("RAGKIT_LLM_API_KEY", "OPENAI_API_KEY")
_MIN_PASSAGE_TOKENS = 16  # below this a window would rank snippets too short to judge

_Steps = Generator[dict[str, Any], str, list[int]]  # yields request bodies, receives answers


class LLMReranker:
    """Rerank passages with a chat model (RankGPT listwise prompting).

    Args:
        model: The model name the endpoint knows (``"qwen2.5:7b-instruct"``, ``"gpt-4o-mini"``).
        base_url: The API root, ending in ``/v1``. Default: ``RAGKIT_LLM_BASE_URL``, then
            ``OPENAI_BASE_URL``, then Ollama's ``http://localhost:11434/v1``.
        api_key: Bearer token. Default: ``RAGKIT_LLM_API_KEY``, then ``OPENAI_API_KEY``; none is
            sent when neither is set (local servers need none). Never logged or shown.
        context_tokens: The model's context window (prompt and answer). The whole list goes in
            one call when its prompt fits, else in sliding windows.
        window: Passages per call when the list does not fit in one.
        step: How far each window moves towards the front (less than ``window``).
        max_passage_tokens: Each passage is cut to this many tokens (at a word boundary).
        count_tokens: Counts a text's tokens, e.g. ``lambda s: len(tok.encode(s).ids)`` with the
            model's tokenizer. Default: one token per four characters.
        temperature: Sampling temperature (0: the most deterministic ranking).
        timeout: Seconds to wait for each request.
        retries: Further attempts after a connection error, timeout, 408, 429 or 5xx
            (exponential backoff with jitter, or the server's ``Retry-After``).
        extra_body: Extra fields of the request body (``{"top_p": 1}``); a key set to None
            removes a default one (``{"max_tokens": None}`` for models that refuse it).
        client: An ``httpx.Client`` for :meth:`rerank`, reused and left open (default: one per
            call).
        async_client: An ``httpx.AsyncClient`` for :meth:`arerank`, likewise.

    Raises:
        ConfigError: An argument is out of range or ``base_url`` is not an http(s) URL.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        context_tokens: int = 8192,
        window: int = 20,
        step: int = 10,
        max_passage_tokens: int = 300,
        count_tokens: Callable[[str], int] | None = None,
        temperature: float = 0.0,
        timeout: float = 120.0,
        retries: int = 3,
        extra_body: Mapping[str, Any] | None = None,
        client: httpx.Client | None = None,
        async_client: httpx.AsyncClient | None = None,
    ) -> None:
        if not isinstance(model, str) or not model.strip():
            raise ConfigError("model must name the chat model to use, e.g. 'qwen2.5:7b-instruct'.")
        _check_ints(
            1, context_tokens=context_tokens, window=window, step=step,
            max_passage_tokens=max_passage_tokens,
        )  # fmt: skip
        _check_ints(0, retries=retries)
        if window < 2 or step >= window:
            raise ConfigError(f"Need window >= 2 and step < window; got {window=}, {step=}.")
        if temperature < 0:
            raise ConfigError(f"temperature must be >= 0, got {temperature}.")
        self.model = model
        self.base_url = _base_url(base_url)
        self.context_tokens, self.window, self.step = context_tokens, window, step
        self.max_passage_tokens = max_passage_tokens
        self.temperature = temperature
        self.extra_body = dict(extra_body or {})
        self._count: TokenCount = count_tokens or chars_per_token_count
        self._client, self._async_client = client, async_client
        key, source = _api_key(api_key)
        self._endpoint = ChatEndpoint(
            f"{self.base_url}/chat/completions", key, source, _make_timeout(timeout), retries
        )

    def __repr__(self) -> str:
        return (
            f"LLMReranker({self.model!r}, base_url={self.base_url!r}, "
            f"context_tokens={self.context_tokens}, window={self.window}, step={self.step})"
        )

    def rerank(self, query: str, passages: Sequence[Passage]) -> list[Passage]:
        """The passages best first, scored ``1 / (1 + rank)`` (1.0 for the best).

        Args:
            query: The question the passages should answer.
            passages: Candidates, best first by the previous stage (that order breaks ties and
                fills in what the model leaves out).

        Returns:
            Every passage, reordered, with ``score`` (and ``scores["rerank"]``) set from its rank.
            No request is made for fewer than two passages.

        Raises:
            InputError: An empty query, or one too long for ``context_tokens``.
            ServiceError: The endpoint failed (see :mod:`ragkit.errors`).
        """
        items = _checked(query, passages)
        if len(items) < 2:
            return _scored(items, list(range(len(items))))
        steps = self._steps(query, items)
        with self._sync_client() as client:
            request = next(steps)
            try:
                while True:
                    request = steps.send(chat(self._endpoint, client, request))
            except StopIteration as done:
                return _scored(items, done.value)

    async def arerank(self, query: str, passages: Sequence[Passage]) -> list[Passage]:
        """The asyncio form of :meth:`rerank` (over ``httpx.AsyncClient``)."""
        items = _checked(query, passages)
        if len(items) < 2:
            return _scored(items, list(range(len(items))))
        steps = self._steps(query, items)
        async with self._async_client_cm() as client:
            request = next(steps)
            try:
                while True:
                    request = steps.send(await achat(self._endpoint, client, request))
            except StopIteration as done:
                return _scored(items, done.value)

    def _steps(self, query: str, passages: list[Passage]) -> _Steps:
        """The ranking as a dialogue: yields each prompt, receives its answer, returns the order."""
        texts = [
            truncate(" ".join(p.text.split()), self.max_passage_tokens, self._count)
            for p in passages
        ]
        n = len(texts)
        needed = prompt_tokens(query, texts, self._count) + answer_tokens(n)
        if needed <= self.context_tokens:
            spans = [(0, n)]
        else:
            texts = self._fit_window(query, texts)
            spans = window_spans(n, self.window, self.step)
        logger.debug(
            "Reranking %d passages in %d call(s) (~%d tokens for all at once, context %d)",
            n, len(spans), needed, self.context_tokens,
        )  # fmt: skip
        order = list(range(n))
        for start, end in spans:
            ids = order[start:end]
            answer = yield request_body(
                self.model, messages(query, [texts[i] for i in ids]),
                temperature=self.temperature, max_tokens=answer_tokens(len(ids)),
                extra=self.extra_body,
            )  # fmt: skip
            order[start:end] = [ids[j] for j in parse_permutation(answer, len(ids))]
        return order

    def _fit_window(self, query: str, texts: list[str]) -> list[str]:
        """Cut the passages further when ``window`` of them would not fit the context."""
        size = min(self.window, len(texts))
        overhead = prompt_tokens(query, [""] * size, self._count) + answer_tokens(size)
        budget = min(self.max_passage_tokens, (self.context_tokens - overhead) // size)
        if budget < _MIN_PASSAGE_TOKENS:
            raise InputError(
                f"The query and prompt take ~{overhead} of the {self.context_tokens} context "
                f"tokens, leaving under {_MIN_PASSAGE_TOKENS} per passage for a window of "
                f"{size}: shorten the query, or raise context_tokens or lower window."
            )
        return [truncate(text, budget, self._count) for text in texts]

    def _sync_client(self) -> AbstractContextManager[httpx.Client]:
        if self._client is not None:
            return nullcontext(self._client)
        return _make_client(self._endpoint.timeout)

    def _async_client_cm(self) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        if self._async_client is not None:
            return nullcontext(self._async_client)
        return httpx.AsyncClient(timeout=self._endpoint.timeout, headers={"User-Agent": USER_AGENT})


def _checked(query: str, passages: Sequence[Passage]) -> list[Passage]:
    if not isinstance(query, str) or not query.strip():
        raise InputError("The query is empty: pass the question as text.")
    return list(passages)


def _scored(passages: list[Passage], order: list[int]) -> list[Passage]:
    """The passages in ``order``, scored ``1 / (1 + rank)``."""
    out = []
    for rank, i in enumerate(order):
        p, score = passages[i], 1.0 / (1 + rank)
        out.append(replace(p, score=score, scores={**p.scores, "rerank": score}))
    return out


def _check_ints(minimum: int, **values: int) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ConfigError(f"{name} must be an int >= {minimum}, got {value!r}.")


def _base_url(given: str | None) -> str:
    env = next((os.environ[v] for v in _BASE_URL_VARS if os.environ.get(v)), None)
    url = (given or env or DEFAULT_BASE_URL).strip().rstrip("/")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ConfigError(f"base_url {url!r} is not a valid URL: {exc}.") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigError(
            f"base_url must be an http(s) URL such as {DEFAULT_BASE_URL!r}, got {url!r}."
        )
    return url


def _api_key(given: str | None) -> tuple[str | None, str]:
    """The key and where it came from (for error messages; the key itself is never shown)."""
    if given:
        return given, "Check the api_key passed"
    for name in _API_KEY_VARS:
        if os.environ.get(name):
            return os.environ[name], f"Check the key in {name}"
    return (
        None,
        f"No API key was sent: set {_API_KEY_VARS[0]} (or {_API_KEY_VARS[1]}) or pass api_key=",
    )
