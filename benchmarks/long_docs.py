"""Long-document retrieval on SciFact: truncation, naive chunking and late chunking.

SciFact documents are concatenated, ``--group`` at a time in random order, into long documents
(8 abstracts: about 2,000-2,500 tokens, ten MiniLM windows). A long document is relevant to a
query when it contains a document judged relevant (grade: the best of them), and it is scored
by its best chunk, or by its single vector when truncated. Strategies:

* **truncation**: the long document as one text; the embedder keeps its first window.
* **naive chunking**: ``RecursiveChunker`` chunks, each embedded on its own.
* **late chunking**: the same chunks, mean-pooled from the whole document's token states
  (macro-windows with the default overlap, a quarter of the window).
* **original documents** (a reference, not a strategy): each SciFact document embedded on
  its own, the long document scored by its best one: chunking that knows the true boundaries.

The neighbours of an abstract in a long document are unrelated abstracts, so the context late
chunking brings a chunk is mostly other documents' topics: this task shows what late chunking
costs or gains when the context does not help, against truncation's loss of all but the first
window. Coherent long texts (one paper, one manual) are where the context should pay.

``--docs N`` keeps N documents: those judged relevant to a test query first (so every query
can be answered), then random others. Prints a Markdown table.

    RAGKIT_TEST_MODEL_DIR=../shared/models/all-MiniLM-L6-v2 \\
    RAGKIT_TEST_SCIFACT_DIR=../shared/datasets/scifact \\
        python benchmarks/long_docs.py --docs 600 --precision int8
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from ragkit import RecursiveChunker, TextEmbedder, late_chunk_documents
from ragkit.eval.beir import BeirDataset, load_beir
from ragkit.eval.metrics import evaluate


@dataclass(frozen=True)
class LongCorpus:
    """Long documents built from SciFact, with the judgements mapped onto them."""

    ids: list[str]
    texts: list[str]
    parts: list[list[str]]  # the SciFact texts each long document holds, in order
    query_texts: list[str]
    qrels: dict[str, dict[str, int]]


def build(data: BeirDataset, docs: int, group: int, rng: random.Random) -> LongCorpus:
    """Keep ``docs`` documents (judged ones first), shuffle, concatenate ``group`` at a time."""
    judged = sorted({d for grades in data.qrels.values() for d in grades})
    index = {doc_id: i for i, doc_id in enumerate(data.corpus_ids)}
    keep = [index[d] for d in judged if d in index][:docs]
    taken = set(keep)
    others = [i for i in range(len(data.corpus_ids)) if i not in taken]
    keep += rng.sample(others, max(docs - len(keep), 0))
    rng.shuffle(keep)
    ids: list[str] = []
    texts: list[str] = []
    parts: list[list[str]] = []
    home: dict[str, str] = {}
    for first in range(0, len(keep), group):
        members = keep[first : first + group]
        long_id = f"long{len(ids)}"
        for i in members:
            home[data.corpus_ids[i]] = long_id
        ids.append(long_id)
        parts.append([data.corpus_texts[i] for i in members])
        texts.append("\n\n".join(parts[-1]))
    qrels: dict[str, dict[str, int]] = {}
    for query_id, grades in data.qrels.items():
        for doc_id, grade in grades.items():
            if doc_id in home and grade > 0:
                mapped = qrels.setdefault(query_id, {})
                mapped[home[doc_id]] = max(mapped.get(home[doc_id], 0), grade)
    by_id = dict(zip(data.query_ids, data.query_texts, strict=True))
    return LongCorpus(ids, texts, parts, [by_id[q] for q in qrels], qrels)


Strategy = Callable[[TextEmbedder, LongCorpus, int | None], list[np.ndarray]]


def truncation(
    embedder: TextEmbedder, corpus: LongCorpus, chunk_size: int | None
) -> list[np.ndarray]:
    return [v[None, :] for v in embedder.embed_documents(corpus.texts)]


def naive(embedder: TextEmbedder, corpus: LongCorpus, chunk_size: int | None) -> list[np.ndarray]:
    chunker = RecursiveChunker(embedder, chunk_size=chunk_size)
    chunks = [chunker.chunk(t, source_id=i) for i, t in zip(corpus.ids, corpus.texts, strict=True)]
    flat = embedder.embed_documents([c.embed_text for doc in chunks for c in doc])
    return _split(flat, [len(doc) for doc in chunks])


def late(embedder: TextEmbedder, corpus: LongCorpus, chunk_size: int | None) -> list[np.ndarray]:
    chunker = RecursiveChunker(embedder, chunk_size=chunk_size)
    documents = [
        (t, chunker.chunk(t, source_id=i)) for i, t in zip(corpus.ids, corpus.texts, strict=True)
    ]
    return late_chunk_documents(embedder, documents)


def originals(
    embedder: TextEmbedder, corpus: LongCorpus, chunk_size: int | None
) -> list[np.ndarray]:
    flat = embedder.embed_documents([p for doc in corpus.parts for p in doc])
    return _split(flat, [len(doc) for doc in corpus.parts])


def _split(flat: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    bounds = np.cumsum([0, *sizes])
    return [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def score(
    embedder: TextEmbedder, corpus: LongCorpus, vectors: list[np.ndarray]
) -> dict[str, float]:
    queries = embedder.embed_query(corpus.query_texts)
    best = np.stack([(v @ queries.T).max(axis=0) for v in vectors])  # (long docs, queries)
    run = {
        q: {d: float(best[j, i]) for j, d in enumerate(corpus.ids)}
        for i, q in enumerate(corpus.qrels)
    }
    return evaluate(run, corpus.qrels, ks=(10,))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=600, help="SciFact documents to keep")
    parser.add_argument("--group", type=int, default=8, help="documents per long document")
    parser.add_argument(
        "--chunk-size",
        type=int,
        nargs="+",
        default=[0],
        help="chunk sizes in tokens to try (0: the window, the default)",
    )
    parser.add_argument("--precision", choices=["fp32", "int8"], default="int8")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    model, data = os.environ.get("RAGKIT_TEST_MODEL_DIR"), os.environ.get("RAGKIT_TEST_SCIFACT_DIR")
    if not model or not data:
        raise SystemExit("Set RAGKIT_TEST_MODEL_DIR and RAGKIT_TEST_SCIFACT_DIR.")
    corpus = build(load_beir(Path(data)), args.docs, args.group, random.Random(args.seed))
    embedder = TextEmbedder(model, precision=args.precision, truncation="silent")
    tokenizer = Tokenizer.from_file(str(Path(model) / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    tokens = [len(e.ids) for e in tokenizer.encode_batch(corpus.texts)]
    print(
        f"{len(corpus.ids)} long documents of {args.group} SciFact documents "
        f"({args.docs} kept; {np.mean(tokens):,.0f} tokens on average, {min(tokens):,}-"
        f"{max(tokens):,}), {len(corpus.qrels)} queries; {Path(model).name} {args.precision}, "
        f"{embedder.max_tokens}-token window.\n"
    )
    print("| strategy | chunk size | vectors | NDCG@10 | Recall@10 | s |")
    print("|---|---:|---:|---:|---:|---:|")
    rows: list[tuple[str, Strategy, int | None]] = [("truncation (first window)", truncation, None)]
    for size in args.chunk_size:
        rows += [("naive chunking", naive, size or None), ("late chunking", late, size or None)]
    rows.append(("original documents (reference)", originals, None))
    for name, strategy, size in rows:
        start = time.perf_counter()
        vectors = strategy(embedder, corpus, size)
        seconds = time.perf_counter() - start
        result = score(embedder, corpus, vectors)
        shown = "-" if strategy in (truncation, originals) else str(size or "window")
        print(
            f"| {name} | {shown} | {sum(len(v) for v in vectors):,} | {result['ndcg@10']:.3f} | "
            f"{result['recall@10']:.3f} | {seconds:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
