"""Second-stage ranking: cross-encoders, LLM listwise reranking, MMR and relevance filtering."""

from __future__ import annotations

from ragkit.rerank.cross_encoder import DEFAULT_RERANKER, CrossEncoderReranker, RerankStats
from ragkit.rerank.llm import LLMReranker
from ragkit.rerank.mmr import diversify, maximal_marginal_relevance
from ragkit.rerank.relevance import DEFAULT_MIN_RELEVANCE, CosineRelevance

__all__ = [
    "CosineRelevance",
    "CrossEncoderReranker",
    "DEFAULT_MIN_RELEVANCE",
    "DEFAULT_RERANKER",
    "LLMReranker",
    "RerankStats",
    "diversify",
    "maximal_marginal_relevance",
]
