"""Memory of ``Indexer.index`` over a folder of many files: bounded, or growing with the folder?

Writes N small text files (default 10,000, ~1 KB each, in 100 subfolders), then indexes them
into a fresh persistent ChromaStore, sampling this process's RSS after every batch. The
embedder is ``HashEmbedder`` (instant, 384-d) so the numbers are ingestion's own: loading,
chunking with a real WordPiece tokenizer (``--tokenizer``, default the shared MiniLM's), the
manifest, Chroma writes. A second run over the unchanged folder measures the skip path.
With ``--server``, Chroma runs as its own process (``chroma run`` on 127.0.0.1), so this
process's RSS is ingestion alone and Chroma's is reported beside it.

    python benchmarks/index_memory.py --files 10000 [--server] \\
        --tokenizer ../shared/models/all-MiniLM-L6-v2/tokenizer.json
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from tokenizers import Tokenizer

from ragkit import ChromaStore, HashEmbedder, Indexer, RecursiveChunker
from ragkit.chunking import TokenCounter

WORDS = (
    "binary codes rescoring memory chunk window token prompt query document store index "
    "vector cosine hamming scan recall folder file manifest batch embed model"
).split()


def rss_mib(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def write_folder(root: Path, files: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    for i in range(files):
        folder = root / f"part-{i % 100:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        paragraphs = [
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 60))) + "."
            for _ in range(rng.randint(2, 5))
        ]
        (folder / f"note-{i:05d}.txt").write_text("\n\n".join(paragraphs))


@contextmanager
def chroma_server(folder: Path) -> Iterator[tuple[Any, int]]:
    """A ``chroma run`` process on 127.0.0.1: (HttpClient, its pid)."""
    import chromadb
    from chromadb.config import Settings

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [str(Path(sys.executable).with_name("chroma")), "run", "--host", "127.0.0.1"]
    process = subprocess.Popen(
        [*command, "--port", str(port), "--path", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    try:
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        client = chromadb.HttpClient(
            host="127.0.0.1", port=port, settings=Settings(anonymized_telemetry=False)
        )
        yield client, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--tokenizer", type=Path, required=True, help="a tokenizer.json")
    parser.add_argument("--server", action="store_true", help="Chroma in its own process")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ragkit-index-memory-"))
    try:
        if args.server:
            with chroma_server(work / "server") as (client, pid):
                run(args, work, client, pid)
        else:
            run(args, work, None, None)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path, client: Any, server_pid: int | None) -> None:
    """Index the folder twice and print the RSS table."""
    write_folder(work / "docs", args.files)
    embedder = HashEmbedder(dim=384)
    counter = TokenCounter(Tokenizer.from_file(str(args.tokenizer)), max_tokens=256)
    samples: list[tuple[int, float]] = []
    if client is None:
        store = ChromaStore("docs", embedder=embedder, path=work / "store")
    else:
        store = ChromaStore("docs", embedder=embedder, client=client)
    indexer = Indexer(store, RecursiveChunker(counter))
    real_flush = indexer._flush

    def sampled(batch, report, on_rows=None):  # type: ignore[no-untyped-def]
        real_flush(batch, report, on_rows)
        server = rss_mib(server_pid) if server_pid else float("nan")
        samples.append((report.files_indexed, rss_mib(), server))

    indexer._flush = sampled  # type: ignore[method-assign]
    start_rss, start = rss_mib(), time.perf_counter()
    report = indexer.index([work / "docs"])
    seconds = time.perf_counter() - start
    again = time.perf_counter()
    skipped = indexer.index([work / "docs"])
    again_s = time.perf_counter() - again
    print(
        f"{args.files:,} files → {report.chunks_written:,} chunks in {seconds:.0f} s "
        f"({args.files / seconds:,.0f} files/s); second run: {skipped.files_unchanged:,} "
        f"unchanged in {again_s:.1f} s.\n"
    )
    where = "Chroma server" if server_pid else "embedded Chroma"
    print(f"| files indexed ({where}) | RSS MiB | growth since start | Chroma server RSS MiB |")
    print("|---:|---:|---:|---:|")
    marks = sorted({max(1, round(args.files * f)) for f in (0.01, 0.1, 0.25, 0.5, 0.75, 1.0)})
    shown = set()
    for mark in marks:  # the first sample at or past each mark
        files, rss, server = next(row for row in samples if row[0] >= mark)
        if files not in shown:
            shown.add(files)
            print(f"| {files:,} | {rss:,.0f} | {rss - start_rss:+,.0f} | {server:,.0f} |")
    server = rss_mib(server_pid) if server_pid else float("nan")
    print(
        f"| after the second run | {rss_mib():,.0f} | {rss_mib() - start_rss:+,.0f} | "
        f"{server:,.0f} |"
    )


if __name__ == "__main__":
    main()
