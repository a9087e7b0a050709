"""Retrieval through each framework adapter against calling ragkit directly, same store.

The first N SciFact documents are indexed with ``Indexer`` into a temporary persistent store;
each judged query then runs through both paths of a pair, taking turns query by query, for
``--rounds`` rounds:

- LlamaIndex ``RagkitRetriever.retrieve`` against ``ragkit.Retriever.retrieve``;
- LangChain ``RagkitVectorStore.similarity_search_with_score`` against ``ChromaStore.query``.

    RAGKIT_TEST_MODEL_DIR=../shared/models/all-MiniLM-L6-v2 \\
    RAGKIT_TEST_SCIFACT_DIR=../shared/datasets/scifact \\
        python benchmarks/adapter_overhead.py --docs 1000 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from index_throughput import write_corpus
from langchain_ragkit import RagkitVectorStore
from llama_index.retrievers.ragkit import RagkitRetriever

from ragkit import ChromaStore, Indexer, RecursiveChunker, Retriever, TextEmbedder
from ragkit.eval.beir import load_beir


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("-k", type=int, default=10)
    args = parser.parse_args()
    model, data = os.environ.get("RAGKIT_TEST_MODEL_DIR"), os.environ.get("RAGKIT_TEST_SCIFACT_DIR")
    if not model or not data:
        raise SystemExit("Set RAGKIT_TEST_MODEL_DIR and RAGKIT_TEST_SCIFACT_DIR.")
    work = Path(tempfile.mkdtemp(prefix="ragkit-adapter-bench-"))
    try:
        corpus = write_corpus(Path(data), args.docs, work / "corpus")
        embedder = TextEmbedder(model, precision="int8")
        store = ChromaStore("bench", embedder=embedder, path=work / "store")
        Indexer(store, RecursiveChunker(embedder)).index([corpus.parent])
        queries = load_beir(Path(data)).query_texts
        direct = Retriever(store, k=args.k)
        langchain = RagkitVectorStore(store=store)
        pairs: dict[str, tuple[Callable[[str], object], Callable[[str], object]]] = {
            "LlamaIndex RagkitRetriever.retrieve vs Retriever.retrieve": (
                RagkitRetriever(direct).retrieve,
                direct.retrieve,
            ),
            "LangChain similarity_search_with_score vs ChromaStore.query": (
                lambda q: langchain.similarity_search_with_score(q, k=args.k),
                lambda q: store.query(q, k=args.k),
            ),
        }
        for query in queries[:20]:  # warm up every path
            for adapter, plain in pairs.values():
                adapter(query), plain(query)
        print(
            f"{len(queries)} SciFact queries, {store.count():,} chunks, k={args.k}, "
            f"{args.rounds} rounds, paths taking turns query by query.\n"
        )
        print("| pair | adapter ms/query | direct ms/query | adapter / direct |")
        print("|---|---:|---:|---:|")
        for name, (adapter, plain) in pairs.items():
            ratios, through, alone = [], 0.0, 0.0
            for r in range(args.rounds):
                a = b = 0.0
                for q in queries:  # which path goes first alternates by round
                    first, second = (adapter, plain) if r % 2 == 0 else (plain, adapter)
                    t1, t2 = timed(partial(first, q)), timed(partial(second, q))
                    a, b = (a + t1, b + t2) if r % 2 == 0 else (a + t2, b + t1)
                ratios.append(a / b)
                through, alone = through + a, alone + b
            n = args.rounds * len(queries)
            print(
                f"| {name} | {1000 * through / n:.2f} | {1000 * alone / n:.2f} | "
                f"{statistics.median(ratios):.3f}× |"
            )
        store.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
