"""Per-query latency of a ``ragkit index`` store: dense, BM25 alone, and hybrid (dense + BM25).

Each query runs the real calls in turn (``ChromaStore.query``, ``BM25Index.search``,
``hybrid_search``), so the three columns see the same machine state; medians and p95 over
the queries, after a warm-up.

    ragkit index ../shared/datasets/scifact/corpus.jsonl --store /tmp/sf-store \\
        --model ../shared/models/all-MiniLM-L6-v2 --precision int8
    python benchmarks/query_latency.py --store /tmp/sf-store \\
        --model ../shared/models/all-MiniLM-L6-v2 --precision int8 \\
        --queries ../shared/datasets/scifact/queries.jsonl
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from ragkit import BM25Index, ChromaStore, TextEmbedder, hybrid_search


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", required=True, help="folder written by ragkit index")
    parser.add_argument("--collection", default="ragkit")
    parser.add_argument("--model", required=True)
    parser.add_argument("--precision", choices=["fp32", "int8"], default="int8")
    parser.add_argument("--queries", required=True, help="BEIR queries.jsonl")
    parser.add_argument("-n", type=int, default=200, help="queries to time")
    parser.add_argument("-k", type=int, default=10)
    args = parser.parse_args()
    with Path(args.queries).open(encoding="utf-8") as lines:
        queries = [json.loads(line)["text"] for _, line in zip(range(args.n), lines, strict=False)]
    embedder = TextEmbedder(args.model, precision=args.precision)
    store = ChromaStore(args.collection, path=args.store, embedder=embedder)
    lexical = BM25Index(store)
    paths: dict[str, Callable[[str], object]] = {
        "dense (ChromaStore.query)": lambda q: store.query(q, args.k),
        "BM25 alone (BM25Index.search)": lambda q: lexical.search(q, args.k),
        "hybrid (hybrid_search)": lambda q: hybrid_search(store, lexical, q, k=args.k),
    }
    for run in paths.values():  # warm up: the index rebuild, BM25 matrix, ONNX Runtime
        run(queries[0])
    times: dict[str, list[float]] = {name: [] for name in paths}
    for query in queries:
        for name, run in paths.items():
            start = time.perf_counter()
            run(query)
            times[name].append((time.perf_counter() - start) * 1000)
    print(f"{store.count():,} records, {len(queries)} queries, k={args.k}, {args.precision}\n")
    print("| path | median ms | p95 ms |")
    print("|---|---:|---:|")
    for name, ms in times.items():
        p95 = statistics.quantiles(ms, n=20)[-1]
        print(f"| {name} | {statistics.median(ms):.1f} | {p95:.1f} |")


if __name__ == "__main__":
    main()
