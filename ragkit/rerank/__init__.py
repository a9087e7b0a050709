"""Second-stage ranking: cross-encoders, LLM listwise reranking, MMR and relevance filtering."""

from __future__ import annotations
