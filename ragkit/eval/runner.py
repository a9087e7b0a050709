"""Embed a BEIR data set with an embedder, search exactly, and score it.

Usage::

    from ragkit.embed import TextEmbedder
    from ragkit.eval.runner import evaluate_embedder
    result = evaluate_embedder(Path("scifact"), TextEmbedder("sentence-transformers/all-MiniLM-L6-v2"))
    result.metrics["ndcg@10"]
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragkit.embed.base import Embedder
from ragkit.eval.beir import load_beir
from ragkit.eval.metrics import evaluate
from ragkit.eval.search import exact_top_k

__all__ = ["EvalResult", "evaluate_embedder"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvalResult:
    """Scores and throughput of one evaluation run.

    Attributes:
        metrics: ``ndcg@10``, ``recall@100`` and the other cut-offs.
        docs: Corpus size.
        queries: Judged queries evaluated.
        docs_per_s: Corpus embedding throughput.
        queries_per_s: Query embedding throughput (one batch call).
        embed_seconds: Time spent embedding the corpus.
        fingerprint: The embedder's fingerprint.
    """

    metrics: dict[str, float]
    docs: int
    queries: int
    docs_per_s: float
    queries_per_s: float
    embed_seconds: float
    fingerprint: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Flat, JSON-ready view: metric keys plus throughput and sizes."""
        return {
            **self.metrics,
            "docs_per_s": self.docs_per_s,
            "queries_per_s": self.queries_per_s,
            "docs": self.docs,
            "queries": self.queries,
            "embed_seconds": self.embed_seconds,
            "model": self.fingerprint,
        }


def evaluate_embedder(
    dataset_dir: Path,
    embedder: Embedder,
    *,
    split: str = "test",
    top_k: int = 100,
    show_progress_bar: bool | None = None,
) -> EvalResult:
    """Embed corpus and judged queries, retrieve the top ``top_k`` exactly, and score.

    Raises:
        DatasetError: The folder is not a BEIR data set.
    """
    data = load_beir(dataset_dir, split=split)
    logger.info(
        "%s: %d documents, %d judged queries",
        dataset_dir,
        len(data.corpus_ids),
        len(data.query_ids),
    )
    kwargs: dict[str, Any] = {}
    if show_progress_bar is not None and hasattr(embedder, "show_progress_bar"):
        kwargs["show_progress_bar"] = show_progress_bar
    start = time.perf_counter()
    corpus = embedder.embed_documents(data.corpus_texts, **kwargs)
    embed_seconds = time.perf_counter() - start
    start = time.perf_counter()
    queries = embedder.embed_query(data.query_texts)
    query_seconds = time.perf_counter() - start
    indices, scores = exact_top_k(queries, corpus, top_k)
    run = {
        qid: {data.corpus_ids[i]: float(s) for i, s in zip(row_idx, row_scores, strict=True)}
        for qid, row_idx, row_scores in zip(data.query_ids, indices, scores, strict=True)
    }
    return EvalResult(
        metrics=evaluate(run, data.qrels, ks=(10, 100)),
        docs=len(data.corpus_ids),
        queries=len(data.query_ids),
        docs_per_s=len(data.corpus_ids) / max(embed_seconds, 1e-9),
        queries_per_s=len(data.query_ids) / max(query_seconds, 1e-9),
        embed_seconds=embed_seconds,
        fingerprint=embedder.fingerprint(),
    )
