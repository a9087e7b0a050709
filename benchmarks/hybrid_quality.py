"""Hybrid search quality on SciFact: dense, BM25 and their reciprocal rank fusion, one store.

The corpus goes into one ChromaStore (default options: binary scan, int8 ranking, float
rescoring) with its texts (BEIR's ``title + " " + text``) as the documents; a BM25Index follows
the store. Every row answers the 300 judged queries through the real code path:
``store.query`` (dense), ``BM25Index.search`` (BM25) or ``hybrid_search`` (fusion), with k=10
for NDCG@10 and k=100 for Recall@100, scored in the order returned.

    RAGKIT_TEST_MODEL_DIR=../shared/models/all-MiniLM-L6-v2 \\
    RAGKIT_TEST_SCIFACT_DIR=../shared/datasets/scifact \\
        python benchmarks/hybrid_quality.py --cache /tmp/ragkit-bench
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from binary_scan import scifact_embeddings  # noqa: E402

from ragkit.eval.metrics import evaluate  # noqa: E402
from ragkit.lexical.analyzer import Analyzer  # noqa: E402
from ragkit.lexical.bm25 import BM25Index  # noqa: E402
from ragkit.lexical.hybrid import hybrid_search  # noqa: E402
from ragkit.store.chroma import ChromaStore  # noqa: E402

BM25_ROWS: list[tuple[str, dict[str, Any]]] = [
    ("BM25, no stemming, k1=1.5 b=0.75", {"stemmer": None}),
    ("BM25, Snowball stems, k1=1.2 b=0.75 (Lucene default)", {"k1": 1.2}),
    ("BM25, Snowball stems, k1=0.9 b=0.4 (Anserini default)", {"k1": 0.9, "b": 0.4}),
    ("BM25, Snowball stems, k1=1.5 b=0.75 (ragkit, bm25s default)", {}),
]
FUSION_ROWS: list[tuple[str, dict[str, Any]]] = [
    ("RRF, weights 1 : 1 (default; fetch_k 3k)", {}),
    ("RRF, weights 1 : 0.5 (dense : BM25)", {"weights": (1.0, 0.5)}),
    ("RRF, weights 0.5 : 1", {"weights": (0.5, 1.0)}),
    ("RRF, weights 1 : 1, fetch_k 10k", {"fetch_k": -10}),
    ("RRF, weights 1 : 1, rrf_k 20", {"rrf_k": 20}),
]


class CachedQueries:
    """The real model's query vectors, looked up by text (the documents come as vectors)."""

    def __init__(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        self._by_text = dict(zip(texts, vectors, strict=True))
        self.dim = vectors.shape[1]

    def embed_query(self, text: str | Sequence[str]) -> np.ndarray:
        if isinstance(text, str):
            return self._by_text[text]
        return np.stack([self._by_text[t] for t in text])

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError("documents are added as cached vectors")

    def fingerprint(self) -> dict[str, Any]:
        return {"model": "cached all-MiniLM-L6-v2 int8 queries"}


def fetch(options: dict[str, Any], k: int) -> dict[str, Any]:
    """The options, with a negative ``fetch_k`` read as that multiple of ``k``."""
    fetch_k = options.get("fetch_k")
    return {**options, "fetch_k": -fetch_k * k} if fetch_k is not None and fetch_k < 0 else options


def score(search: Callable[[str, int], list[str]], dataset: Any) -> dict[str, float]:
    """NDCG@10 from k=10 searches and Recall@100 from k=100 searches, in the order returned."""
    result = {}
    for k, metric in ((10, "ndcg@10"), (100, "recall@100")):
        run = {}
        for query_id, text in zip(dataset.query_ids, dataset.query_texts, strict=True):
            ids = search(text, k)
            run[query_id] = {doc_id: float(len(ids) - n) for n, doc_id in enumerate(ids)}
        result[metric] = evaluate(run, dataset.qrels, ks=(k,))[metric]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cache", type=Path, default=None, help="folder to cache embeddings in")
    args = parser.parse_args()
    real = scifact_embeddings(args.cache)
    if real is None:
        sys.exit("set RAGKIT_TEST_MODEL_DIR and RAGKIT_TEST_SCIFACT_DIR (see the docstring)")
    docs, queries, dataset = real
    texts = dataset.corpus_texts  # type: ignore[attr-defined]
    folder = Path(tempfile.mkdtemp(prefix="ragkit-hybrid-"))
    embedder = CachedQueries(dataset.query_texts, queries)  # type: ignore[attr-defined]
    store = ChromaStore("scifact", embedder=embedder, path=folder / "db", index_dir=folder)
    store.add(dataset.corpus_ids, embeddings=docs, documents=texts)  # type: ignore[attr-defined]
    print(f"| {'Search':<56} | NDCG@10 | Recall@100 | ms/query |")
    print(f"|{'-' * 58}|---------|------------|----------|")

    def row(name: str, search: Callable[[str, int], list[str]]) -> None:
        start = time.perf_counter()
        found = score(search, dataset)
        per_query = (time.perf_counter() - start) * 1000 / (2 * len(dataset.query_ids))  # type: ignore[attr-defined]
        print(
            f"| {name:<56} | {found['ndcg@10']:.3f}   | {found['recall@100']:.3f}      | {per_query:8.1f} |"
        )

    row("dense (store.query)", lambda q, k: [h.id for h in store.query(q, k)])
    for name, options in BM25_ROWS:
        analyzer = Analyzer(stemmer=options.pop("stemmer", "english"))
        start = time.perf_counter()
        lexical = BM25Index(store, analyzer=analyzer, persist=False, **options)
        lexical.refresh()
        print(f"(built {name}: {len(lexical)} records in {time.perf_counter() - start:.2f} s)")
        row(name, lambda q, k, index=lexical: [i for i, _ in index.search(q, k)])
        lexical.close()
    lexical = BM25Index(store, persist=False)
    for name, options in FUSION_ROWS:
        row(
            name,
            lambda q, k, o=options: [
                h.id for h in hybrid_search(store, lexical, q, k, **fetch(o, k))
            ],
        )
    print(f"(BM25 index: {lexical.nbytes() / 2**20:.1f} MiB for {len(lexical)} records)")
    store.close()


if __name__ == "__main__":
    main()
