"""The real Chroma server fixture of the store tests, for ``ragkit index --chroma-url``."""

from __future__ import annotations

from tests.store.conftest import chroma_server

__all__ = ["chroma_server"]
