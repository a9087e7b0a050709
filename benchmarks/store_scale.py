"""ChromaStore's binary path beside Chroma's own HNSW query: stages and process memory.

A companion to ``store_vs_hnsw.py`` (same vectors, same interleaved timing) that adds what
that one cannot see from inside one process: the binary query split into stages, and the
memory a fresh process takes when Chroma loads its HNSW segment and when ragkit rebuilds
its index.

For each size N: a fresh persistent Chroma folder, N vectors added through ``ChromaStore``
(ingest timed), exact float top-10 as ground truth (``ragkit.eval.exact_top_k``), then every
query is answered by each method in turn (the order rotates per query, so machine noise hits
all methods alike), one query at a time:

* Chroma HNSW: ``store.query(v, k=10, search="float")`` (default cosine space, M, ef);
* ragkit binary: ``search="binary"`` with ``rescore="float"`` at oversample 4 and 8 (with
  the store's default funnel of 2, the scan keeps 80 or 160 candidates and 40 or 80 are read
  from Chroma), ``rescore="asymmetric"`` (oversample 4) and ``rescore="none"``;
* the exact Hamming scan alone (``hamming_top_k`` over the index's codes), and ragkit's
  binary query split into stages timed from outside (Chroma metadata read, scan, fetch).

Memory: the hot binary index (codes, and the whole index with its id list and dict, measured
with tracemalloc around a rebuild from Chroma) against float32; Chroma's HNSW as the RSS
growth of a fresh process on Chroma's first read (which loads the HNSW segment), then on the
first float or binary query, and the HNSW files on disk.

Vectors: with RAGKIT_TEST_MODEL_DIR and RAGKIT_TEST_SCIFACT_DIR set, SciFact embedded with
all-MiniLM-L6-v2 (int8) and tiled with Gaussian noise to N rows, as ``binary_scan.py`` builds
them; the queries are SciFact's 300 test queries. Otherwise ``binary_scan.synthetic()``.

    RAGKIT_TEST_MODEL_DIR=../shared/models/all-MiniLM-L6-v2 \\
    RAGKIT_TEST_SCIFACT_DIR=../shared/datasets/scifact \\
        python benchmarks/store_scale.py --cache /tmp/ragkit-bench --sizes 100000 1000000
    python benchmarks/store_scale.py --sizes 20000 --queries 50      # quick, synthetic
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ragkit.embed.pooling import l2_normalize
from ragkit.eval import exact_top_k
from ragkit.store.chroma import ChromaStore
from ragkit.store.codes import hamming_top_k, pack_signs

K = 10
DIM = 384
BATCH = 32
NAME = "bench"
HNSW = "Chroma HNSW: search='float'"


def _binary_scan() -> Any:
    """benchmarks/binary_scan.py, for its vectors (scifact_embeddings, tile, synthetic)."""
    spec = importlib.util.spec_from_file_location(
        "binary_scan", Path(__file__).with_name("binary_scan.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- helpers -------------------------------------------------------------------------------


def rss_mib() -> float:
    """Resident memory of this process (psutil if installed, else /proc/self/status)."""
    try:
        import psutil

        return float(psutil.Process().memory_info().rss) / 2**20
    except ImportError:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def open_store(folder: Path) -> ChromaStore:
    import chromadb
    from chromadb.config import Settings

    client = chromadb.PersistentClient(
        path=str(folder), settings=Settings(anonymized_telemetry=False)
    )
    return ChromaStore(NAME, client=client, embedder=None)


def release(store: ChromaStore) -> None:
    """Drop a store and its client, so the next open starts from the files on disk."""
    from chromadb.api.shared_system_client import SharedSystemClient

    store.close()
    del store
    SharedSystemClient.clear_system_cache()
    gc.collect()


def disk_mib(folder: Path) -> tuple[float, float]:
    """(HNSW segment files, everything else: the SQLite database) in MiB."""
    hnsw = sum(f.stat().st_size for d in folder.iterdir() if d.is_dir() for f in d.rglob("*"))
    total = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    return hnsw / 2**20, (total - hnsw) / 2**20


def probe(folder: Path, mode: str, query_file: Path) -> dict[str, float]:
    """In a fresh process: RSS growth and latency of the first query of ``mode``."""
    command = [sys.executable, __file__, "--probe", mode, str(folder), str(query_file)]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def run_probe(mode: str, folder: Path, query_file: Path) -> None:
    """RSS (MiB) after opening, after Chroma's first read, after the first ``mode`` query."""
    queries = np.load(query_file)
    hamming_top_k(pack_signs(queries[:1]), pack_signs(queries), 1)  # numpy paths warm
    store = open_store(folder)
    opened = rss_mib()
    start = time.perf_counter()
    store.get(["0", "1"])  # Chroma's first read: it loads the collection's segments
    get_s = time.perf_counter() - start
    before = rss_mib()
    start = time.perf_counter()
    store.query(queries[0], k=K, search=mode)  # type: ignore[arg-type]
    first = time.perf_counter() - start
    after = rss_mib()
    start = time.perf_counter()
    store.query(queries[1], k=K, search=mode)  # type: ignore[arg-type]
    second = time.perf_counter() - start
    result = {
        "rss_open": opened,
        "rss_get": before - opened,
        "get_s": get_s,
        "rss_growth": after - before,
        "first_s": first,
        "second_s": second,
    }
    print(json.dumps(result))


def summary(ms: list[float]) -> tuple[float, float, float]:
    ordered = sorted(ms)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))], statistics.fmean(ms)


def index_python_bytes(index: Any) -> int:
    """sys.getsizeof over the id list, its strings, the id→row dict and its ints, plus arrays."""
    ids, rows = index._ids, index._rows
    size = sys.getsizeof(ids) + sum(sys.getsizeof(i) for i in ids)
    size += sys.getsizeof(rows) + sum(sys.getsizeof(r) for r in rows.values() if r > 256)
    return size + int(index.nbytes())


# -- one size ------------------------------------------------------------------------------


def ingest(store: ChromaStore, vectors: np.ndarray, batch: int) -> tuple[float, float]:
    """Add all vectors in batches; (seconds, vectors/s over the last tenth)."""
    n = len(vectors)
    start = time.perf_counter()
    mark, mark_rows, last_rate = start, 0, float("nan")
    for first in range(0, n, batch):
        stop = min(n, first + batch)
        store.add([str(i) for i in range(first, stop)], embeddings=vectors[first:stop])
        if stop - mark_rows >= max(batch, n // 10) or stop == n:
            now = time.perf_counter()
            last_rate = (stop - mark_rows) / (now - mark)
            print(
                f"  ingest {stop:,}/{n:,}: {now - start:.0f} s, {last_rate:,.0f} vectors/s lately",
                file=sys.stderr,
                flush=True,
            )
            mark, mark_rows = now, stop
    return time.perf_counter() - start, last_rate


def methods(store: ChromaStore) -> dict[str, Callable[[np.ndarray], list[str]]]:
    def via(**options: Any) -> Callable[[np.ndarray], list[str]]:
        return lambda v: [hit.id for hit in store.query(v, k=K, **options)]

    return {
        HNSW: via(search="float"),
        "ragkit: binary → rescore='float', oversample=4": via(
            search="binary", rescore="float", oversample=4
        ),
        "ragkit: binary → rescore='float', oversample=8": via(
            search="binary", rescore="float", oversample=8
        ),
        "ragkit: binary → rescore='asymmetric', oversample=4": via(
            search="binary", rescore="asymmetric", oversample=4
        ),
        "ragkit: binary, rescore='none'": via(search="binary", rescore="none"),
    }


def run_size(
    n: int, vectors: np.ndarray, queries: np.ndarray, args: argparse.Namespace
) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="ragkit-store-scale-", dir=args.tmp))
    try:
        return _run_size(folder, n, vectors, queries, args)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


def _run_size(
    folder: Path, n: int, vectors: np.ndarray, queries: np.ndarray, args: argparse.Namespace
) -> dict[str, Any]:
    began = time.perf_counter()
    corpus = vectors[:n]
    store = open_store(folder)
    seconds, last_rate = ingest(store, corpus, args.batch)
    release(store)
    hnsw_disk, sqlite_disk = disk_mib(folder)

    # Fresh processes: what the first float query (HNSW load) and the first binary query
    # (index rebuild) add to resident memory.
    query_file = folder.parent / f"{folder.name}-queries.npy"
    np.save(query_file, queries[:2])
    float_probe = probe(folder, "float", query_file)
    binary_probe = probe(folder, "binary", query_file)
    query_file.unlink()

    truth = exact_top_k(queries, l2_normalize(corpus), K, batch_size=BATCH)[0]
    truth_ids = [{str(r) for r in row} for row in truth]

    store = open_store(folder)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    index = store._fresh_index()
    traced_rebuild = time.perf_counter() - start
    retained, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    store._index = None
    start = time.perf_counter()
    index = store._fresh_index()
    rebuild = time.perf_counter() - start
    codes, row_ids = index._codes, index._ids
    query_codes = pack_signs(queries)
    if len(query_codes) < BATCH:
        query_codes = np.resize(query_codes, (BATCH, query_codes.shape[1]))

    table = methods(store)
    width = 4 * store.funnel * K  # what oversample=4 scans (the funnel widens the scan)
    scan_name = f"exact Hamming scan alone (top-{width}, single query)"
    table[scan_name] = lambda v: [
        row_ids[r] for r in hamming_top_k(pack_signs(v[None]), codes, width)[0][0][:K]
    ]
    stage_ms: dict[str, list[float]] = {
        "query vector check + normalise": [],
        "_fresh_index(): Chroma metadata read": [],
        f"Hamming scan, top-{width}": [],
        f"Chroma get of {4 * K} records with float vectors": [],
        "whole query (same round)": [],
        "Chroma count() (not on the query path)": [],
    }

    def staged(v: np.ndarray) -> list[str]:
        marks = [time.perf_counter()]
        vector = store._query_vector(v)
        marks.append(time.perf_counter())
        fresh = store._fresh_index()
        marks.append(time.perf_counter())
        ids = fresh.search(pack_signs(vector[None]), width)[0][0]
        marks.append(time.perf_counter())
        store.collection.get(ids=ids[: 4 * K], include=["documents", "metadatas", "embeddings"])
        marks.append(time.perf_counter())
        hits = store.query(v, k=K, search="binary", rescore="float", oversample=4)
        marks.append(time.perf_counter())
        store.count()
        marks.append(time.perf_counter())
        for name, a, b in zip(stage_ms, marks, marks[1:], strict=False):
            stage_ms[name].append((b - a) * 1e3)
        return [hit.id for hit in hits]

    names = list(table)
    for q in range(min(args.warmup, len(queries))):
        for name in names:
            table[name](queries[q])
        staged(queries[q])
    times: dict[str, list[float]] = {name: [] for name in names}
    found: dict[str, list[set[str]]] = {name: [] for name in names}
    for q, vector in enumerate(queries):
        shift = q % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            result = table[name](vector)
            times[name].append((time.perf_counter() - start) * 1e3)
            found[name].append(set(result))
        staged(vector)

    batch_ms = []
    for _ in range(3):
        start = time.perf_counter()
        for first in range(0, len(query_codes) - BATCH + 1, BATCH):
            hamming_top_k(query_codes[first : first + BATCH], codes, width)
        batch_ms.append((time.perf_counter() - start) * 1e3 / (len(query_codes) // BATCH * BATCH))
    release(store)

    float_bytes = n * corpus.shape[1] * 4
    hnsw_p50 = statistics.median(times[HNSW])
    rows = []
    for name in names:
        recall = float(
            np.mean([len(a & b) / K for a, b in zip(found[name], truth_ids, strict=True)])
        )
        p50, p95, mean = summary(times[name])
        rows.append((name, p50, p95, mean, p50 / hnsw_p50, recall))
    return {
        "n": n,
        "rows": rows,
        "stages": {name: summary(ms) for name, ms in stage_ms.items()},
        "scan_batch_ms": statistics.median(batch_ms),
        "ingest_s": seconds,
        "ingest_rate": n / seconds,
        "ingest_last_rate": last_rate,
        "codes_bytes": int(codes.nbytes),
        "index_traced_bytes": retained - base,
        "index_traced_peak": peak - base,
        "index_getsizeof_bytes": index_python_bytes(index),
        "float_bytes": float_bytes,
        "rebuild_s": rebuild,
        "traced_rebuild_s": traced_rebuild,
        "hnsw_disk_mib": hnsw_disk,
        "sqlite_disk_mib": sqlite_disk,
        "float_probe": float_probe,
        "binary_probe": binary_probe,
        "wall_s": time.perf_counter() - began,
        "width": width,
    }


# -- report --------------------------------------------------------------------------------


def report(result: dict[str, Any]) -> None:
    n, mib = result["n"], 2**20
    float_mib = result["float_bytes"] / mib
    print(
        f"### {n:,} vectors × {DIM}: ingest {result['ingest_s']:.0f} s "
        f"({result['ingest_rate']:,.0f} vectors/s overall, {result['ingest_last_rate']:,.0f} "
        f"over the last tenth); this size took {result['wall_s'] / 60:.1f} min\n"
    )
    print("| method | p50 ms | p95 ms | mean ms | p50 × HNSW | recall@10 vs exact |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, p50, p95, mean, ratio, recall in result["rows"]:
        print(f"| {name} | {p50:.2f} | {p95:.2f} | {mean:.2f} | {ratio:.2f} | {recall:.3f} |")
    print(
        f"| exact Hamming scan alone, batches of {BATCH} | {result['scan_batch_ms']:.2f} "
        "(per query) | | | | |\n"
    )
    print("| ragkit binary query, oversample=4, by stage (same rounds) | p50 ms | mean ms |")
    print("|---|---:|---:|")
    for name, (p50, _, mean) in result["stages"].items():
        print(f"| {name} | {p50:.2f} | {mean:.2f} |")
    print()
    fp, bp = result["float_probe"], result["binary_probe"]
    codes = result["codes_bytes"]
    traced = result["index_traced_bytes"]
    print("| memory | MiB | float32 ÷ this |")
    print("|---|---:|---:|")
    print(f"| float32 vectors ({n:,} × {DIM} × 4 B) | {float_mib:,.1f} | 1.0 |")
    print(
        f"| ragkit hot index: codes (`nbytes()`) | {codes / mib:,.1f} | {float_mib * mib / codes:.1f} |"
    )
    print(
        f"| ragkit hot index: whole BinaryIndex, tracemalloc after a rebuild "
        f"(peak during it {result['index_traced_peak'] / mib:,.0f} MiB) | {traced / mib:,.1f} | "
        f"{float_mib * mib / traced:.1f} |"
    )
    print(
        f"| ragkit hot index: whole BinaryIndex, sys.getsizeof sum | "
        f"{result['index_getsizeof_bytes'] / mib:,.1f} | "
        f"{float_mib * mib / result['index_getsizeof_bytes']:.1f} |"
    )
    print(
        f"| fresh process: RSS growth on Chroma's first read, a get() of 2 records "
        f"({fp['get_s']:.1f} s; it loads the HNSW segment; {bp['rss_get']:,.0f} MiB in the "
        f"binary run) | {fp['rss_get']:,.0f} | {float_mib / fp['rss_get']:.2f} |"
    )
    print(
        f"| fresh process: then the first float query ({fp['first_s'] * 1e3:.0f} ms) | "
        f"{fp['rss_growth']:,.0f} | |"
    )
    print(
        f"| fresh process: then the first binary query (index rebuild {bp['first_s']:.1f} s) | "
        f"{bp['rss_growth']:,.0f} | {float_mib / bp['rss_growth']:.1f} |"
    )
    print(
        f"| Chroma HNSW segment files on disk | {result['hnsw_disk_mib']:,.0f} | {float_mib / result['hnsw_disk_mib']:.2f} |"
    )
    print(f"| Chroma SQLite database on disk | {result['sqlite_disk_mib']:,.0f} | |")
    print(
        f"\n(Index rebuild from Chroma: {result['rebuild_s']:.1f} s; "
        f"{result['traced_rebuild_s']:.1f} s under tracemalloc.)\n",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--cache", type=Path, default=None, help="SciFact embedding cache")
    parser.add_argument("--noise", type=float, default=0.5, help="tiling noise (× std)")
    parser.add_argument("--queries", type=int, default=None, help="use only the first Q queries")
    parser.add_argument("--warmup", type=int, default=10, help="queries run first, untimed")
    parser.add_argument("--batch", type=int, default=10_000, help="vectors per store.add call")
    parser.add_argument("--tmp", type=Path, default=None, help="folder for the Chroma stores")
    parser.add_argument("--keep", action="store_true", help="keep the Chroma folders")
    parser.add_argument(
        "--probe", nargs=3, metavar=("MODE", "FOLDER", "QUERIES"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.probe:
        run_probe(args.probe[0], Path(args.probe[1]), Path(args.probe[2]))
        return

    import chromadb

    vectors_from = _binary_scan()
    real = vectors_from.scifact_embeddings(args.cache)
    if real is not None:
        docs, queries, _ = real
        vectors = vectors_from.tile(docs, max(args.sizes), noise=args.noise)
        source = (
            f"SciFact ({len(docs):,} docs) embedded with all-MiniLM-L6-v2 int8, tiled with "
            f"noise {args.noise}×std"
        )
    else:
        vectors, queries = vectors_from.synthetic(max(args.sizes), 300)
        source = "synthetic anisotropic Gaussian vectors"
    queries = l2_normalize(queries[: args.queries]).astype(np.float32)
    print(
        f"Vectors: {source}; {len(queries)} queries, one at a time, methods taking turns; k={K}.\n"
        f"Machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start; "
        f"Python {platform.python_version()}, numpy {np.__version__}, chromadb "
        f"{chromadb.__version__}.\n",
        flush=True,
    )
    for n in args.sizes:
        report(run_size(n, vectors, queries, args))
    print(f"Load average at the end: {os.getloadavg()[0]:.2f}.")


if __name__ == "__main__":
    main()
