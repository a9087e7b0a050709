from __future__ import annotations

from collections.abc import Iterator

import pytest

from ragkit.remote import _http
from tests.remote.flaky_server import FlakyServer

_VARS = (
    "OPENAI_API_KEY", "OPENAI_BASE_URL", "OLLAMA_HOST", "OLLAMA_API_KEY", "TEI_API_KEY",
    "COHERE_API_KEY", "JINA_API_KEY",
)  # fmt: skip


@pytest.fixture(autouse=True)
def no_provider_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retry waits, recorded instead of slept."""
    waits: list[float] = []

    async def asleep(delay: float) -> None:
        waits.append(delay)

    monkeypatch.setattr(_http, "_sleep", waits.append)
    monkeypatch.setattr(_http, "_asleep", asleep)
    return waits


@pytest.fixture
def server(sleeps: list[float]) -> Iterator[FlakyServer]:
    with FlakyServer() as running:
        yield running
