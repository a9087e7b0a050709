"""Chroma-backed vector store: Chroma as the system of record, a binary index in front of it."""

from __future__ import annotations

from ragkit.store.async_store import AsyncChromaStore
from ragkit.store.base import Hit
from ragkit.store.chroma import ChromaStore, RescoreMode, SearchMode

__all__ = ["AsyncChromaStore", "ChromaStore", "Hit", "RescoreMode", "SearchMode"]
