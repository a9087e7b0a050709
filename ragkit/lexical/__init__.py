"""Lexical retrieval: BM25 over a store's documents, and rank fusion with dense results.

Needs the ``lexical`` extra (``pip install "ragkit[lexical]"``: bm25s and PyStemmer).
"""

from __future__ import annotations

from ragkit.lexical.analyzer import Analyzer
from ragkit.lexical.bm25 import BM25Index
from ragkit.lexical.fusion import reciprocal_rank_fusion
from ragkit.lexical.hybrid import HybridHit, hybrid_search

__all__ = ["Analyzer", "BM25Index", "HybridHit", "hybrid_search", "reciprocal_rank_fusion"]
