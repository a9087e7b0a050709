"""Retrieval quality through ChromaStore on SciFact: every search, rescoring and layout option.

Each row adds the corpus to a fresh in-memory ChromaStore with those options and answers the
300 judged queries through ``store.query`` (the real code path, as ``ragkit eval --search``
does): NDCG@10 from k=10 queries, Recall@100 from k=100 queries, and retention against exact
brute-force search on the same embeddings. Also the time to store the corpus (codes, int8
copies and Chroma writes) against the time to embed it.

    RAGKIT_TEST_MODEL_DIR=../shared/models/all-MiniLM-L6-v2 \\
    RAGKIT_TEST_SCIFACT_DIR=../shared/datasets/scifact \\
        python benchmarks/store_quality.py --cache /tmp/ragkit-bench
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from binary_scan import scifact_embeddings  # noqa: E402

from ragkit.eval import exact_top_k  # noqa: E402
from ragkit.eval.metrics import evaluate  # noqa: E402
from ragkit.eval.runner import StoreOptions, _search_through_store  # noqa: E402

ROWS: list[tuple[str, StoreOptions]] = [
    ("Chroma HNSW (float search)", StoreOptions("float")),
    ("binary, no rescoring", StoreOptions("binary", "none")),
    ("binary → asymmetric ×4", StoreOptions("binary", "asymmetric", 4)),
    (
        "no int8 rows: binary → float ×4, no funnel",
        StoreOptions("binary", "float", 4, funnel=1, int8_rows=False),
    ),
    (
        "no int8 rows: binary ×8 → asymmetric → float ×4",
        StoreOptions("binary", "float", 4, int8_rows=False),
    ),
    (
        "no int8 rows: binary ×8 → asymmetric → int8 ×4 (copies from Chroma)",
        StoreOptions("binary", "int8", 4, int8_rows=False),
    ),
    ("binary, 80 candidates → int8 → float ×4", StoreOptions("binary", "float", 4, candidates=80)),
    ("binary, 1,052 candidates → int8 → float ×4 (default)", StoreOptions("binary", "float", 4)),
    ("binary, 1,052 candidates → int8 (rescore='int8')", StoreOptions("binary", "int8", 4)),
    ("128-d naive truncation, Chroma HNSW", StoreOptions("float", dim=128)),
    (
        "128-d PCA, no whitening, Chroma HNSW",
        StoreOptions("float", dim=128, rotate="pca", whiten=0.0),
    ),
    ("128-d PCA (whiten 0.1), Chroma HNSW", StoreOptions("float", dim=128, rotate="pca")),
    (
        "128-d PCA (whiten 0.2), Chroma HNSW",
        StoreOptions("float", dim=128, rotate="pca", whiten=0.2),
    ),
    (
        "384-bit codes → 128-d PCA float ×4",
        StoreOptions("binary", "float", 4, dim=128, rotate="pca"),
    ),
    ("384-bit codes → 128-d PCA int8 ×4", StoreOptions("binary", "int8", 4, dim=128, rotate="pca")),
    ("256-d PCA (whiten 0.1), Chroma HNSW", StoreOptions("float", dim=256, rotate="pca")),
]


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
    ids, query_ids, qrels = dataset.corpus_ids, dataset.query_ids, dataset.qrels  # type: ignore[attr-defined]
    rows, scores = exact_top_k(queries, docs, 100)
    exact_run = {
        q: {ids[r]: float(s) for r, s in zip(rr, ss, strict=True)}
        for q, rr, ss in zip(query_ids, rows, scores, strict=True)
    }
    exact = evaluate(exact_run, qrels, ks=(10, 100))
    print(f"SciFact: {len(docs)} docs, {len(query_ids)} judged queries, all-MiniLM-L6-v2 int8.\n")
    print("| pipeline | NDCG@10 | of exact | Recall@100 | store s | query ms |")
    print("|---|---:|---:|---:|---:|---:|")
    print(
        f"| exact brute force, 384-d float32 | {exact['ndcg@10']:.4f} | 100.0% | {exact['recall@100']:.4f} | – | – |"
    )
    for name, options in ROWS:
        start = time.perf_counter()
        runs, store_seconds = _search_through_store(
            options, ids, docs, query_ids, queries, (10, 100)
        )
        query_ms = (time.perf_counter() - start - store_seconds) / (2 * len(query_ids)) * 1e3
        ndcg = evaluate(runs[10], qrels, ks=(10,))["ndcg@10"]
        recall = evaluate(runs[100], qrels, ks=(100,))["recall@100"]
        print(
            f"| {name} | {ndcg:.4f} | {ndcg / exact['ndcg@10']:.1%} | {recall:.4f} | {store_seconds:.2f} | {query_ms:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
