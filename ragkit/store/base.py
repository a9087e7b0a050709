"""What a store search returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Hit"]


@dataclass(frozen=True)
class Hit:
    """One search result.

    Attributes:
        id: The record id.
        score: Cosine similarity to the query (higher is closer); see the store's rescore mode.
        document: The stored text, if any.
        metadata: The record's own metadata (ragkit's internal fields removed).
    """

    id: str
    score: float
    document: str | None
    metadata: dict[str, Any] = field(default_factory=dict)
