"""Binary first stage: memory, exact Hamming scan speed per formulation, and retrieval quality.

Prints markdown tables:

1. per corpus size: bytes of 1-bit codes vs float32, and ms/query (single queries, and
   batches of 32) for each scan formulation tried, on one thread;
2. the top-k select alone on 1M distances (argpartition vs bincount vs the sample bound);
3. recall@10 against exact float search: binary top-10, and binary top-10·m rescored to a
   top-10 with float (m = 1..10), and (m = 4) with dequantized int8, raw int8 codes (the
   sentence-transformers PR #4058 bug, for contrast) and the asymmetric query-vs-signs score;
4. with SciFact: NDCG@10 and its retention vs float for the same pipelines, for sign codes
   around the corpus mean or after a PCA rotation, and for 128/256 dimensions (naive
   truncation vs PCA rotation, with and without subtracting the mean).

Vectors: with RAGKIT_TEST_MODEL_DIR and RAGKIT_TEST_SCIFACT_DIR set, SciFact is embedded with
all-MiniLM-L6-v2 (int8 ONNX; cached with --cache) and tiled to each size with Gaussian noise
(per-dimension std scaled to the corpus's); the queries are SciFact's test queries. Otherwise:
anisotropic Gaussian vectors with a decaying spectrum and a mean offset, normalised.

    RAGKIT_TEST_MODEL_DIR=../shared/models/all-MiniLM-L6-v2 \
    RAGKIT_TEST_SCIFACT_DIR=../shared/datasets/scifact \
        python benchmarks/binary_scan.py --cache /tmp/ragkit-bench
    python benchmarks/binary_scan.py --sizes 100000 --queries 10      # quick, synthetic
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ragkit.embed.pooling import l2_normalize
from ragkit.eval import exact_top_k
from ragkit.eval.metrics import ndcg_at_k
from ragkit.store import codes as codes_module
from ragkit.store.codes import (
    Int8Calibration,
    asymmetric_scores,
    dequantize_int8,
    hamming_top_k,
    pack_signs,
    quantize_int8,
)
from ragkit.store.rotation import PcaRotation

DIM = 384
K = 10
OVERSAMPLE = 4
OVERSAMPLES = (1, 2, 4, 6, 8, 10)
BATCH = 32
_POOL = ThreadPoolExecutor(2)


# -- data --------------------------------------------------------------------------------


def scifact_embeddings(cache: Path | None) -> tuple[np.ndarray, np.ndarray, object] | None:
    model_dir = os.environ.get("RAGKIT_TEST_MODEL_DIR")
    data_dir = os.environ.get("RAGKIT_TEST_SCIFACT_DIR")
    if not model_dir or not data_dir:
        return None
    from ragkit.embed import TextEmbedder
    from ragkit.eval.beir import load_beir

    dataset = load_beir(Path(data_dir))
    files = (cache / "scifact_docs.npy", cache / "scifact_queries.npy") if cache else None
    if files and all(path.exists() for path in files):
        docs, queries = (np.load(path) for path in files)
    else:
        embedder = TextEmbedder(model_dir, precision="int8")
        start = time.perf_counter()
        docs = embedder.embed_documents(dataset.corpus_texts)
        queries = embedder.embed_query(dataset.query_texts)
        print(
            f"(embedded {len(docs)} docs + {len(queries)} queries in {time.perf_counter() - start:.0f} s)"
        )
        if files:
            files[0].parent.mkdir(parents=True, exist_ok=True)
            np.save(files[0], docs)
            np.save(files[1], queries)
    return docs.astype(np.float32), queries.astype(np.float32), dataset


def tile(base: np.ndarray, n: int, *, noise: float, seed: int = 0) -> np.ndarray:
    """``n`` rows: base rows in turn, plus Gaussian noise, renormalised (built in chunks).

    ``noise`` is the noise std as a multiple of each dimension's std in ``base``.
    """
    rng = np.random.default_rng(seed)
    scale = (noise * base.std(axis=0)).astype(np.float32)
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    out[: min(n, len(base))] = base[:n]
    for start in range(len(base), n, 65_536):
        stop = min(n, start + 65_536)
        rows = base[np.arange(start, stop) % len(base)]
        noise = rng.standard_normal(rows.shape, dtype=np.float32) * scale
        out[start:stop] = l2_normalize(rows + noise)
    return out


def gaussian_like(base: np.ndarray, n: int, *, seed: int = 0) -> np.ndarray:
    """``n`` unit rows drawn from a Gaussian with ``base``'s mean and covariance.

    Unlike :func:`tile`, no row has near-copies: a query's neighbours are spread over many
    distinct points at close distances, the hard case for sign bits (and for HNSW).
    """
    rng = np.random.default_rng(seed)
    mean = base.mean(axis=0)
    factor = np.linalg.cholesky(np.cov(base, rowvar=False) + 1e-8 * np.eye(base.shape[1]))
    factor = factor.astype(np.float32)
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    for start in range(0, n, 65_536):
        stop = min(n, start + 65_536)
        draws = rng.standard_normal((stop - start, base.shape[1]), dtype=np.float32)
        out[start:stop] = l2_normalize(draws @ factor.T + mean)
    return out


def synthetic(n: int, n_queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors: a shared mean plus variance decaying over random directions."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((DIM, DIM)))
    spectrum = 1.0 / np.arange(1, DIM + 1) ** 1.1
    transform = (np.sqrt(spectrum / spectrum.sum())[:, None] * basis.T).astype(np.float32)
    mean = (0.6 * l2_normalize(rng.standard_normal((1, DIM)).astype(np.float32)))[0]
    out = np.empty((n + n_queries, DIM), dtype=np.float32)
    for start in range(0, len(out), 65_536):
        stop = min(len(out), start + 65_536)
        out[start:stop] = l2_normalize(
            rng.standard_normal((stop - start, DIM), dtype=np.float32) @ transform + mean
        )
    return out[:n], out[n:]


# -- scan formulations -------------------------------------------------------------------


def naive(queries: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    """Row-major broadcast XOR + bitwise_count + sum(axis=1), then argpartition (per query)."""
    out = np.empty((len(queries), k), dtype=np.int64)
    for i, query in enumerate(queries):
        dist = np.bitwise_count(np.bitwise_xor(codes, query)).sum(axis=1, dtype=np.uint16)
        top = np.argpartition(dist, k - 1)[:k]
        out[i] = top[np.lexsort((top, dist[top]))]
    return out


def column_argpartition(queries: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    """ragkit's column-major blocked scan, but argpartition instead of the sample bound."""
    dist = codes_module._scan(queries, codes, np.dtype(np.uint16), codes_module._BLOCK_ROWS)
    out = np.empty((len(queries), k), dtype=np.int64)
    for i, row in enumerate(dist):
        top = np.argpartition(row, k - 1)[:k]
        out[i] = top[np.lexsort((top, row[top]))]
    return out


_M16 = np.uint64(0x00FF00FF00FF00FF)
_ONE16 = np.uint64(0x0001000100010001)


def column_bytes(queries: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    """Column-major blocks, popcount on uint8 bytes (AVX-512 BITALG), SWAR sum of byte lanes."""
    columns = codes.T
    words, n = columns.shape
    rows = codes_module._BLOCK_ROWS
    xor = np.empty((words, rows), dtype=np.uint64)
    counts = np.empty((words, rows * 8), dtype=np.uint8)
    lanes, high = np.empty(rows, dtype=np.uint64), np.empty(rows, dtype=np.uint64)
    dist = np.empty((len(queries), n), dtype=np.uint16)
    for start in range(0, n, rows):
        m = min(n, start + rows) - start
        for i, query in enumerate(queries):
            np.bitwise_xor(columns[:, start : start + m], query[:, None], out=xor[:, :m])
            np.bitwise_count(xor[:, :m].view(np.uint8), out=counts[:, : 8 * m])
            s, t = lanes[:m], high[:m]
            np.sum(counts[:, : 8 * m].view(np.uint64), axis=0, out=s)  # 8 byte lanes <= 48
            np.right_shift(s, np.uint64(8), out=t)
            np.bitwise_and(t, _M16, out=t)
            np.bitwise_and(s, _M16, out=s)
            np.add(s, t, out=s)  # 4 lanes of 16 bits
            np.multiply(s, _ONE16, out=s)
            np.right_shift(s, np.uint64(48), out=s)
            dist[i, start : start + m] = s
    return np.stack([codes_module._smallest(row, k, 0xFFFF) for row in dist])


def two_threads(queries: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    """ragkit's scan on each half of the corpus in its own thread, then a merge."""
    from concurrent.futures import ThreadPoolExecutor

    half = len(codes) // 2
    with ThreadPoolExecutor(2) as pool:
        parts = list(
            pool.map(lambda part: hamming_top_k(queries, part, k), (codes[:half], codes[half:]))
        )
    indices = np.concatenate([parts[0][0], parts[1][0] + half], axis=1)
    dist = np.concatenate([parts[0][1], parts[1][1]], axis=1)
    order = np.lexsort((indices, dist), axis=1)[:, :k]
    return np.take_along_axis(indices, order, axis=1)


def ragkit_scan(queries: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    return hamming_top_k(queries, codes, k, threads=1)[0]


def ragkit_threaded(queries: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    """ragkit's default: corpus parts in threads from 262,144 rows up, merged exactly."""
    return hamming_top_k(queries, codes, k)[0]


# -- timing ------------------------------------------------------------------------------


def per_query_ms(fn: Callable[[], object], queries: int, rounds: int) -> float:
    fn()  # warm up
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times) / queries


def time_formulations(
    codes: np.ndarray, query_codes: np.ndarray, n_single: int
) -> list[tuple[str, float, float]]:
    column_major = np.asfortranarray(codes)
    formulations: list[tuple[str, Callable[..., np.ndarray], np.ndarray]] = [
        ("naive: row-major broadcast, sum(axis=1), argpartition", naive, codes),
        ("ragkit on C-ordered codes (strided columns / staged block)", ragkit_scan, codes),
        ("column-major blocks, uint8 popcount + SWAR lane sum", column_bytes, column_major),
        ("column-major blocks, argpartition select", column_argpartition, column_major),
        ("column-major, 2 threads (half corpus each)", two_threads, column_major),
        ("ragkit: column-major blocks, sample-bound select, 1 thread", ragkit_scan, column_major),
        (
            "**ragkit default: the same, in 2+ threads from 262,144 rows (chosen)**",
            ragkit_threaded,
            column_major,
        ),
    ]
    reference = ragkit_scan(query_codes[:4], column_major, K)
    rows = []
    for name, fn, layout in formulations:
        # argpartition may keep any of the rows tied at the k-th place: compare distances
        assert (
            hamming(query_codes[:4], codes, fn(query_codes[:4], layout, K))
            == hamming(query_codes[:4], codes, reference)
        ).all(), name
        rows.append((name, *time_one(fn, layout, query_codes, n_single)))
    return rows


def hamming(query_codes: np.ndarray, codes: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return np.bitwise_count(codes[rows] ^ query_codes[:, None, :]).sum(axis=2)


def time_one(
    fn: Callable[..., np.ndarray], layout: np.ndarray, query_codes: np.ndarray, n_single: int
) -> tuple[float, float]:
    """Median ms/query over ``n_single`` single queries, and per query in batches of 32."""
    single = [
        per_query_ms(lambda i=i: fn(query_codes[i : i + 1], layout, K), 1, 1)
        for i in range(n_single)
    ]
    batch = per_query_ms(lambda: fn(query_codes[:BATCH], layout, K), BATCH, 3)
    return statistics.median(single), batch


def time_selection(n: int) -> list[tuple[str, float]]:
    rng = np.random.default_rng(1)
    dist = rng.binomial(DIM, 0.4, size=n).astype(np.uint16)

    def argpartition() -> None:
        top = np.argpartition(dist, K - 1)[:K]
        top[np.lexsort((top, dist[top]))]

    def bincount() -> None:
        threshold = int(np.searchsorted(np.cumsum(np.bincount(dist, minlength=DIM + 1)), K))
        candidates = np.flatnonzero(dist <= threshold)
        candidates[np.argsort(dist[candidates], kind="stable")[:K]]

    def stable_sort() -> None:
        np.argsort(dist, kind="stable")[:K]

    return [
        ("np.argpartition + sort of k", per_query_ms(argpartition, 1, 15)),
        ("bincount threshold + flatnonzero", per_query_ms(bincount, 1, 15)),
        ("full stable (radix) argsort", per_query_ms(stable_sort, 1, 5)),
        (
            "**strided-sample bound + flatnonzero (chosen)**",
            per_query_ms(lambda: codes_module._smallest(dist, K, 0xFFFF), 1, 15),
        ),
    ]


# -- quality -----------------------------------------------------------------------------


def rescore(
    queries: np.ndarray, candidates: np.ndarray, score: Callable[[int, np.ndarray], np.ndarray]
) -> np.ndarray:
    out = np.empty((len(queries), K), dtype=np.int64)
    for i, rows in enumerate(candidates):
        scores = score(i, rows)
        out[i] = rows[np.lexsort((rows, -scores))[:K]]
    return out


def pipelines(
    corpus: np.ndarray, queries: np.ndarray, *, center: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Top-10 rows per query for each pipeline (binary stage, then rescoring)."""
    codes = np.asfortranarray(pack_signs(corpus, center=center))
    query_codes = pack_signs(queries, center=center)
    calib = Int8Calibration.fit(corpus[:: max(1, len(corpus) // 100_000)])
    int8 = quantize_int8(corpus, calib)
    wide = hamming_top_k(query_codes, codes, K * max(OVERSAMPLES))[0]
    out = {"binary top-10 (Hamming only)": wide[:, :K]}
    for over in OVERSAMPLES:
        out[f"→ float ×{over}"] = rescore(
            queries, wide[:, : K * over], float_scores(corpus, queries)
        )
    candidates = wide[:, : K * OVERSAMPLE]

    def int8_scores(i: int, rows: np.ndarray) -> np.ndarray:
        return dequantize_int8(int8[rows], calib) @ queries[i]

    def raw_scores(i: int, rows: np.ndarray) -> np.ndarray:
        return int8[rows].astype(np.float32) @ queries[i]

    def sign_scores(i: int, rows: np.ndarray) -> np.ndarray:
        packed = np.ascontiguousarray(codes[rows])
        return asymmetric_scores(queries[i : i + 1], packed, corpus.shape[1])[0]

    out[f"→ int8 (dequantized) ×{OVERSAMPLE}"] = rescore(queries, candidates, int8_scores)
    out[f"→ int8 raw codes (bug) ×{OVERSAMPLE}"] = rescore(queries, candidates, raw_scores)
    out[f"→ asymmetric ×{OVERSAMPLE}"] = rescore(queries, candidates, sign_scores)
    return out


def float_scores(
    corpus: np.ndarray, queries: np.ndarray
) -> Callable[[int, np.ndarray], np.ndarray]:
    return lambda i, rows: corpus[rows] @ queries[i]


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / K for a, b in zip(found, truth, strict=True)]))


def ndcg(found: np.ndarray, dataset: object) -> float:
    ids, query_ids, qrels = dataset.corpus_ids, dataset.query_ids, dataset.qrels  # type: ignore[attr-defined]
    run = {
        qid: {ids[r]: float(K - rank) for rank, r in enumerate(rows)}
        for qid, rows in zip(query_ids, found, strict=True)
    }
    return ndcg_at_k(run, qrels, K)


def scifact_quality(
    docs: np.ndarray, queries: np.ndarray, dataset: object
) -> list[tuple[str, float]]:
    def exact(query_vectors: np.ndarray, doc_vectors: np.ndarray) -> float:
        return ndcg(exact_top_k(query_vectors, doc_vectors, K)[0], dataset)

    calib = Int8Calibration.fit(docs)
    int8 = quantize_int8(docs, calib)
    signs_only = np.argsort(
        -asymmetric_scores(queries, pack_signs(docs), DIM), axis=1, kind="stable"
    )
    rows = [
        ("float32, exact", exact(queries, docs)),
        ("int8 dequantized, exact (no binary stage)", exact(queries, dequantize_int8(int8, calib))),
        ("int8 raw codes, exact (PR #4058 bug)", exact(queries, int8.astype(np.float32))),
        ("asymmetric over all docs (no binary stage)", ndcg(signs_only[:, :K], dataset)),
    ]
    rows += [
        (name if name.startswith("binary") else f"binary {name}", ndcg(top, dataset))
        for name, top in pipelines(docs, queries).items()
    ]
    key = f"→ float ×{OVERSAMPLE}"
    centred = pipelines(docs, queries, center=docs.mean(axis=0))[key]
    rows.append((f"binary, signs around the corpus mean {key}", ndcg(centred, dataset)))
    rotation = PcaRotation.fit(docs)
    rotated = rotation.apply(docs)
    top = pipelines(rotated, rotation.apply(queries), center=rotated.mean(axis=0))[key]
    rows.append((f"binary of PCA-rotated 384-d (centred signs) {key}", ndcg(top, dataset)))
    for dim in (128, 256):
        pca_docs, pca_queries = rotation.apply(docs, dim), rotation.apply(queries, dim)
        project = rotation.components[:dim].T
        centred_docs = l2_normalize((docs - rotation.mean) @ project)
        centred_queries = l2_normalize((queries - rotation.mean) @ project)
        pca_calib = Int8Calibration.fit(pca_docs)
        pca_int8 = dequantize_int8(quantize_int8(pca_docs, pca_calib), pca_calib)
        naive = exact(l2_normalize(queries[:, :dim]), l2_normalize(docs[:, :dim]))
        rows += [
            (f"{dim}-d float, naive truncation", naive),
            (f"{dim}-d float, PCA (apply: mean not subtracted)", exact(pca_queries, pca_docs)),
            (f"{dim}-d float, PCA with the mean subtracted", exact(centred_queries, centred_docs)),
            (f"{dim}-d int8 dequantized, PCA, exact", exact(pca_queries, pca_int8)),
        ]
        top = pipelines(pca_docs, pca_queries, center=pca_docs.mean(axis=0))[key]
        rows.append(
            (f"{dim}-bit binary of PCA-{dim} (centred signs) {key} ({dim}-d)", ndcg(top, dataset))
        )
    return rows


# -- main --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--queries", type=int, default=20, help="single queries timed per formulation"
    )
    parser.add_argument(
        "--cache", type=Path, default=None, help="folder to cache SciFact embeddings in"
    )
    parser.add_argument(
        "--noise", type=float, nargs="+", default=[0.5, 1.0], help="tiling noise levels (× std)"
    )
    args = parser.parse_args()

    real = scifact_embeddings(args.cache)
    if real is not None:
        docs, queries, dataset = real
        print(
            f"Vectors: SciFact ({len(docs)} docs) embedded with all-MiniLM-L6-v2 int8, tiled with noise {args.noise}×std (timings: the first); {len(queries)} SciFact test queries.\n"
        )
        big = tile(docs, max(args.sizes), noise=args.noise[0])
    else:
        dataset = None
        big, queries = synthetic(max(args.sizes), 300)
        print(
            f"Vectors: synthetic anisotropic Gaussian, {DIM}-d, normalised; {len(queries)} queries.\n"
        )
    query_codes = pack_signs(queries)
    if len(query_codes) < BATCH:
        query_codes = np.resize(query_codes, (BATCH, query_codes.shape[1]))
    uptime = os.getloadavg()[0]
    print(
        f"Machine: {os.cpu_count()} cores, load average {uptime:.2f} at start; numpy {np.__version__}; one thread unless stated; k={K}.\n"
    )

    for n in args.sizes:
        codes = pack_signs(big[:n])
        code_mib, float_mib = codes.nbytes / 2**20, n * DIM * 4 / 2**20
        print(
            f"### n = {n:,} × {DIM} bits: codes {code_mib:.1f} MiB vs float32 {float_mib:.1f} MiB ({float_mib / code_mib:.0f}× smaller; int8 {n * DIM / 2**20:.1f} MiB)\n"
        )
        print("| formulation | ms/query, single | ms/query, batch of 32 |")
        print("|---|---:|---:|")
        for name, single, batch in time_formulations(codes, query_codes, args.queries):
            print(f"| {name} | {single:.2f} | {batch:.2f} |")
        print()

    print(f"### top-{K} select alone on {max(args.sizes):,} uint16 distances\n")
    print("| method | ms |")
    print("|---|---:|")
    for name, ms in time_selection(max(args.sizes)):
        print(f"| {name} | {ms:.2f} |")
    print()

    print(f"### recall@{K} vs exact float32 search (binary top-{K}·m → rescoring → top-{K})\n")
    names = None
    for noise in args.noise if real is not None else [None]:
        if noise is not None and noise != args.noise[0]:
            big = tile(docs, max(args.sizes), noise=noise)
        for n in args.sizes:
            truth = exact_top_k(queries, big[:n], K, batch_size=32)[0]
            results = pipelines(big[:n], queries)
            if names is None:
                names = list(results)
                print("| corpus | " + " | ".join(names) + " |")
                print("|---|" + "---:|" * len(names))
            label = f"{n:,}" + ("" if noise is None else f", noise {noise}×std")
            cells = " | ".join(f"{recall(results[name], truth):.3f}" for name in names)
            print(f"| {label} | {cells} |")
    print()

    if real is not None:
        print(f"### SciFact NDCG@{K} ({len(docs)} docs, not tiled; binary top-{K}·m rescored)\n")
        rows = scifact_quality(docs, queries, dataset)
        base = rows[0][1]
        print("| pipeline | NDCG@10 | retention |")
        print("|---|---:|---:|")
        for name, value in rows:
            print(f"| {name} | {value:.4f} | {value / base:.1%} |")


if __name__ == "__main__":
    main()
