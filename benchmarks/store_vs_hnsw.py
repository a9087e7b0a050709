"""ChromaStore's binary path against Chroma's own HNSW, on the same vectors, at 100k and 1M.

One persistent ChromaStore holds N vectors; every query is answered both ways through the
store's real code path, methods taking turns query by query so machine noise hits them alike:

* Chroma HNSW: ``store.query(v, k=10, search="float")`` (Chroma's index, default M/ef);
* ragkit: ``search="binary"`` with each rescoring mode (float, int8, asymmetric, none);
* the exact Hamming scan alone (``hamming_top_k`` over the index's codes).

Recall@10 is against exact brute-force float search on the same vectors. Memory: the hot binary
index (codes alone, and with its id table, by tracemalloc) against float32, and Chroma's HNSW
files on disk (what hnswlib holds in memory once loaded).

Vectors: SciFact embedded with all-MiniLM-L6-v2 (int8), tiled with Gaussian noise to N rows, as
``binary_scan.py`` builds them; the queries are SciFact's test queries.

    RAGKIT_TEST_MODEL_DIR=../shared/models/all-MiniLM-L6-v2 \\
    RAGKIT_TEST_SCIFACT_DIR=../shared/datasets/scifact \\
        python benchmarks/store_vs_hnsw.py --cache /tmp/ragkit-bench --sizes 100000 1000000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from binary_scan import scifact_embeddings, synthetic, tile  # noqa: E402

from ragkit.eval import exact_top_k  # noqa: E402
from ragkit.store.chroma import ChromaStore  # noqa: E402
from ragkit.store.codes import hamming_top_k, pack_signs  # noqa: E402

K = 10
ADD_BATCH = 5_000


def methods(store: ChromaStore, warm: ChromaStore) -> dict[str, Callable[[np.ndarray], list[str]]]:
    """``warm`` is the same collection opened with ``int8_in_memory=True``."""

    def via(on: ChromaStore, **options: object) -> Callable[[np.ndarray], list[str]]:
        return lambda v: [h.id for h in on.query(v, k=K, **options)]  # type: ignore[arg-type]

    return {
        "Chroma HNSW (float search)": via(store, search="float"),
        "binary ×8 → asym → float ×4 (default)": via(store),
        "binary ×8 → asym → int8 ×4 (int8 from Chroma)": via(store, rescore="int8"),
        "binary ×16 → asym → float ×8": via(store, oversample=8),
        "binary ×4 → asymmetric": via(store, rescore="asymmetric"),
        "binary, no rescoring": via(store, rescore="none"),
        "int8 in memory: binary ×128 → int8": via(warm, rescore="int8", funnel=32),
        "int8 in memory: binary ×128 → int8 ×4 → float": via(warm, funnel=32),
        "int8 in memory: binary ×512 → int8": via(warm, rescore="int8", funnel=128),
    }


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def folder_mib(path: Path, pattern: str = "*") -> float:
    return sum(f.stat().st_size for f in path.rglob(pattern) if f.is_file()) / 2**20


def run_size(
    n: int, vectors: np.ndarray, queries: np.ndarray, rounds: int
) -> tuple[list[str], dict[str, str]]:
    import chromadb
    from chromadb.config import Settings

    folder = Path(tempfile.mkdtemp(prefix="ragkit-scale-"))
    client = chromadb.PersistentClient(
        path=str(folder), settings=Settings(anonymized_telemetry=False)
    )
    store = ChromaStore(f"scale-{n}", client=client)
    ids = [f"v{i}" for i in range(n)]
    start = time.perf_counter()
    for first in range(0, n, ADD_BATCH):
        store.add(ids[first : first + ADD_BATCH], embeddings=vectors[first : first + ADD_BATCH])
    ingest = time.perf_counter() - start
    truth = exact_top_k(queries, vectors[:n], K, batch_size=32)[0]
    truth_ids = [{ids[r] for r in row} for row in truth]

    # Memory: the binary index rebuilt from Chroma, and Chroma's HNSW once loaded.
    store._index = None
    tracemalloc.start()
    index = store._fresh_index()
    index_bytes = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    warm = ChromaStore(store.collection.name, client=client, int8_in_memory=True)
    start = time.perf_counter()
    warm_bytes = warm._fresh_index().nbytes()
    rebuild = time.perf_counter() - start
    before = rss_mib()
    store.query(queries[0], k=K, search="float")  # loads Chroma's HNSW segment
    hnsw_rss = rss_mib() - before
    hnsw_disk = folder_mib(folder, "*.bin")

    table = methods(store, warm)
    codes, row_ids = index._codes, index._ids
    query_codes = pack_signs(queries)
    table["exact Hamming scan alone (top-80)"] = lambda v: [
        row_ids[r] for r in hamming_top_k(pack_signs(v[None]), codes, 8 * K)[0][0][:K]
    ]
    times: dict[str, list[float]] = {name: [] for name in table}
    found: dict[str, list[set[str]]] = {name: [] for name in table}
    names = list(table)
    for name in names:  # warm up
        table[name](queries[0])
    for r in range(rounds):
        for q, vector in enumerate(queries):
            order = names[(q + r) % len(names) :] + names[: (q + r) % len(names)]
            for name in order:
                begin = time.perf_counter()
                result = table[name](vector)
                times[name].append((time.perf_counter() - begin) * 1e3)
                if r == 0:
                    found[name].append(set(result))
    batch_ms = []
    for _ in range(3):
        begin = time.perf_counter()
        for first in range(0, len(query_codes) - 31, 32):
            hamming_top_k(query_codes[first : first + 32], codes, 8 * K)
        batch_ms.append((time.perf_counter() - begin) * 1e3 / (len(query_codes) // 32 * 32))

    float_mib = n * vectors.shape[1] * 4 / 2**20
    rows = []
    hnsw_p50 = statistics.median(times["Chroma HNSW (float search)"])
    for name in names:
        recall = np.mean([len(a & b) / K for a, b in zip(found[name], truth_ids, strict=True)])
        ms = sorted(times[name])
        p50, p95 = statistics.median(ms), ms[int(0.95 * (len(ms) - 1))]
        rows.append(
            f"| {n:,} | {name} | {recall:.3f} | {p50:.2f} | {p95:.2f} | {statistics.fmean(ms):.2f} | {p50 / hnsw_p50:.2f} |"
        )
    facts = {
        "n": f"{n:,}",
        "ingest": f"{ingest:.0f} s ({n / ingest:,.0f} vectors/s)",
        "codes": f"{index.nbytes() / 2**20:.1f} MiB ({float_mib * 2**20 / index.nbytes():.0f}× smaller than float32 {float_mib:,.1f} MiB)",
        "index": f"{index_bytes / 2**20:.1f} MiB with its id table ({float_mib * 2**20 / index_bytes:.1f}×)",
        "warm": f"{warm_bytes / 2**20:.1f} MiB codes + int8 ({float_mib * 2**20 / warm_bytes:.1f}×); rebuilt from Chroma in {rebuild:.0f} s",
        "hnsw": f"{hnsw_disk:,.1f} MiB of HNSW files; RSS +{hnsw_rss:,.0f} MiB when Chroma loaded it",
        "scan batch": f"{statistics.median(batch_ms):.2f} ms/query in batches of 32",
    }
    client.delete_collection(store.collection.name)
    return rows, facts


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--cache", type=Path, default=None, help="folder to cache embeddings in")
    parser.add_argument("--noise", type=float, default=0.5, help="tiling noise (× std)")
    parser.add_argument("--rounds", type=int, default=2, help="passes over the queries")
    args = parser.parse_args()
    import chromadb

    real = scifact_embeddings(args.cache)
    if real is not None:
        docs, queries, _ = real
        vectors = tile(docs, max(args.sizes), noise=args.noise)
        source = f"SciFact all-MiniLM-L6-v2 int8 embeddings tiled with noise {args.noise}×std"
    else:
        vectors, queries = synthetic(max(args.sizes), 300)
        source = "synthetic anisotropic vectors"
    print(
        f"{source}; {len(queries)} queries; k={K}; {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; "
        f"numpy {np.__version__}, chromadb {chromadb.__version__}.\n"
    )
    all_rows, all_facts = [], []
    for n in args.sizes:
        rows, facts = run_size(n, vectors, queries, args.rounds)
        all_rows += rows
        all_facts.append(facts)
        print(f"(n={n:,} done: {facts})", flush=True)
    print("\n| vectors | method | recall@10 vs exact | p50 ms | p95 ms | mean ms | p50 vs HNSW |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    print("\n".join(all_rows))
    print(
        "\n| vectors | ingest | binary codes | whole binary index | with int8 in memory | Chroma HNSW | scan, batched |"
    )
    print("|---:|---|---|---|---|---|---|")
    for f in all_facts:
        print(
            f"| {f['n']} | {f['ingest']} | {f['codes']} | {f['index']} | {f['warm']} | {f['hnsw']} | {f['scan batch']} |"
        )


if __name__ == "__main__":
    main()
