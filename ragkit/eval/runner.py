"""Embed a BEIR data set with an embedder, search exactly, and score it.

Usage::

    from ragkit.embed import TextEmbedder
    from ragkit.eval.runner import evaluate_embedder
    result = evaluate_embedder(Path("scifact"), TextEmbedder("sentence-transformers/all-MiniLM-L6-v2"))
    result.metrics["ndcg@10"]
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ragkit.embed.base import Embedder
from ragkit.eval.beir import BeirDataset, load_beir
from ragkit.eval.metrics import evaluate
from ragkit.eval.search import exact_top_k
from ragkit.store.chroma import RescoreMode, SearchMode
from ragkit.types import Matrix

if TYPE_CHECKING:
    from ragkit.retrieval import Reranker
    from ragkit.store.chroma import ChromaStore

__all__ = ["EvalResult", "PipelineOptions", "StoreOptions", "evaluate_embedder"]

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
    store_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """Flat, JSON-ready view: metric keys plus throughput and sizes."""
        return {
            **self.metrics,
            "docs_per_s": self.docs_per_s,
            "queries_per_s": self.queries_per_s,
            "docs": self.docs,
            "queries": self.queries,
            "embed_seconds": self.embed_seconds,
            "store_seconds": self.store_seconds,
            "model": self.fingerprint,
        }


def evaluate_embedder(
    dataset_dir: Path,
    embedder: Embedder,
    *,
    split: str = "test",
    top_k: int = 100,
    show_progress_bar: bool | None = None,
    store: StoreOptions | None = None,
    pipeline: PipelineOptions | None = None,
) -> EvalResult:
    """Embed corpus and judged queries, retrieve the top ``top_k``, and score.

    Retrieval is exact (brute-force cosine) unless ``store`` asks for a ChromaStore, whose
    real code path (binary scan, rescoring) then answers every query. With ``pipeline``, each
    query goes through a :class:`~ragkit.retrieval.Retriever` with those stages over such a
    store (``store``, or the default one), one document a chunk, for the top 10 only
    (``ndcg@10``, ``recall@10``): a reranker reading ``4 * 100`` candidates per query for
    ``recall@100`` would cost ten times the top 10's.

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
    store_seconds = 0.0
    if pipeline is not None:
        run_10, store_seconds = _search_through_pipeline(
            store or StoreOptions(), pipeline, embedder, data, corpus
        )
        metrics = {
            name: value
            for name, value in evaluate(run_10, data.qrels, ks=(10,)).items()
            if name.endswith("@10")
        }
    elif store is None:
        indices, scores = exact_top_k(queries, corpus, top_k)
        run = {
            qid: {data.corpus_ids[i]: float(s) for i, s in zip(row_idx, row_scores, strict=True)}
            for qid, row_idx, row_scores in zip(data.query_ids, indices, scores, strict=True)
        }
        metrics = evaluate(run, data.qrels, ks=(10, top_k))
    else:
        # Each cut-off from its own query, as an app asks: a top-10 taken from a top-100
        # query would see 10x the binary candidates and flatter the first stage.
        runs, store_seconds = _search_through_store(
            store, data.corpus_ids, corpus, data.query_ids, queries, (10, top_k)
        )
        metrics = {}
        for k, run in runs.items():
            metrics |= {
                name: value
                for name, value in evaluate(run, data.qrels, ks=(k,)).items()
                if name.endswith(f"@{k}")
            }
    return EvalResult(
        metrics=metrics,
        docs=len(data.corpus_ids),
        queries=len(data.query_ids),
        docs_per_s=len(data.corpus_ids) / max(embed_seconds, 1e-9),
        queries_per_s=len(data.query_ids) / max(query_seconds, 1e-9),
        embed_seconds=embed_seconds,
        fingerprint=embedder.fingerprint(),
        store_seconds=store_seconds,
    )


@dataclass(frozen=True)
class StoreOptions:
    """Search the corpus through a :class:`~ragkit.store.ChromaStore` instead of exactly.

    Attributes:
        search: ``"binary"`` or ``"float"``.
        rescore: ``"float"``, ``"asymmetric"`` or ``"none"``.
        oversample: Candidates rescored per result (the store's default if None).
        funnel: Hamming candidates per rescored one (narrowed by the asymmetric estimate).
        int8_rows: Keep int8 vectors in the index to rank wide candidate lists.
        candidates: Hamming candidates ranked by int8 cosine (the store's default if None).
        code_dim: Matryoshka dimension of the binary codes.
        dim: Dimension of the vectors the store keeps (after ``rotate``).
        rotate: ``"pca"`` to fit a rotation on the corpus in the store.
        whiten: Variance exponent with a rotation (the store's default if None).
    """

    search: SearchMode = "binary"
    rescore: RescoreMode = "float"
    oversample: int | None = None
    code_dim: int | None = None
    dim: int | None = None
    rotate: Literal["pca"] | None = None
    whiten: float | None = None
    funnel: int = 2
    int8_rows: bool = True
    candidates: int | None = None


@dataclass(frozen=True)
class PipelineOptions:
    """Retriever stages to evaluate (see :class:`~ragkit.retrieval.Retriever`).

    Attributes:
        hybrid: Fuse BM25 (:class:`~ragkit.lexical.bm25.BM25Index`) with the dense search.
        hybrid_weights: ``(dense, bm25)`` fusion weights.
        reranker: Any :class:`~ragkit.retrieval.Reranker` (a cross-encoder, an LLM).
        fetch_k: First-stage candidates (the Retriever's default if None).
        rerank_k: Candidates the reranker reads (all if None).
        min_relevance: Relevance filter threshold.
        min_score: Final score threshold.
        mmr: MMR ``lambda_mult``.
    """

    hybrid: bool = False
    hybrid_weights: tuple[float, float] = (1.0, 1.0)
    reranker: Reranker | None = None
    fetch_k: int | None = None
    rerank_k: int | None = None
    min_relevance: float | None = None
    min_score: float | None = None
    mmr: float | None = None


def _search_through_pipeline(
    options: StoreOptions,
    pipeline: PipelineOptions,
    embedder: Embedder,
    data: BeirDataset,
    corpus: Matrix,
) -> tuple[dict[str, dict[str, float]], float]:
    """The top-10 run through a Retriever (query id -> doc id -> score), and seconds storing."""
    import chromadb
    from chromadb.config import Settings

    from ragkit.retrieval import Retriever

    client = chromadb.EphemeralClient(settings=Settings(anonymized_telemetry=False))
    store = _store(options, client, embedder)
    try:
        start = time.perf_counter()
        metas = [
            {"source": i, "start": 0, "end": len(t), "position": 0}
            for i, t in zip(data.corpus_ids, data.corpus_texts, strict=True)
        ]
        store.add(data.corpus_ids, embeddings=corpus, documents=data.corpus_texts, metadatas=metas)
        store_seconds = time.perf_counter() - start
        with contextlib.ExitStack() as stack:
            lexical = None
            if pipeline.hybrid:
                from ragkit.lexical.bm25 import BM25Index

                lexical = stack.enter_context(BM25Index(store, persist=False))
            retriever = Retriever(
                store,
                k=10,
                fetch_k=pipeline.fetch_k,
                hybrid=lexical,
                hybrid_weights=pipeline.hybrid_weights,
                reranker=pipeline.reranker,
                rerank_k=pipeline.rerank_k,
                min_relevance=pipeline.min_relevance,
                min_score=pipeline.min_score,
                mmr=pipeline.mmr,
            )
            run = {
                qid: {p.id: p.score for p in retriever.retrieve(text)}
                for qid, text in zip(data.query_ids, data.query_texts, strict=True)
            }
    finally:
        client.delete_collection(store.collection.name)
    return run, store_seconds


def _store(options: StoreOptions, client: Any, embedder: Embedder | None = None) -> ChromaStore:
    from ragkit.store.chroma import ChromaStore

    return ChromaStore(
        f"eval-{uuid.uuid4().hex}",
        embedder=embedder,
        client=client,
        search=options.search,
        rescore=options.rescore,
        oversample=options.oversample,
        funnel=options.funnel,
        int8_rows=options.int8_rows,
        candidates=options.candidates,
        code_dim=options.code_dim,
        dim=options.dim,
        rotate=options.rotate,
        whiten=options.whiten,
    )


def _search_through_store(
    options: StoreOptions,
    corpus_ids: list[str],
    corpus: Matrix,
    query_ids: list[str],
    queries: Matrix,
    cutoffs: tuple[int, ...],
) -> tuple[dict[int, dict[str, dict[str, float]]], float]:
    """One run per cut-off (query id -> doc id -> score), and the seconds spent storing."""
    import chromadb
    from chromadb.config import Settings

    client = chromadb.EphemeralClient(settings=Settings(anonymized_telemetry=False))
    store = _store(options, client)
    try:
        start = time.perf_counter()
        store.add(corpus_ids, embeddings=corpus)
        store_seconds = time.perf_counter() - start
        runs = {
            k: {
                qid: {h.id: h.score for h in store.query(q, k=k)}
                for qid, q in zip(query_ids, queries, strict=True)
            }
            for k in sorted(set(cutoffs))
        }
    finally:
        client.delete_collection(store.collection.name)
    return runs, store_seconds
