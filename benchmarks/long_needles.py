"""Needle and passkey retrieval over long documents: truncation, chunking, late chunking.

In the manner of LongEmbed's synthetic tasks (Zhu et al. 2024), every document is a long
haystack holding one fact that only it has, at a random depth; each query asks for one fact,
and exactly one document answers it. A document is scored by its best chunk (or its single
vector when truncated), so the metrics say whether the fact survived embedding:

* **needle**: haystacks of real text (SciFact abstracts, concatenated to ``--tokens``), the
  needle a sentence like "The secret ingredient of the Blue Heron soup is cardamom.", the
  query "What is the secret ingredient of the Blue Heron soup?";
* **passkey**: haystacks of LongEmbed's filler ("The grass is green. The sky is blue. ..."),
  the needle "The pass key for Ada is 48213. Remember it. 48213 is the pass key for Ada.",
  the query "What is the pass key for Ada?".

Strategies: **truncation** (the whole document as one text: the embedder keeps its first
window), **chunking** (``RecursiveChunker``, each chunk embedded on its own), **late
chunking** (the same chunks, pooled from the whole document's token states). Reported:
top-1 accuracy and NDCG@10, overall and for needles past the first window.

    RAGKIT_TEST_MODEL_DIR=../shared/models/all-MiniLM-L6-v2 \\
    RAGKIT_TEST_SCIFACT_DIR=../shared/datasets/scifact \\
        python benchmarks/long_needles.py --docs 40 --tokens 2000
"""

from __future__ import annotations

import argparse
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ragkit import RecursiveChunker, TextEmbedder
from ragkit.chunking import Chunk
from ragkit.eval.beir import load_beir

FILLER = (
    "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again. "
)
SUBJECTS = (
    "Blue Heron soup,Copper Kettle stew,Old Mill bread,Lantern Street pie,Harbour Light cake,"
    "Willow Bend curry,Stone Bridge salad,Red Fox porridge,Silver Birch tart,Ember Lane chili,"
    "North Gate dumplings,Quiet Pond noodles,Ivy Court pudding,Amber Field risotto,Crow Hill "
    "pasta,Green Lantern broth,Mossy Rock sauce,Iron Gate casserole,Foxglove muffins,Tide Pool "
    "chowder,Maple Row pancakes,Kestrel Hall biscuits,Juniper Way goulash,Pebble Beach tacos,"
    "Orchard Lane cobbler,Falcon Ridge flatbread,Thistle Down scones,Harvest Moon gratin,"
    "Bramble Hedge jam,Larkspur sorbet,Cedar Point paella,Otter Creek fritters,Marigold tea,"
    "Heather Glen shortbread,Sparrow Lane quiche,Badger Wood pie,Driftwood chutney,Saffron "
    "Mill loaf,Wren Cottage trifle,Hollow Oak omelette"
).split(",")
INGREDIENTS = (
    "cardamom,smoked paprika,tamarind,star anise,sumac,fenugreek,lemongrass,juniper,saffron,"
    "black garlic,miso,rose water,pink peppercorn,nutmeg,caraway,galangal,mace,asafoetida,"
    "pomegranate molasses,dried lime,epazote,kaffir lime leaf,nigella seed,mastic,za'atar,"
    "long pepper,annatto,grains of paradise,sorrel,lovage,angelica,hyssop,savory,tarragon,"
    "chervil,marjoram,borage,fennel pollen,woodruff,yuzu"
).split(",")
NAMES = (
    "Ada,Bram,Cleo,Dara,Emil,Faye,Gus,Hana,Ivo,Jana,Kai,Lena,Milo,Nora,Otto,Pia,Quin,Rosa,Sami,"
    "Tova,Ugo,Vera,Wes,Xena,Yuri,Zoe,Arlo,Bea,Cyrus,Dina,Eero,Fern,Gil,Hedy,Ira,Juno,Kit,Lior,"
    "Mara,Nils"
).split(",")


@dataclass(frozen=True)
class Case:
    """A long document with its needle, and the query only it answers."""

    doc_id: str
    text: str
    query: str
    depth: int  # the needle's start, in characters (its tokens are counted when scoring)


def needle_cases(haystacks: list[str], rng: random.Random) -> list[Case]:
    cases = []
    for i, haystack in enumerate(haystacks):
        subject, ingredient = SUBJECTS[i % len(SUBJECTS)], INGREDIENTS[i % len(INGREDIENTS)]
        needle = f" The secret ingredient of the {subject} is {ingredient}. "
        text, depth = _insert(haystack, needle, rng)
        cases.append(Case(f"n{i}", text, f"What is the secret ingredient of the {subject}?", depth))
    return cases


def passkey_cases(n: int, chars: int, rng: random.Random) -> list[Case]:
    cases = []
    for i in range(n):
        name, key = NAMES[i % len(NAMES)], rng.randint(10_000, 99_999)
        needle = (
            f" The pass key for {name} is {key}. Remember it. {key} is the pass key for {name}. "
        )
        haystack = (FILLER * (chars // len(FILLER) + 1))[:chars]
        text, depth = _insert(haystack, needle, rng)
        cases.append(Case(f"p{i}", text, f"What is the pass key for {name}?", depth))
    return cases


def _insert(haystack: str, needle: str, rng: random.Random) -> tuple[str, int]:
    """``needle`` at a random sentence boundary of ``haystack``."""
    cuts = [i + 2 for i in range(len(haystack) - 2) if haystack[i : i + 2] == ". "] or [0]
    at = rng.choice(cuts)
    return haystack[:at] + needle.strip() + " " + haystack[at:], at


def scifact_haystacks(data: Path, n: int, chars: int, rng: random.Random) -> list[str]:
    corpus = load_beir(data).corpus_texts
    haystacks = []
    for _ in range(n):
        parts: list[str] = []
        while sum(len(p) for p in parts) < chars:
            parts.append(rng.choice(corpus).replace("\n", " "))
        haystacks.append(" ".join(parts)[:chars].rsplit(". ", 1)[0] + ".")
    return haystacks


Strategy = Callable[[TextEmbedder, list[Case]], list[np.ndarray]]


def truncation(embedder: TextEmbedder, cases: list[Case]) -> list[np.ndarray]:
    vectors = embedder.embed_documents([c.text for c in cases])
    return [v[None, :] for v in vectors]


def chunked(embedder: TextEmbedder, cases: list[Case]) -> list[np.ndarray]:
    chunker = RecursiveChunker(embedder)
    chunks = [chunker.chunk(c.text, source_id=c.doc_id) for c in cases]
    flat = embedder.embed_documents([ch.embed_text for doc in chunks for ch in doc])
    out, start = [], 0
    for doc in chunks:
        out.append(flat[start : start + len(doc)])
        start += len(doc)
    return out


def late(embedder: TextEmbedder, cases: list[Case]) -> list[np.ndarray]:
    from ragkit.embed.late import late_chunk

    chunker = RecursiveChunker(embedder)
    out = []
    for c in cases:
        chunks: list[Chunk] = chunker.chunk(c.text, source_id=c.doc_id)
        out.append(late_chunk(embedder, c.text, chunks))
    return out


def score(embedder: TextEmbedder, cases: list[Case], docs: list[np.ndarray]) -> dict[str, float]:
    queries = embedder.embed_query([c.query for c in cases])
    best = np.stack([(d @ queries.T).max(axis=0) for d in docs])  # (docs, queries)
    counter = embedder.token_counter()
    top1, ndcg, far_top1, far = 0.0, 0.0, 0.0, 0
    for q, case in enumerate(cases):
        order = np.argsort(-best[:, q], kind="stable")
        rank = int(np.flatnonzero(order == q)[0])
        hit = rank == 0
        top1 += hit
        ndcg += 1 / math.log2(rank + 2) if rank < 10 else 0.0
        if counter.count(case.text[: case.depth]) > embedder.max_tokens:  # truncation lost it
            far += 1
            far_top1 += hit
    n = len(cases)
    return {"top1": top1 / n, "ndcg@10": ndcg / n, "far_top1": far_top1 / max(far, 1), "far": far}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=40, help="documents (and queries) per task")
    parser.add_argument("--tokens", type=int, default=2000, help="about this many tokens a doc")
    parser.add_argument("--precision", choices=["fp32", "int8"], default="int8")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    model, data = os.environ.get("RAGKIT_TEST_MODEL_DIR"), os.environ.get("RAGKIT_TEST_SCIFACT_DIR")
    if not model or not data:
        raise SystemExit("Set RAGKIT_TEST_MODEL_DIR and RAGKIT_TEST_SCIFACT_DIR.")
    rng = random.Random(args.seed)
    chars = args.tokens * 5  # SciFact averages about 5 characters a token
    embedder = TextEmbedder(model, precision=args.precision, truncation="silent")
    tasks = {
        "needle (SciFact haystacks)": needle_cases(
            scifact_haystacks(Path(data), args.docs, chars, rng), rng
        ),
        "passkey (filler haystacks)": passkey_cases(args.docs, chars, rng),
    }
    strategies: dict[str, Strategy] = {
        "truncation (first window)": truncation,
        "chunking (each chunk alone)": chunked,
        "late chunking": late,
    }
    print(
        f"{args.docs} documents per task of about {args.tokens:,} tokens, one needle each at a "
        f"random depth; all-MiniLM-L6-v2 {args.precision} ({embedder.max_tokens}-token window).\n"
    )
    print("| task | strategy | top-1 | NDCG@10 | top-1, needle past the first window | s |")
    print("|---|---|---:|---:|---:|---:|")
    for task, cases in tasks.items():
        for name, strategy in strategies.items():
            start = time.perf_counter()
            result = score(embedder, cases, strategy(embedder, cases))
            seconds = time.perf_counter() - start
            print(
                f"| {task} | {name} | {result['top1']:.3f} | {result['ndcg@10']:.3f} | "
                f"{result['far_top1']:.3f} (of {result['far']:.0f}) | {seconds:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
