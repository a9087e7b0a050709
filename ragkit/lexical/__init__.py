"""Lexical retrieval: BM25 over a store's documents, and rank fusion with dense results."""

from __future__ import annotations
