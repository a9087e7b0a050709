"""Retry policy shared by every HTTP caller: the hub download, the LLM reranker, remote models.

Transient failures (connection errors, timeouts, 408, 429, 5xx, a short body) are retried with
exponential backoff and full-range jitter, or after the server's ``Retry-After`` (seconds or an
HTTP date, capped). Callers raise :class:`TransientError` for a retryable answer and ask
:func:`retry_delay` how long to wait.

Usage::

    from ragkit._retry import TransientError, retry_delay
    delay = retry_delay(attempt=2, retry_after=None)  # 1-2 s
"""

from __future__ import annotations

import email.utils
import random
import time

import httpx

from ragkit._version import __version__

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_MAX",
    "RETRY_AFTER_MAX",
    "USER_AGENT",
    "TransientError",
    "describe",
    "is_transient_status",
    "parse_retry_after",
    "retry_delay",
]

USER_AGENT = f"ragkit/{__version__}"
BACKOFF_BASE = 1.0  # seconds before the first retry; doubles with each further attempt
BACKOFF_MAX = 30.0
RETRY_AFTER_MAX = 120.0  # never wait longer than this, whatever Retry-After says


class TransientError(Exception):
    """A failure worth retrying (429, 5xx, a short body); carries the server's Retry-After."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


def is_transient_status(code: int) -> bool:
    """Whether an HTTP status is worth retrying: 408, 429 and every 5xx."""
    return code in (408, 429) or code >= 500


def describe(exc: Exception) -> str:
    """A short reason for a log line or an error message."""
    if isinstance(exc, TransientError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def retry_delay(
    attempt: int,
    retry_after: float | None,
    *,
    base: float = BACKOFF_BASE,
    cap: float = BACKOFF_MAX,
    retry_after_max: float = RETRY_AFTER_MAX,
) -> float:
    """Seconds to wait before retry ``attempt`` (1 for the first retry).

    ``Retry-After`` wins when the server sent one (clamped to ``0..retry_after_max``); else the
    backoff ``base * 2**(attempt-1)`` (at most ``cap``), jittered into its upper half.
    """
    if retry_after is not None:
        return min(max(retry_after, 0.0), retry_after_max)
    delay = min(base * 2.0 ** (attempt - 1), cap)
    return delay / 2 + random.uniform(0, delay / 2)  # jitter; not security-sensitive


def parse_retry_after(response: httpx.Response) -> float | None:
    """The ``Retry-After`` header in seconds from now (seconds or an HTTP date), or None."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.timestamp() - time.time()
