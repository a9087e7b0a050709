"""JSON over HTTP to a model server, with retries, timeouts and a key that is never shown.

Connection errors, timeouts, 408, 429, 5xx and a 200 whose body is not JSON are retried with
exponential backoff and jitter, honouring ``Retry-After`` (:mod:`ragkit._retry`); 401/403 raise
:class:`ServiceAuthError`, 404 :class:`ServiceNotFoundError`, any other status
:class:`ServiceError` with the server's own message. The API key goes only into the
``Authorization`` header and is scrubbed from every message.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from ragkit._retry import (
    USER_AGENT,
    TransientError,
    describe,
    is_transient_status,
    parse_retry_after,
    retry_delay,
)
from ragkit.errors import ConfigError, ServiceAuthError, ServiceError, ServiceNotFoundError

__all__ = [
    "Service",
    "api_key_from",
    "base_url_from",
    "make_timeout",
    "post_json",
    "apost_json",
]

logger = logging.getLogger("ragkit.remote")

_sleep: Callable[[float], None] = time.sleep  # tests replace these to skip the waits
_asleep: Callable[[float], Awaitable[None]] = asyncio.sleep
_CONNECT_TIMEOUT = 10.0
_DETAIL_CHARS = 300


@dataclass(frozen=True)
class Service:
    """Where a model server is and how to call it.

    Attributes:
        what: What it is, for messages (``"the embeddings endpoint"``).
        base_url: The API root, without a trailing ``/``.
        api_key: Sent as ``Authorization: Bearer``; never shown.
        key_hint: What to check about the key, for the message of a 401/403.
        timeout: Per-request timeout.
        retries: Further attempts after a transient failure.
    """

    what: str
    base_url: str
    api_key: str | None = field(repr=False)
    key_hint: str
    timeout: httpx.Timeout
    retries: int

    def url(self, path: str) -> str:
        """The full URL of ``path`` (``"/embeddings"``)."""
        return self.base_url + path

    @property
    def headers(self) -> dict[str, str]:
        """User agent, JSON, and the bearer token when there is a key."""
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def scrub(self, text: str) -> str:
        """``text`` without the API key, cut short."""
        if self.api_key:
            text = text.replace(self.api_key, "***")
        return text[:_DETAIL_CHARS]

    def client(self) -> httpx.Client:
        """A new blocking client (honours proxy variables, as other HTTP tools do)."""
        return httpx.Client(timeout=self.timeout, headers={"User-Agent": USER_AGENT})

    def async_client(self) -> httpx.AsyncClient:
        """A new asyncio client."""
        return httpx.AsyncClient(timeout=self.timeout, headers={"User-Agent": USER_AGENT})


def make_timeout(seconds: float) -> httpx.Timeout:
    """A timeout of ``seconds`` per read/write, connecting within at most 10 s.

    Raises:
        ConfigError: ``seconds`` is not positive.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
        raise ConfigError(f"timeout must be a number of seconds > 0, got {seconds!r}.")
    return httpx.Timeout(float(seconds), connect=min(_CONNECT_TIMEOUT, float(seconds)))


def base_url_from(given: str | None, env: Sequence[str], default: str) -> str:
    """``given``, else the first set variable of ``env``, else ``default``; checked, no final ``/``.

    A value without a scheme (``OLLAMA_HOST=0.0.0.0:11434``) gets ``http://``.

    Raises:
        ConfigError: Not an http(s) URL.
    """
    value = given or next((os.environ[v] for v in env if os.environ.get(v)), None) or default
    url = value.strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ConfigError(f"base_url {url!r} is not a valid URL: {exc}.") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigError(f"base_url must be an http(s) URL such as {default!r}, got {url!r}.")
    return url


def api_key_from(given: str | None, env: Sequence[str]) -> tuple[str | None, str]:
    """The key (``given``, else the first set variable of ``env``) and what to check about it."""
    if given:
        return given, "Check the api_key passed"
    for name in env:
        if os.environ.get(name):
            return os.environ[name], f"Check the key in {name}"
    names = " or ".join(env) or "an environment variable"
    return None, f"No API key was sent: set {names}, or pass api_key="


def post_json(service: Service, client: httpx.Client, path: str, body: Mapping[str, Any]) -> Any:
    """POST ``body`` to ``path`` and return the decoded JSON answer, retrying transient failures.

    Raises:
        ServiceAuthError: 401/403.
        ServiceNotFoundError: 404.
        ServiceError: Still failing after the retries, or another error status.
    """
    url = service.url(path)
    for attempt in range(1, service.retries + 2):
        try:
            response = client.post(url, json=body, headers=service.headers, timeout=service.timeout)
            return _decoded(service, url, response)
        except (httpx.TransportError, TransientError) as exc:
            delay = _delay_or_raise(service, url, attempt, exc)
        _sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


async def apost_json(
    service: Service, client: httpx.AsyncClient, path: str, body: Mapping[str, Any]
) -> Any:
    """The asyncio form of :func:`post_json`."""
    url = service.url(path)
    for attempt in range(1, service.retries + 2):
        try:
            response = await client.post(
                url, json=body, headers=service.headers, timeout=service.timeout
            )
            return _decoded(service, url, response)
        except (httpx.TransportError, TransientError) as exc:
            delay = _delay_or_raise(service, url, attempt, exc)
        await _asleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def _delay_or_raise(service: Service, url: str, attempt: int, exc: Exception) -> float:
    """Seconds to wait before the next attempt; a ServiceError once the retries are spent."""
    reason = service.scrub(describe(exc))
    if attempt > service.retries or isinstance(exc, httpx.UnsupportedProtocol):
        raise ServiceError(
            f"No usable answer from {service.what} at {url} after {attempt} attempt"
            f"{'s' if attempt > 1 else ''}: {reason}. Check that the server is running and that "
            "base_url is right, or raise timeout= / retries=."
        ) from exc
    delay = retry_delay(attempt, exc.retry_after if isinstance(exc, TransientError) else None)
    logger.warning(
        "Request to %s failed (%s); retry %d of %d in %.1f s",
        url, reason, attempt, service.retries, delay,
    )  # fmt: skip
    return delay


def _decoded(service: Service, url: str, response: httpx.Response) -> Any:
    code = response.status_code
    if code == 200:
        try:
            return response.json()
        except ValueError:
            raise TransientError(
                f"HTTP 200 with a body that is not JSON: {service.scrub(response.text)!r}"
            ) from None
    detail = _detail(service, response)
    if code in (401, 403):
        raise ServiceAuthError(
            f"{service.what} at {url} refused the request with HTTP {code} ({detail}). "
            f"{service.key_hint}."
        )
    if code == 404:
        raise ServiceNotFoundError(
            f"Not found at {service.what} {url} (HTTP 404: {detail}). Check the model name "
            "and that base_url is the API root the server documents."
        )
    if is_transient_status(code):
        raise TransientError(f"HTTP {code} {detail}", parse_retry_after(response))
    hint = " Lower batch_size (or max_batch_chars)." if code == 413 else ""
    raise ServiceError(f"{service.what} at {url} answered HTTP {code}: {detail}.{hint}")


def _detail(service: Service, response: httpx.Response) -> str:
    """The server's own error text (OpenAI ``error.message``, TEI/Ollama ``error``, ...), short."""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    text: object = None
    if isinstance(payload, dict):
        error = payload.get("error")
        text = error.get("message") if isinstance(error, dict) else error
        text = text or payload.get("message") or payload.get("detail")
    if not isinstance(text, str) or not text:
        text = response.text.strip() or response.reason_phrase
    return service.scrub(text)
