"""Embedding throughput and memory: ragkit fp32 and int8 against fastembed, side by side.

Same model file, same window (256 tokens), same thread count, the first N SciFact documents
(title + " " + text). Each engine runs in its own subprocess (so peak RSS is its own), and the
engines take turns for several rounds so that machine noise hits them alike; the table shows the
median docs/s per engine and the ratios.

    python benchmarks/embed_throughput.py --model-dir ../shared/models/all-MiniLM-L6-v2 \
        --corpus ../shared/datasets/scifact/corpus.jsonl --docs 1000 --threads 2 --rounds 3
    python benchmarks/embed_throughput.py ... --memory-texts 100000   # RSS across batches

fastembed is optional (`pip install fastembed`); its row is skipped when it is not installed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENGINES = ("ragkit-fp32", "ragkit-int8", "fastembed-fp32")


def load_docs(corpus: Path, n: int) -> list[str]:
    docs = []
    with corpus.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            docs.append((record.get("title", "") + " " + record.get("text", "")).strip())
            if len(docs) >= n:
                break
    return docs


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def fastembed_folder(model_dir: Path, max_tokens: int, workdir: Path) -> Path:
    """fastembed reads its window from tokenizer_config.json: give it the same 256 as ragkit."""
    folder = workdir / "fastembed-model"
    folder.mkdir(exist_ok=True)
    for item in model_dir.iterdir():
        if item.name != "tokenizer_config.json" and not (folder / item.name).exists():
            (folder / item.name).symlink_to(item.resolve())
    config = json.loads((model_dir / "tokenizer_config.json").read_text())
    config["model_max_length"] = max_tokens
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    return folder


def make_engine(name: str, args: argparse.Namespace):  # noqa: ANN201 - returns a callable
    if name.startswith("ragkit"):
        from ragkit.embed import TextEmbedder

        embedder = TextEmbedder(
            args.model_dir,
            precision=name.split("-")[1],
            threads=args.threads,
            max_tokens=args.max_tokens,
            batch_size=args.batch_size,
            truncation="silent",
            show_progress_bar=False,
        )
        return embedder.embed_documents
    from fastembed import TextEmbedding

    workdir = Path(tempfile.mkdtemp(prefix="fastembed-bench-"))
    model = TextEmbedding(
        model_name="sentence-transformers/all-MiniLM-L6-v2",
        specific_model_path=str(fastembed_folder(args.model_dir, args.max_tokens, workdir)),
        threads=args.threads,
        cache_dir=str(workdir),
    )
    return lambda texts: list(model.embed(texts))


def worker(args: argparse.Namespace) -> None:
    docs = load_docs(args.corpus, args.docs)
    embed = make_engine(args.worker, args)
    embed(docs[:32])  # warm-up: session creation, first allocations
    start = time.perf_counter()
    embed(docs)
    seconds = time.perf_counter() - start
    print(json.dumps({"docs_per_s": len(docs) / seconds, "peak_rss_mb": peak_rss_mb()}))


def memory_worker(args: argparse.Namespace) -> None:
    """Embed many short texts in consecutive calls and record RSS as it goes."""
    from ragkit.embed import TextEmbedder

    sentences = [
        s.strip() for d in load_docs(args.corpus, 100_000) for s in d.split(". ") if s.strip()
    ]
    embedder = TextEmbedder(
        args.model_dir,
        precision="int8",
        threads=args.threads,
        truncation="silent",
        show_progress_bar=False,
    )
    step = 5_000
    samples = []
    done = 0
    while done < args.memory_texts:
        texts = [f"{sentences[(done + i) % len(sentences)]} #{done + i}" for i in range(step)]
        embedder.embed_documents(texts)
        done += step
        samples.append((done, current_rss_mb()))
    print(json.dumps({"samples": samples}))


def run_worker(engine: str, args: argparse.Namespace) -> dict[str, float] | None:
    cmd = [sys.executable, __file__, "--worker", engine, *args.passthrough]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(f"{engine} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model-dir", type=Path, default=os.environ.get("RAGKIT_TEST_MODEL_DIR"))
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--memory-texts", type=int, default=0)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.model_dir is None:
        parser.error("--model-dir (or RAGKIT_TEST_MODEL_DIR) is required")
    if args.corpus is None:
        scifact = os.environ.get("RAGKIT_TEST_SCIFACT_DIR")
        args.corpus = Path(scifact) / "corpus.jsonl" if scifact else None
    if args.corpus is None:
        parser.error("--corpus (or RAGKIT_TEST_SCIFACT_DIR) is required")
    if args.worker == "memory":
        memory_worker(args)
        return
    if args.worker:
        worker(args)
        return
    args.passthrough = [
        f"--model-dir={args.model_dir}",
        f"--corpus={args.corpus}",
        f"--docs={args.docs}",
        f"--threads={args.threads}",
        f"--max-tokens={args.max_tokens}",
        f"--batch-size={args.batch_size}",
        f"--memory-texts={args.memory_texts}",
    ]
    if args.memory_texts:
        report = run_worker("memory", args)
        if report:
            samples = report["samples"]  # type: ignore[index]
            print("| texts embedded | RSS (MB) |\n|---:|---:|")
            for done, rss in samples:  # type: ignore[union-attr]
                print(f"| {done:,} | {rss:.0f} |")
        return
    engines = args.engines.split(",")
    results: dict[str, list[dict[str, float]]] = {e: [] for e in engines}
    for _ in range(args.rounds):
        for engine in engines:
            outcome = run_worker(engine, args)
            if outcome:
                results[engine].append(outcome)
    print(
        f"{args.docs} SciFact docs, max {args.max_tokens} tokens, {args.threads} threads, "
        f"{args.rounds} rounds (median)\n"
    )
    print(
        "| engine | docs/s | × fastembed | × ragkit fp32 | peak RSS (MB) |\n|---|---:|---:|---:|---:|"
    )
    medians = {
        e: statistics.median(r["docs_per_s"] for r in runs) for e, runs in results.items() if runs
    }
    for engine, runs in results.items():
        if not runs:
            print(f"| {engine} | failed or not installed | | | |")
            continue
        speed = medians[engine]
        vs_fe = f"{speed / medians['fastembed-fp32']:.2f}" if "fastembed-fp32" in medians else "-"
        vs_fp32 = f"{speed / medians['ragkit-fp32']:.2f}" if "ragkit-fp32" in medians else "-"
        rss = max(r["peak_rss_mb"] for r in runs)
        print(f"| {engine} | {speed:.1f} | {vs_fe} | {vs_fp32} | {rss:.0f} |")


if __name__ == "__main__":
    main()
