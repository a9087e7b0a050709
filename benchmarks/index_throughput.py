"""End-to-end indexing (``Indexer.index``) against pure embedding of the same chunks.

The first N SciFact documents are written as one BEIR ``corpus.jsonl`` in a temporary folder.
"pure embedding" is ``embedder.embed_documents`` over the exact chunk texts the indexer
embeds (chunked beforehand, untimed); "end to end" is a fresh ``Indexer.index`` of the folder
into a fresh persistent ChromaStore: loading, chunking, embedding, and writing chunks,
metadata, codes and the manifest. The two take turns, ``--rounds`` times, same embedder.

    RAGKIT_TEST_MODEL_DIR=../shared/models/all-MiniLM-L6-v2 \\
    RAGKIT_TEST_SCIFACT_DIR=../shared/datasets/scifact \\
        python benchmarks/index_throughput.py --docs 1000 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from ragkit import ChromaStore, Indexer, RecursiveChunker, TextEmbedder
from ragkit.loaders import load_file


def write_corpus(scifact: Path, n: int, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with (scifact / "corpus.jsonl").open(encoding="utf-8") as source:
        lines = [line for _, line in zip(range(n), source, strict=False)]
    target = folder / "corpus.jsonl"
    target.write_text("".join(lines), encoding="utf-8")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--precision", choices=["fp32", "int8"], default="int8")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    model = os.environ.get("RAGKIT_TEST_MODEL_DIR")
    data = os.environ.get("RAGKIT_TEST_SCIFACT_DIR")
    if not model or not data:
        raise SystemExit("Set RAGKIT_TEST_MODEL_DIR and RAGKIT_TEST_SCIFACT_DIR.")
    work = Path(tempfile.mkdtemp(prefix="ragkit-index-bench-"))
    try:
        corpus = write_corpus(Path(data), args.docs, work / "corpus")
        embedder = TextEmbedder(model, precision=args.precision, threads=args.threads)
        chunker = RecursiveChunker(embedder)
        documents = load_file(corpus)
        texts = [
            c.embed_text
            for d in documents
            for c in chunker.chunk(d.text, source_id=d.id, title=d.title)
        ]
        embedder.embed_documents(texts[:64])  # warm up ONNX Runtime
        pure, full, tokens = [], [], 0
        for r in range(args.rounds):
            start = time.perf_counter()
            embedder.embed_documents(texts)
            pure.append(time.perf_counter() - start)
            tokens = embedder.last_stats.tokens
            store = ChromaStore("bench", embedder=embedder, path=work / f"store-{r}")
            start = time.perf_counter()
            report = Indexer(store, chunker).index([corpus.parent])
            full.append(time.perf_counter() - start)
            store.close()
            assert report.chunks_written == len(texts), (report.chunks_written, len(texts))
        best_pure, best_full = min(pure), min(full)
        print(
            f"{len(documents):,} SciFact documents → {len(texts):,} chunks, {tokens:,} tokens; "
            f"all-MiniLM-L6-v2 {args.precision}, {os.cpu_count()} cores, {args.rounds} rounds "
            "taking turns (best of each).\n"
        )
        print("| path | seconds | chunks/s | tokens/s | vs pure embedding |")
        print("|---|---:|---:|---:|---:|")
        for name, seconds in (
            ("pure embedding", best_pure),
            ("Indexer.index, end to end", best_full),
        ):
            print(
                f"| {name} | {seconds:.1f} | {len(texts) / seconds:,.1f} | "
                f"{tokens / seconds:,.0f} | {seconds / best_pure:.3f}× |"
            )
        print(
            "\n"
            + json.dumps(
                {
                    "pure_s": pure,
                    "full_s": full,
                    "median_ratio": statistics.median(
                        f / p for f, p in zip(full, pure, strict=True)
                    ),
                }
            )
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
