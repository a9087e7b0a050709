"""Cross-encoder reranking speed: ragkit's CrossEncoderReranker beside FlashRank, same model file.

No cross-encoder weights are reachable here, so the model is built with the compute of
ms-marco-MiniLM-L-6-v2: the real all-MiniLM-L6-v2 encoder (6 layers, 384-d, BERT vocabulary)
with a BertForSequenceClassification head appended by ONNX graph surgery: the [CLS] state,
a dense tanh pooler and a linear one-logit layer (fixed-seed random weights). Scores are
meaningless; timings equal the real model's. The ms-marco tokenizer tokenises the pairs.

Pairs are SciFact claims with 100 candidate documents each (the judged ones plus seeded random
others), title and text, up to 512 tokens. Engines run interleaved over several rounds with 2
threads; the table gives medians over rounds of pairs/s and of the per-query latency of
reranking 100 candidates.

    pip install flashrank  # 0.2.10
    python benchmarks/rerank_throughput.py --model-dir ../shared/models/all-MiniLM-L6-v2 \\
        --tokenizer-dir ../shared/tokenizers/ms-marco-MiniLM-L-12-v2 \\
        --scifact-dir ../shared/datasets/scifact

(``RAGKIT_TEST_MODEL_DIR``, ``RAGKIT_TEST_TOKENIZERS_DIR``/ms-marco-MiniLM-L-12-v2 and
``RAGKIT_TEST_SCIFACT_DIR`` are the defaults.)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ragkit._resolve import build_int8
from ragkit.rerank.cross_encoder import CrossEncoderReranker

TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "config.json",
)
FLASHRANK_NAME = "ms-marco-MiniLM-L-12-v2"  # FlashRank looks for this name's files in cache_dir


def build_cross_encoder(encoder: Path, target: Path, seed: int = 0) -> None:
    """Append CLS pooling, a tanh pooler and a one-logit head to a BERT encoder graph."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(encoder))
    graph = model.graph
    states = graph.output[0].name
    hidden = graph.output[0].type.tensor_type.shape.dim[-1].dim_value or 384
    rng = np.random.default_rng(seed)
    graph.initializer.extend(
        [
            numpy_helper.from_array(np.array(0, dtype=np.int64), "ce_cls_index"),
            numpy_helper.from_array(
                rng.normal(0, 0.05, (hidden, hidden)).astype(np.float32), "ce_pool_w"
            ),
            numpy_helper.from_array(np.zeros(hidden, dtype=np.float32), "ce_pool_b"),
            numpy_helper.from_array(
                rng.normal(0, 0.05, (hidden, 1)).astype(np.float32), "ce_cls_w"
            ),
            numpy_helper.from_array(np.zeros(1, dtype=np.float32), "ce_cls_b"),
        ]
    )
    graph.node.extend(
        [
            helper.make_node("Gather", [states, "ce_cls_index"], ["ce_cls"], axis=1),
            helper.make_node("MatMul", ["ce_cls", "ce_pool_w"], ["ce_p1"]),
            helper.make_node("Add", ["ce_p1", "ce_pool_b"], ["ce_p2"]),
            helper.make_node("Tanh", ["ce_p2"], ["ce_pooled"]),
            helper.make_node("MatMul", ["ce_pooled", "ce_cls_w"], ["ce_l1"]),
            helper.make_node("Add", ["ce_l1", "ce_cls_b"], ["logits"]),
        ]
    )
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 1]))
    onnx.save(model, str(target))


def load_pairs(
    scifact: Path, queries: int, candidates: int, seed: int
) -> list[tuple[str, list[str]]]:
    corpus = {}
    with (scifact / "corpus.jsonl").open() as f:
        for line in f:
            doc = json.loads(line)
            corpus[doc["_id"]] = f"{doc['title']} {doc['text']}".strip()
    texts = {}
    with (scifact / "queries.jsonl").open() as f:
        for line in f:
            q = json.loads(line)
            texts[q["_id"]] = q["text"]
    judged: dict[str, list[str]] = {}
    for line in (scifact / "qrels" / "test.tsv").read_text().splitlines()[1:]:
        qid, did, _ = line.split("\t")
        judged.setdefault(qid, []).append(did)
    rng = random.Random(seed)
    ids = sorted(corpus)
    out = []
    for qid in sorted(judged)[:queries]:
        docs = list(judged[qid])
        docs += [d for d in rng.sample(ids, candidates) if d not in docs][: candidates - len(docs)]
        rng.shuffle(docs)
        out.append((texts[qid], [corpus[d] for d in docs]))
    return out


def flashrank_engine(
    model_file: Path, tokenizer_dir: Path, cache: Path
) -> Callable[[str, list[str]], object]:
    from flashrank import Ranker, RerankRequest
    from flashrank.Config import model_file_map

    folder = cache / FLASHRANK_NAME
    folder.mkdir(parents=True, exist_ok=True)
    for name in TOKENIZER_FILES:
        shutil.copy(tokenizer_dir / name, folder / name)
    shutil.copy(model_file, folder / model_file_map[FLASHRANK_NAME])
    ranker = Ranker(model_name=FLASHRANK_NAME, cache_dir=str(cache), max_length=512)

    def run(query: str, docs: list[str]) -> object:
        passages = [{"id": i, "text": d} for i, d in enumerate(docs)]
        return ranker.rerank(RerankRequest(query=query, passages=passages))

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    tokenizers = Path(os.environ.get("RAGKIT_TEST_TOKENIZERS_DIR", "."))
    parser.add_argument("--model-dir", type=Path, default=os.environ.get("RAGKIT_TEST_MODEL_DIR"))
    parser.add_argument(
        "--tokenizer-dir", type=Path, default=tokenizers / "ms-marco-MiniLM-L-12-v2"
    )
    parser.add_argument(
        "--scifact-dir", type=Path, default=os.environ.get("RAGKIT_TEST_SCIFACT_DIR")
    )
    parser.add_argument("--queries", type=int, default=5)
    parser.add_argument("--candidates", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-flashrank", action="store_true")
    args = parser.parse_args()
    if args.model_dir is None or args.scifact_dir is None:
        parser.error(
            "pass --model-dir and --scifact-dir (or set RAGKIT_TEST_MODEL_DIR / _SCIFACT_DIR)"
        )

    work = Path(tempfile.mkdtemp(prefix="rerank-bench-"))
    folder = work / "ms-marco-shaped"
    folder.mkdir()
    for name in TOKENIZER_FILES:
        shutil.copy(args.tokenizer_dir / name, folder / name)
    build_cross_encoder(args.model_dir / "model.onnx", folder / "model.onnx")
    int8_file = build_int8(folder / "model.onnx", work / "cache")
    pairs = load_pairs(args.scifact_dir, args.queries, args.candidates, seed=0)

    engines: dict[str, Callable[[str, list[str]], object]] = {}
    for precision in ("fp32", "int8"):
        reranker = CrossEncoderReranker(
            folder,
            precision=precision,
            threads=args.threads,
            cache_dir=work / "cache",
            lazy_load=False,
        )
        engines[f"ragkit {precision}"] = reranker.rank
    if not args.no_flashrank:
        engines["FlashRank fp32"] = flashrank_engine(
            folder / "model.onnx", args.tokenizer_dir, work / "fr32"
        )
        engines["FlashRank int8"] = flashrank_engine(int8_file, args.tokenizer_dir, work / "fr8")

    check = pairs[0]
    ours = CrossEncoderReranker(folder, threads=args.threads).score(check[0], check[1])
    if not args.no_flashrank:
        theirs = engines["FlashRank fp32"](check[0], check[1])
        fr = np.array([p["score"] for p in sorted(theirs, key=lambda p: p["id"])])  # type: ignore[attr-defined]
        print(f"fp32 scores, ragkit vs FlashRank: max |diff| {np.abs(ours - fr).max():.2e}")

    for run in engines.values():  # warm-up: arenas, caches
        run(*pairs[0])
    latency: dict[str, list[float]] = {name: [] for name in engines}
    rate: dict[str, list[float]] = {name: [] for name in engines}
    for _ in range(args.rounds):
        for name, run in engines.items():
            times = []
            for query, docs in pairs:
                start = time.perf_counter()
                run(query, docs)
                times.append(time.perf_counter() - start)
            latency[name].append(statistics.median(times))
            rate[name].append(sum(len(d) for _, d in pairs) / sum(times))
    print(
        f"\n{len(pairs)} queries x {args.candidates} candidates, {args.rounds} rounds, "
        f"{args.threads} threads\n"
    )
    print("| engine | pairs/s | ms per query (100 candidates) | rounds' pairs/s |")
    print("|---|---:|---:|---|")
    for name in engines:
        spread = ", ".join(f"{r:.1f}" for r in rate[name])
        print(
            f"| {name} | {statistics.median(rate[name]):.1f} | "
            f"{1000 * statistics.median(latency[name]):.0f} | {spread} |"
        )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
