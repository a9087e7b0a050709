"""A LlamaIndex app on SciFact: ChromaVectorStore + FastEmbedEmbedding against RagkitRetriever.

Both sides run in their own process (peak RSS is per side) on the same model file and go
through LlamaIndex's own calls: the peer builds ``VectorStoreIndex.from_documents`` over an
in-memory Chroma collection with ``FastEmbedEmbedding`` and queries ``index.as_retriever``;
ragkit indexes the BEIR ``corpus.jsonl`` with ``Indexer`` (chunks within the model's window)
into a ChromaStore and queries ``RagkitRetriever``, first over ``Retriever`` (dense), then over
``Retriever(hybrid=BM25Index(store))`` (dense and BM25 fused; the same index, so the second
row's peak RSS includes the first's). Each side retrieves 20 nodes per query; a document's
score is its best node's, and NDCG@10 is over the top 10 documents.

    pip install llama-index-vector-stores-chroma llama-index-embeddings-fastembed fastembed
    RAGKIT_TEST_MODEL_DIR=../shared/models/all-MiniLM-L6-v2 \\
    RAGKIT_TEST_SCIFACT_DIR=../shared/datasets/scifact python benchmarks/llama_index_scifact.py
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from embed_throughput import fastembed_folder

from ragkit.eval.beir import load_beir
from ragkit.eval.metrics import evaluate

FETCH = 20


def best_per_document(pairs: list[tuple[str, float]]) -> dict[str, float]:
    scores: dict[str, float] = {}
    for doc, score in pairs:
        scores[doc] = max(score, scores.get(doc, float("-inf")))
    return dict(sorted(scores.items(), key=lambda item: -item[1])[:10])


def peer(model: Path, data: Path, work: Path) -> dict[str, Any]:
    import chromadb
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.embeddings.fastembed import FastEmbedEmbedding
    from llama_index.vector_stores.chroma import ChromaVectorStore

    embed = FastEmbedEmbedding(  # the same model file, from a local folder
        model_name="sentence-transformers/all-MiniLM-L6-v2",
        threads=2,
        cache_dir=str(work),
        specific_model_path=str(fastembed_folder(model, 256, work)),
    )
    lines = [json.loads(line) for line in (data / "corpus.jsonl").open(encoding="utf-8")]
    documents = [Document(text=f"{d['title']} {d['text']}".strip(), doc_id=d["_id"]) for d in lines]
    collection = chromadb.EphemeralClient().create_collection("scifact")
    storage = StorageContext.from_defaults(
        vector_store=ChromaVectorStore(chroma_collection=collection)
    )
    start = time.perf_counter()
    index = VectorStoreIndex.from_documents(documents, storage_context=storage, embed_model=embed)
    built = time.perf_counter() - start
    retriever = index.as_retriever(similarity_top_k=FETCH)
    return {
        "index_s": built,
        "retrieve": lambda q: [(n.node.ref_doc_id, n.score) for n in retriever.retrieve(q)],
    }


def ragkit_side(model: Path, data: Path, work: Path, precision: str) -> dict[str, Any]:
    from llama_index.retrievers.ragkit import RagkitRetriever

    from ragkit import BM25Index, ChromaStore, Indexer, RecursiveChunker, Retriever, TextEmbedder

    folder = work / "corpus"
    folder.mkdir()
    shutil.copy(data / "corpus.jsonl", folder / "corpus.jsonl")
    embedder = TextEmbedder(model, precision=precision, threads=2)
    store = ChromaStore("scifact", embedder=embedder, path=work / "store")
    start = time.perf_counter()
    Indexer(store, RecursiveChunker(embedder)).index([folder])
    built = time.perf_counter() - start

    def through(retriever: RagkitRetriever) -> Any:
        def retrieve(q: str) -> list[tuple[str, float]]:
            return [(n.node.metadata["record_id"], n.score) for n in retriever.retrieve(q)]

        return retrieve

    return {
        "index_s": built,
        "retrieve": through(RagkitRetriever(Retriever(store, k=FETCH))),
        # Built after the dense row is measured, so that row's peak RSS leaves it out.
        "then": lambda: through(
            RagkitRetriever(Retriever(store, k=FETCH, hybrid=BM25Index(store)))
        ),
    }


def worker(side: str, precision: str) -> None:
    model, data = (
        Path(os.environ["RAGKIT_TEST_MODEL_DIR"]),
        Path(os.environ["RAGKIT_TEST_SCIFACT_DIR"]),
    )
    work = Path(tempfile.mkdtemp(prefix="ragkit-li-bench-"))
    try:
        built = (
            peer(model, data, work) if side == "peer" else ragkit_side(model, data, work, precision)
        )
        beir = load_beir(data)
        retrieve = built["retrieve"]
        while retrieve is not None:
            start = time.perf_counter()
            run = {
                qid: best_per_document([(d, s or 0.0) for d, s in retrieve(text)])
                for qid, text in zip(beir.query_ids, beir.query_texts, strict=True)
            }
            per_query = (time.perf_counter() - start) / len(run)
            metrics = evaluate(run, beir.qrels, ks=(10,))
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            row = {
                "ndcg@10": metrics["ndcg@10"],
                "index_s": built["index_s"],
                "query_ms": 1000 * per_query,
                "peak_rss_mb": peak,
            }
            print(json.dumps(row), flush=True)
            then = built.pop("then", None)
            retrieve = then() if then is not None else None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--worker", choices=["peer", "ragkit"])
    parser.add_argument("--precision", choices=["fp32", "int8"], default="fp32")
    parser.add_argument(
        "--sides", nargs="+", choices=["peer", "ragkit"], default=["peer", "ragkit"]
    )
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.precision)
        return
    labels = {
        "peer": ["ChromaVectorStore + FastEmbedEmbedding (fastembed fp32)"],
        "ragkit": [
            f"RagkitRetriever (ragkit {args.precision}, dense)",
            f"RagkitRetriever (ragkit {args.precision}, hybrid: dense + BM25)",
        ],
    }
    rows = []
    for side in args.sides:
        done = subprocess.run(
            [sys.executable, __file__, "--worker", side, "--precision", args.precision],
            capture_output=True,
            text=True,
            check=True,
        )
        results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        rows += list(zip(labels[side], results, strict=True))
    print("| LlamaIndex app | NDCG@10 | index s | query ms | peak RSS MB |")
    print("|---|---:|---:|---:|---:|")
    for label, r in rows:
        print(
            f"| {label} | {r['ndcg@10']:.4f} | {r['index_s']:.1f} | {r['query_ms']:.1f} | {r['peak_rss_mb']:,.0f} |"
        )


if __name__ == "__main__":
    main()
