"""Retrieval evaluation: load BEIR data sets, search exactly, score like pytrec_eval."""

from __future__ import annotations

from ragkit.eval.beir import BeirDataset, load_beir
from ragkit.eval.metrics import evaluate, ndcg_at_k, recall_at_k
from ragkit.eval.search import exact_top_k

__all__ = ["BeirDataset", "evaluate", "exact_top_k", "load_beir", "ndcg_at_k", "recall_at_k"]
