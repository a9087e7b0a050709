"""ChromaStore's binary path beside Chroma's own HNSW query, at 100k and 1M vectors.

For each size N: a fresh persistent Chroma folder, N vectors added through ``ChromaStore``
(ingest timed), exact float top-10 as ground truth (``ragkit.eval.exact_top_k``), then every
query is answered by each method in turn (the order rotates per query, so machine noise hits
all methods alike), one query at a time, through the store's real code path:

* Chroma HNSW: ``store.query(v, k=10, search="float")`` (default cosine space, M, ef);
* ragkit's default: Hamming candidates (1,000 + 1% of the records) ranked by the index's
  memory-mapped int8 rows, the best 40 rescored with Chroma's float vectors; the same with
  ``rescore="int8"`` (no float vectors read), and with 1% and 2% of the records;
* ragkit without int8 rows in the index (``int8_rows=False``): 80 Hamming candidates
  narrowed by the asymmetric estimate to 40 float-rescored; ``rescore="asymmetric"`` and
  ``rescore="none"``;
* the exact Hamming scan alone, and the default query split into stages timed from outside
  (Chroma metadata read, scan + int8 ranking, Chroma fetch of the 40 float vectors).

Memory: the index's resident part (codes and sign factors, ``BinaryIndex.nbytes()``; and
tracemalloc over a rebuild from Chroma) and its memory-mapped part (ids, int8 rows) against
float32; Chroma's HNSW as the RSS growth of a fresh process on Chroma's first read (which
loads the HNSW segment), then on the first float or binary query (anonymous and file-backed
RSS apart), and the HNSW files on disk.

Vectors (``--data``): ``tile`` = SciFact embedded with all-MiniLM-L6-v2 (int8), tiled with
Gaussian noise to N rows (about 9 of each query's exact top 10 are noisy copies of one
document); ``gauss`` = N draws from a Gaussian with SciFact's mean and covariance (no copies:
the hard case). Both need RAGKIT_TEST_MODEL_DIR and RAGKIT_TEST_SCIFACT_DIR; without them,
``binary_scan.synthetic()``. The queries are SciFact's test queries.

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


def open_store(folder: Path, **options: Any) -> ChromaStore:
    import chromadb
    from chromadb.config import Settings

    client = chromadb.PersistentClient(
        path=str(folder), settings=Settings(anonymized_telemetry=False)
    )
    index_dir = folder.parent / f"{folder.name}-index"
    return ChromaStore(NAME, client=client, embedder=None, index_dir=index_dir, **options)


def rss_parts() -> dict[str, float]:
    """Anonymous and file-backed resident memory (MiB), from /proc/self/status."""
    parts = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key = line.split(":")[0]
        if key in ("RssAnon", "RssFile", "RssShmem"):
            parts[key] = int(line.split()[1]) / 1024
    return parts


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
    before, parts_before = rss_mib(), rss_parts()
    start = time.perf_counter()
    store.query(queries[0], k=K, search=mode)  # type: ignore[arg-type]
    first = time.perf_counter() - start
    after, parts_after = rss_mib(), rss_parts()
    start = time.perf_counter()
    store.query(queries[1], k=K, search=mode)  # type: ignore[arg-type]
    second = time.perf_counter() - start
    result = {
        "rss_open": opened,
        "rss_get": before - opened,
        "get_s": get_s,
        "rss_growth": after - before,
        "anon_growth": parts_after.get("RssAnon", 0) - parts_before.get("RssAnon", 0),
        "file_growth": parts_after.get("RssFile", 0) - parts_before.get("RssFile", 0),
        "first_s": first,
        "second_s": second,
    }
    print(json.dumps(result))


def summary(ms: list[float]) -> tuple[float, float, float]:
    ordered = sorted(ms)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))], statistics.fmean(ms)


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


def methods(
    store: ChromaStore, plain: ChromaStore, n: int
) -> dict[str, Callable[[np.ndarray], list[str]]]:
    """``plain`` is the same collection opened with ``int8_rows=False``."""

    def via(on: ChromaStore, **options: Any) -> Callable[[np.ndarray], list[str]]:
        return lambda v: [hit.id for hit in on.query(v, k=K, **options)]

    default = f"{1_000 + -(-n // 100):,}"
    return {
        HNSW: via(store, search="float"),
        f"ragkit default: {default} candidates → int8 → float ×4": via(store),
        f"ragkit: {default} candidates → int8 (rescore='int8')": via(store, rescore="int8"),
        f"ragkit: {max(80, n // 100):,} candidates (1%) → int8 → float ×4": via(
            store, candidates=max(80, n // 100)
        ),
        f"ragkit: {max(80, n // 50):,} candidates (2%) → int8 → float ×4": via(
            store, candidates=max(80, n // 50)
        ),
        "ragkit, int8_rows=False: 80 → asymmetric → float ×4": via(plain),
        "ragkit, int8_rows=False: binary ×4 → asymmetric": via(plain, rescore="asymmetric"),
        "ragkit: binary, rescore='none'": via(plain, rescore="none"),
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
    owned = sum(  # allocations made by ragkit's store code (numpy arrays it created included)
        stat.size
        for stat in tracemalloc.take_snapshot()
        .filter_traces([tracemalloc.Filter(True, "*ragkit/store/*")])
        .statistics("filename")
    )
    tracemalloc.stop()
    store._index = None
    start = time.perf_counter()
    index = store._fresh_index()
    rebuild = time.perf_counter() - start
    plain = ChromaStore(NAME, client=store.client, embedder=None, int8_rows=False, memory_map=False)
    plain_index = plain._fresh_index()
    codes = index._codes.view()
    query_codes = pack_signs(queries)
    if len(query_codes) < BATCH:
        query_codes = np.resize(query_codes, (BATCH, query_codes.shape[1]))

    table = methods(store, plain, n)
    width = 1_000 + -(-n // 100)  # the default query's candidates
    scan_name = f"exact Hamming scan alone (top-{width:,}, single query)"
    table[scan_name] = lambda v: index._ids.ids_at(
        hamming_top_k(pack_signs(v[None]), codes, width)[0][0][:K]
    )
    stage_ms: dict[str, list[float]] = {
        "query vector check + normalise": [],
        "_fresh_index(): Chroma metadata read": [],
        f"index.shortlist: Hamming top-{width:,}, int8 ranking, best {4 * K}": [],
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
        ids, _ = fresh.shortlist(vector, vector, width=width, keep=4 * K, by="int8")
        marks.append(time.perf_counter())
        store.collection.get(ids=ids, include=["documents", "metadatas", "embeddings"])
        marks.append(time.perf_counter())
        hits = store.query(v, k=K)
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
        "codes_bytes": int(plain_index.nbytes()),
        "resident_bytes": int(index.nbytes()),
        "mapped_bytes": int(index.mapped_nbytes()),
        "index_traced_bytes": retained - base,
        "index_traced_peak": peak - base,
        "index_traced_owned": owned,
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
    print("| ragkit default query, by stage (same rounds) | p50 ms | mean ms |")
    print("|---|---:|---:|")
    for name, (p50, _, mean) in result["stages"].items():
        print(f"| {name} | {p50:.2f} | {mean:.2f} |")
    print()
    fp, bp = result["float_probe"], result["binary_probe"]
    codes, resident = result["codes_bytes"], result["resident_bytes"]
    mapped, traced = result["mapped_bytes"], result["index_traced_bytes"]
    print("| memory | MiB | float32 ÷ this |")
    print("|---|---:|---:|")
    print(f"| float32 vectors ({n:,} × {DIM} × 4 B) | {float_mib:,.1f} | 1.0 |")
    print(
        f"| ragkit index, resident: codes + sign factors (`nbytes()`) | {resident / mib:,.1f} | "
        f"{float_mib * mib / resident:.1f} |"
    )
    print(
        f"| ragkit index, resident: tracemalloc after a rebuild from Chroma "
        f"(peak during it {result['index_traced_peak'] / mib:,.0f} MiB) | {traced / mib:,.1f} | "
        f"{float_mib * mib / traced:.1f} |"
    )
    owned = result["index_traced_owned"]
    print(
        f"| ragkit index, resident: of which allocated by ragkit/store code (tracemalloc) | "
        f"{owned / mib:,.1f} | {float_mib * mib / owned:.1f} |"
    )
    print(
        f"| ragkit index, memory-mapped files: ids + int8 rows (`mapped_nbytes()`) | "
        f"{mapped / mib:,.1f} | {float_mib * mib / mapped:.1f} |"
    )
    print(
        f"| ragkit index with int8_rows=False, memory_map=False: codes, factors, ids in RAM | "
        f"{codes / mib:,.1f} | {float_mib * mib / codes:.1f} |"
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
        f"| fresh process: then the first binary query (index rebuild {bp['first_s']:.1f} s): "
        f"RSS growth, of which anonymous {bp['anon_growth']:,.0f} and file-backed (the freshly "
        f"written int8 rows, evictable) {bp['file_growth']:,.0f} | "
        f"{bp['rss_growth']:,.0f} | {float_mib / max(bp['rss_growth'], 1e-9):.1f} |"
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
    parser.add_argument("--data", choices=["tile", "gauss"], default="tile", help="vectors")
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
        if args.data == "tile":
            vectors = vectors_from.tile(docs, max(args.sizes), noise=args.noise)
            source = (
                f"SciFact ({len(docs):,} docs) embedded with all-MiniLM-L6-v2 int8, tiled with "
                f"noise {args.noise}×std"
            )
        else:
            vectors = vectors_from.gaussian_like(docs, max(args.sizes))
            source = "Gaussian draws with the mean and covariance of SciFact's embeddings"
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
