"""Relevance filtering on SciFact: do judged queries keep their answers while off-topic ones get none?

SciFact's corpus goes into a ChromaStore as one chunk per document, and three sets of queries
go through ``Retriever(store, k=10, min_relevance=...)``, the real code path:

- the 300 judged test queries (each has relevant documents);
- 60 off-topic questions written for this benchmark (cooking, sport, travel, code, money,
  DIY, gardening, music, cars, games...), which nothing in a corpus of biomedical claims
  answers;
- 300 word-salad queries: words drawn at random from all the judged queries, as many as a
  random judged query has (in-domain words, no question).

The filter acts on each candidate alone, so one run with threshold 0 records every relevance
estimate and each threshold's result is the subset of the top 10 at or above it.

Reported per threshold: the share of each query set that gets any passage ("answered"), the
recall of relevant results (of the judged queries whose unfiltered top 10 holds a relevant
document, the share that still holds one) and the precision of "has a relevant result" (of
the judged and off-topic queries that get passages, the share whose passages hold one).
Compared with a raw cosine cut-off (LangChain's ``score_threshold``) and with the per-query
z-score (each cosine against the query's own cosines over 1,000 random stored documents),
which ragkit does not use. Then the same thresholds on stores whose cosine scale differs:
an anisotropic variant of the model (every vector plus 0.8 times the corpus mean direction,
renormalised: unrelated pairs then score around 0.6, as with e5-style models), a store
keeping the first 64 dimensions, and one keeping 128 whitened PCA dimensions.

    RAGKIT_TEST_MODEL_DIR=../shared/models/all-MiniLM-L6-v2 \\
    RAGKIT_TEST_SCIFACT_DIR=../shared/datasets/scifact \\
        python benchmarks/relevance_filter.py --cache /tmp/ragkit-bench
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ragkit.embed.pooling import l2_normalize
from ragkit.eval.beir import BeirDataset, load_beir
from ragkit.rerank.relevance import DEFAULT_MIN_RELEVANCE
from ragkit.retrieval import Passage, Retriever
from ragkit.store.chroma import ChromaStore

OFF_TOPIC = (
    "How often should I feed a sourdough starter?",
    "What is the best way to season a cast iron pan?",
    "How long do I boil an egg for a runny yolk?",
    "Which wine goes well with grilled salmon?",
    "How do I make fresh pasta without a machine?",
    "Who won the 1998 football World Cup final?",
    "How many players are on a cricket team?",
    "What is the offside rule in ice hockey?",
    "How do I improve my chess endgame?",
    "What are the rules of pickleball scoring?",
    "Cheapest way to travel from Paris to Rome by train",
    "Do I need a visa to visit Japan as a tourist?",
    "What should I pack for a week of hiking in Patagonia?",
    "Best time of year to see the northern lights in Iceland",
    "How do I renew my passport online?",
    "How do I reverse a linked list in Python?",
    "What is the difference between git merge and git rebase?",
    "How do I center a div with CSS flexbox?",
    "Why does my Docker container exit immediately?",
    "How do I configure nginx as a reverse proxy?",
    "What is a good interest rate for a 30 year mortgage?",
    "How do index funds differ from ETFs?",
    "How do I file a tax return as a freelancer?",
    "What happens to my pension if I change jobs?",
    "How do I dispute a charge on my credit card statement?",
    "How do I replace a leaking kitchen faucet?",
    "What size drill bit do I need for a wall plug?",
    "How do I fix a squeaky door hinge?",
    "How can I paint a room without leaving streaks?",
    "How do I unclog a bathroom sink without chemicals?",
    "When should I plant tomato seedlings outdoors?",
    "How often should I water a succulent?",
    "How do I get rid of aphids on roses?",
    "What is the best soil for growing blueberries?",
    "How do I prune an apple tree in winter?",
    "What chords are in the key of G major?",
    "How do I tune a guitar to drop D?",
    "Who composed the Four Seasons?",
    "What is the difference between a sonnet and a haiku?",
    "Recommend a novel similar to The Hobbit",
    "How do I change the oil in my car?",
    "Why is my car battery draining overnight?",
    "What tyre pressure should a bicycle have?",
    "How do I parallel park a large SUV?",
    "What does the check engine light mean?",
    "How do I beat the final boss in Dark Souls?",
    "What is the best opening move in Go?",
    "How do I build a redstone clock in Minecraft?",
    "Which board games are good for six players?",
    "How do I solve a Rubik's cube faster?",
    "How do I write a cover letter for a marketing job?",
    "What should I wear to a job interview at a startup?",
    "How do I ask my landlord to fix the heating?",
    "What is the etiquette for tipping in restaurants in the United States?",
    "How do I plan a surprise birthday party?",
    "How do I remove red wine stains from a carpet?",
    "What is the capital of Australia?",
    "How tall is the Eiffel Tower?",
    "When did the Roman Empire fall?",
    "How do I train my puppy to stop biting?",
)

THRESHOLDS = (0.0, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999)
COSINES = (0.3, 0.35, 0.4, 0.45)
Z_SCORES = (3.0, 4.0, 5.0)


class ShiftedEmbedder:
    """An embedder whose vectors all lean towards ``direction`` (an anisotropic model)."""

    def __init__(self, embedder: Any, direction: np.ndarray, weight: float = 0.8) -> None:
        self.embedder, self.shift = embedder, weight * l2_normalize(direction[None])[0]

    @property
    def dim(self) -> int:
        return int(self.embedder.dim)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self.apply(self.embedder.embed_documents(texts))

    def embed_query(self, text: Any) -> np.ndarray:
        vectors = self.apply(np.atleast_2d(self.embedder.embed_query(text)))
        return vectors[0] if isinstance(text, str) else vectors

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        return l2_normalize(np.asarray(vectors, dtype=np.float32) + self.shift)

    def fingerprint(self) -> dict[str, Any]:
        return {**self.embedder.fingerprint(), "shifted": True}


def word_salad(queries: Sequence[str], n: int, seed: int = 0) -> list[str]:
    """``n`` queries of words drawn from all of ``queries``, each as long as a random one."""
    rng = np.random.default_rng(seed)
    words = [w.strip(".,;:?!()") for q in queries for w in q.split()]
    words = [w for w in words if w]
    lengths = [len(q.split()) for q in queries]
    return [" ".join(rng.choice(words, int(rng.choice(lengths)))) for _ in range(n)]


def corpus_vectors(dataset: BeirDataset, embedder: Any, cache: Path | None) -> np.ndarray:
    path = cache / "relevance_scifact_docs.npy" if cache else None
    if path and path.exists():
        return np.load(path)
    start = time.perf_counter()
    vectors = embedder.embed_documents(dataset.corpus_texts)
    print(f"(embedded {len(vectors)} documents in {time.perf_counter() - start:.0f} s)")
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
    return np.asarray(vectors, dtype=np.float32)


def build_store(
    dataset: BeirDataset, embedder: Any, vectors: np.ndarray, **options: Any
) -> ChromaStore:
    """SciFact as one chunk per document, with the offsets Retriever expects."""
    import chromadb
    from chromadb.config import Settings

    client = chromadb.EphemeralClient(settings=Settings(anonymized_telemetry=False))
    name = f"relevance-{uuid.uuid4().hex}"
    store = ChromaStore(name, embedder=embedder, client=client, **options)
    metas = [
        {"source": i, "start": 0, "end": len(t), "position": 0}
        for i, t in zip(dataset.corpus_ids, dataset.corpus_texts, strict=True)
    ]
    store.add(
        dataset.corpus_ids, embeddings=vectors, documents=dataset.corpus_texts, metadatas=metas
    )
    return store


class Runs:
    """The top 10 of every query set through one store, with every stage score recorded."""

    def __init__(self, store: ChromaStore, sets: dict[str, Sequence[str]], qrels: list[Any]):
        retriever = Retriever(store, k=10, min_relevance=0.0)  # every estimate recorded
        start = time.perf_counter()
        self.results = {name: [retriever.retrieve(q) for q in qs] for name, qs in sets.items()}
        self.ms = 1000 * (time.perf_counter() - start) / sum(len(q) for q in sets.values())
        self.qrels = qrels
        self.relevance = retriever.relevance
        self._add_z_scores(store, sets)

    def _add_z_scores(self, store: ChromaStore, sets: dict[str, Sequence[str]]) -> None:
        """Each passage's z-score against its query's cosines over 1,000 random documents."""
        assert store.embedder is not None and store.layout is not None
        ids = store.collection.get(include=[])["ids"]
        sample = np.random.default_rng(0).choice(ids, 1000, replace=False).tolist()
        found = store.collection.get(ids=sample, include=["embeddings"])
        background = l2_normalize(np.asarray(found["embeddings"], dtype=np.float32))
        for name, queries in sets.items():
            vectors = store.embedder.embed_query(list(queries))
            vectors = l2_normalize(store.layout.stored(np.atleast_2d(vectors)))
            for passages, q in zip(self.results[name], vectors, strict=True):
                scores = background @ q
                mean, spread = float(scores.mean()), float(scores.std())
                for i, p in enumerate(passages):
                    z = (p.scores["cosine"] - mean) / spread
                    passages[i] = replace(p, scores={**p.scores, "z": z})

    def row(self, label: str, key: str, threshold: float) -> str:
        judged, off, salad = (self.results[n] for n in ("judged", "off-topic", "word salad"))
        had = relevant_kept(judged, self.qrels, key, -np.inf)
        kept = relevant_kept(judged, self.qrels, key, threshold)
        answered_judged = answered(judged, key, threshold)
        answered_off = answered(off, key, threshold)
        precision = kept.sum() / max(answered_judged.sum() + answered_off.sum(), 1)
        return (
            f"| {label} | {answered_judged.mean():.3f} | {kept[had].mean():.3f} "
            f"| {precision:.3f} | {answered_off.mean():.3f} "
            f"| {answered(salad, key, threshold).mean():.3f} |"
        )


def answered(results: list[list[Passage]], key: str, threshold: float) -> np.ndarray:
    return np.array([any(p.scores[key] >= threshold for p in r) for r in results])


def relevant_kept(
    results: list[list[Passage]], qrels: list[dict[str, int]], key: str, threshold: float
) -> np.ndarray:
    return np.array(
        [
            any(p.scores[key] >= threshold and qrel.get(p.id, 0) > 0 for p in r)
            for r, qrel in zip(results, qrels, strict=True)
        ]
    )


HEADER = (
    "| filter | judged answered | relevant kept (recall) | precision "
    "| off-topic answered | word salad answered |\n|---|---:|---:|---:|---:|---:|"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=None, help="keep corpus vectors here")
    args = parser.parse_args()
    model_dir = os.environ.get("RAGKIT_TEST_MODEL_DIR")
    data_dir = os.environ.get("RAGKIT_TEST_SCIFACT_DIR")
    if not model_dir or not data_dir:
        raise SystemExit("Set RAGKIT_TEST_MODEL_DIR and RAGKIT_TEST_SCIFACT_DIR.")
    from ragkit.embed import TextEmbedder

    dataset = load_beir(Path(data_dir))
    embedder = TextEmbedder(model_dir, show_progress_bar=False)
    vectors = corpus_vectors(dataset, embedder, args.cache)
    sets = {
        "judged": dataset.query_texts,
        "off-topic": OFF_TOPIC,
        "word salad": word_salad(dataset.query_texts, len(dataset.query_texts)),
    }
    qrels = [dataset.qrels[q] for q in dataset.query_ids]
    base = Runs(build_store(dataset, embedder, vectors), sets, qrels)
    print(
        f"{len(dataset.corpus_ids)} documents; {len(base.results['judged'])} judged, "
        f"{len(OFF_TOPIC)} off-topic and {len(sets['word salad'])} word-salad queries; "
        f"{base.ms:.1f} ms per query with the filter (embedding included); {base.relevance!r}\n"
    )
    print(HEADER)
    for threshold in THRESHOLDS:
        default = " (default)" if threshold == DEFAULT_MIN_RELEVANCE else ""
        print(base.row(f"min_relevance {threshold}{default}", "relevance", threshold))
    for cut in COSINES:
        print(base.row(f"raw cosine {cut}", "cosine", cut))
    for z in Z_SCORES:
        print(base.row(f"per-query z-score {z} (not used)", "z", z))
    shifted = ShiftedEmbedder(embedder, vectors.mean(axis=0))
    variants = {
        "anisotropic model": (shifted, shifted.apply(vectors), {}),
        "first 64 dimensions": (embedder, vectors, {"dim": 64}),
        "128 whitened PCA dimensions": (
            embedder,
            vectors,
            {"dim": 128, "rotate": "pca", "whiten": 1.0},
        ),
    }
    for name, (model, rows, options) in variants.items():
        runs = Runs(build_store(dataset, model, rows, **options), sets, qrels)
        assert runs.relevance is not None
        print(
            f"\n{name}: {runs.relevance!r}, min_relevance {DEFAULT_MIN_RELEVANCE} is cosine "
            f"{runs.relevance.cosine_at(DEFAULT_MIN_RELEVANCE):.3f}\n"
        )
        print(HEADER)
        print(
            runs.row(f"min_relevance {DEFAULT_MIN_RELEVANCE}", "relevance", DEFAULT_MIN_RELEVANCE)
        )
        print(runs.row("raw cosine 0.4", "cosine", 0.4))


if __name__ == "__main__":
    main()
