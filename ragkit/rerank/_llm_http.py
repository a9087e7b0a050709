"""One chat completion from an OpenAI-compatible endpoint, with retries (blocking and asyncio).

Connection errors, timeouts, 408, 429 and 5xx are retried with exponential backoff and jitter,
honouring ``Retry-After`` (:mod:`ragkit._retry`); other failures map to :class:`ServiceError` and
its subclasses. The API key goes only into the ``Authorization`` header: never into a log line or an
error message (a server's error text is scrubbed of it too).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from ragkit._retry import USER_AGENT
from ragkit._retry import TransientError as _TransientError
from ragkit._retry import describe as _describe
from ragkit._retry import parse_retry_after as _parse_retry_after
from ragkit._retry import retry_delay as _retry_delay
from ragkit.errors import ServiceAuthError, ServiceError, ServiceNotFoundError

__all__ = ["ChatEndpoint", "achat", "chat", "request_body"]

logger = logging.getLogger("ragkit.rerank.llm")

_sleep: Callable[[float], None] = time.sleep  # tests replace these to skip the waits
_asleep: Callable[[float], Awaitable[None]] = asyncio.sleep
_DETAIL_CHARS = 300


@dataclass(frozen=True)
class ChatEndpoint:
    """Where and how to ask for chat completions.

    Attributes:
        url: The ``.../chat/completions`` URL.
        api_key: Sent as ``Authorization: Bearer``; never shown.
        key_hint: What to check about the key (where it came from, or how to supply one), for
            the message of an authentication error.
        timeout: Per-request timeout.
        retries: Further attempts after a transient failure.
    """

    url: str
    api_key: str | None = field(repr=False)
    key_hint: str
    timeout: httpx.Timeout
    retries: int

    @property
    def headers(self) -> dict[str, str]:
        """Request headers: user agent, JSON, and the bearer token when there is a key."""
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers


def chat(endpoint: ChatEndpoint, client: httpx.Client, body: Mapping[str, Any]) -> str:
    """POST ``body`` and return the answer's message text, retrying transient failures.

    Raises:
        ServiceAuthError: 401/403.
        ServiceNotFoundError: 404.
        ServiceError: Still failing after the retries, another error status, or an answer
            without a message.
    """
    for attempt in range(1, endpoint.retries + 2):
        try:
            response = client.post(
                endpoint.url, json=body, headers=endpoint.headers, timeout=endpoint.timeout
            )
            return _answer(endpoint, response)
        except (httpx.TransportError, _TransientError) as exc:
            delay = _delay_or_raise(endpoint, attempt, exc)
        _sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


async def achat(endpoint: ChatEndpoint, client: httpx.AsyncClient, body: Mapping[str, Any]) -> str:
    """The asyncio form of :func:`chat`."""
    for attempt in range(1, endpoint.retries + 2):
        try:
            response = await client.post(
                endpoint.url, json=body, headers=endpoint.headers, timeout=endpoint.timeout
            )
            return _answer(endpoint, response)
        except (httpx.TransportError, _TransientError) as exc:
            delay = _delay_or_raise(endpoint, attempt, exc)
        await _asleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def _delay_or_raise(endpoint: ChatEndpoint, attempt: int, exc: Exception) -> float:
    """Seconds to wait before the next attempt; a ServiceError once the retries are spent."""
    reason = _describe(exc)
    if attempt > endpoint.retries:
        raise ServiceError(
            f"No answer from the LLM endpoint {endpoint.url} after {attempt} attempt"
            f"{'s' if attempt > 1 else ''}: {reason}. Check that the server is running and that "
            "base_url is right (for Ollama: `ollama serve`), or raise timeout= / retries=."
        ) from exc
    delay = _retry_delay(attempt, exc.retry_after if isinstance(exc, _TransientError) else None)
    logger.warning(
        "LLM request to %s failed (%s); retry %d of %d in %.1f s",
        endpoint.url, reason, attempt, endpoint.retries, delay,
    )  # fmt: skip
    return delay


def _answer(endpoint: ChatEndpoint, response: httpx.Response) -> str:
    """The message text of a chat completion, or the error its status calls for."""
    code = response.status_code
    if code == 200:
        return _content(endpoint, response)
    detail = _detail(endpoint, response)
    if code in (401, 403):
        raise ServiceAuthError(
            f"The LLM endpoint {endpoint.url} refused the request with HTTP {code} ({detail}). "
            f"{endpoint.key_hint}."
        )
    if code == 404:
        raise ServiceNotFoundError(
            f"Not found at the LLM endpoint {endpoint.url} (HTTP 404: {detail}). Check the "
            "model name (for Ollama: `ollama pull <model>`) and that base_url ends in /v1."
        )
    if code in (408, 429) or code >= 500:
        raise _TransientError(f"HTTP {code} {detail}", _parse_retry_after(response))
    raise ServiceError(f"The LLM endpoint {endpoint.url} answered HTTP {code}: {detail}.")


def _content(endpoint: ChatEndpoint, response: httpx.Response) -> str:
    try:
        content = response.json()["choices"][0]["message"]["content"]
    except (ValueError, LookupError, TypeError):
        content = None
    if not isinstance(content, str):
        raise ServiceError(
            f"The LLM endpoint {endpoint.url} answered without a chat message "
            f"(choices[0].message.content): {_scrub(endpoint, response.text)!r}. Check that "
            "base_url points at an OpenAI-compatible API (…/v1)."
        )
    return content


def _detail(endpoint: ChatEndpoint, response: httpx.Response) -> str:
    """The server's own error text (OpenAI's ``error.message``, Ollama's ``error``), short."""
    try:
        error = response.json().get("error")
        text = error.get("message") if isinstance(error, dict) else error
    except (ValueError, AttributeError):
        text = None
    if not isinstance(text, str) or not text:
        text = response.text.strip() or response.reason_phrase
    return _scrub(endpoint, text)


def _scrub(endpoint: ChatEndpoint, text: str) -> str:
    if endpoint.api_key:
        text = text.replace(endpoint.api_key, "***")
    return text[:_DETAIL_CHARS]


def request_body(
    model: str, messages: list[dict[str, str]], *, temperature: float, max_tokens: int,
    extra: Mapping[str, Any],
) -> dict[str, Any]:  # fmt: skip
    """The JSON body of a chat completion; ``extra`` keys override (a None value removes one)."""
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "temperature": temperature,
        "max_tokens": max_tokens,
        "stream": False,
    }
    body.update(extra)
    return {k: v for k, v in body.items() if v is not None}
