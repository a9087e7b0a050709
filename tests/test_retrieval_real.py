"""The relevance filter on real data: SciFact with all-MiniLM-L6-v2 (skips without them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ragkit import ChromaStore, TextEmbedder
from ragkit.eval.beir import load_beir
from ragkit.rerank.relevance import DEFAULT_MIN_RELEVANCE
from ragkit.retrieval import Retriever

OFF_TOPIC = [
    "How often should I feed a sourdough starter?",
    "Who won the 1998 football World Cup final?",
    "How do I reverse a linked list in Python?",
    "What is a good interest rate for a 30 year mortgage?",
    "How do I fix a squeaky door hinge?",
    "When should I plant tomato seedlings outdoors?",
    "How do I tune a guitar to drop D?",
    "How do I change the oil in my car?",
    "Which board games are good for six players?",
    "What is the capital of Australia?",
]


def test_default_threshold_keeps_judged_answers_and_drops_off_topic_questions(
    real_model_dir: Path, scifact_dir: Path, tmp_path: Path
) -> None:
    data = load_beir(scifact_dir)
    queries = list(zip(data.query_ids, data.query_texts, strict=True))[:20]
    wanted = {doc for qid, _ in queries for doc in data.qrels[qid]}
    rng = np.random.default_rng(0)
    others = [i for i in rng.permutation(len(data.corpus_ids)) if data.corpus_ids[i] not in wanted]
    keep = sorted({data.corpus_ids.index(d) for d in wanted} | set(others[:400]))
    ids = [data.corpus_ids[i] for i in keep]
    texts = [data.corpus_texts[i] for i in keep]
    metas = [
        {"source": i, "start": 0, "end": len(t), "position": 0}
        for i, t in zip(ids, texts, strict=True)
    ]
    embedder = TextEmbedder(real_model_dir, show_progress_bar=False)
    with ChromaStore("scifact", embedder=embedder, path=tmp_path / "store") as store:
        store.add(ids, documents=texts, metadatas=metas)
        retriever = Retriever(store, k=10, min_relevance=DEFAULT_MIN_RELEVANCE)
        kept = [
            any(data.qrels[qid].get(p.id, 0) > 0 for p in retriever.retrieve(text))
            for qid, text in queries
        ]
        off = [bool(retriever.retrieve(q)) for q in OFF_TOPIC]
    assert sum(kept) >= 16  # of 20 (measured on all of SciFact: 96%)
    assert sum(off) <= 2  # of 10 (measured: 2 of 60)
