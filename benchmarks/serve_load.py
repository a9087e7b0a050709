"""Load test of `ragkit serve` on loopback: N requests from C concurrent clients.

Starts `ragkit serve` as a separate process (so the clients do not share its GIL), warms it
up, then sends --requests embedding requests of --inputs texts each from --clients concurrent
asyncio clients, with server-side micro-batching on and off. Prints a markdown table: errors,
p50/p99 latency, requests/s and the server's RSS before and after the load.

The model is RAGKIT_TEST_MODEL_DIR when set (e.g. all-MiniLM-L6-v2), else the tiny test model.

    .venv/bin/python benchmarks/serve_load.py --requests 1000 --clients 8
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WORDS = "binary codes take less memory than float vectors in a chroma store for search".split()


def model_dir() -> tuple[Path, str]:
    real = os.environ.get("RAGKIT_TEST_MODEL_DIR")
    if real and Path(real).is_dir():
        return Path(real), Path(real).name
    from tests.tiny_models import build_model_folder

    return build_model_folder(Path(tempfile.mkdtemp()) / "tiny-model"), "tiny test model"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    model: Path, port: int, batching: bool, args: argparse.Namespace
) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-c", "from ragkit.cli import main; raise SystemExit(main())",
        "serve", "--model", str(model), "--name", "m", "--port", str(port),
    ]  # fmt: skip
    command += ["--batch-wait-ms", str(args.batch_wait_ms)] if batching else ["--no-batching"]
    if args.threads:
        command += ["--threads", str(args.threads)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("ragkit serve exited; run it by hand to see why")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError("ragkit serve did not start")


def text(i: int) -> str:
    rng = np.random.default_rng(i)
    return " ".join(rng.choice(WORDS, size=int(rng.integers(6, 20))))


async def load(
    url: str, requests: int, clients: int, inputs: int
) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(requests))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:

        async def worker() -> None:
            nonlocal errors
            for i in counter:
                body = {"model": "m", "input": [text(i * inputs + j) for j in range(inputs)]}
                start = time.perf_counter()
                try:
                    response = await client.post("/v1/embeddings", json=body)
                    ok = response.status_code == 200 and len(response.json()["data"]) == inputs
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - start)
                errors += not ok

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - start
    return latencies, errors, wall


def run(model: Path, batching: bool, args: argparse.Namespace) -> dict[str, float]:
    port = free_port()
    process = start_server(model, port, batching, args)
    try:
        url = f"http://127.0.0.1:{port}"
        asyncio.run(load(url, 50, args.clients, args.inputs))  # warm-up
        server = psutil.Process(process.pid)
        before = server.memory_info().rss
        latencies, errors, wall = asyncio.run(load(url, args.requests, args.clients, args.inputs))
        after = server.memory_info().rss
    finally:
        process.terminate()
        process.wait(30)
    ms = np.array(latencies) * 1000
    return {
        "errors": errors,
        "p50": float(np.percentile(ms, 50)),
        "p99": float(np.percentile(ms, 99)),
        "rps": args.requests / wall,
        "rss_before": before / 2**20,
        "rss_after": after / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--inputs", type=int, default=1, help="texts per request")
    parser.add_argument("--batch-wait-ms", type=float, default=0.0, help="with batching")
    parser.add_argument("--threads", type=int, default=None, help="the server's ONNX threads")
    args = parser.parse_args()
    model, label = model_dir()
    print(
        f"Model: {label}; {args.requests} requests of {args.inputs} text(s), "
        f"{args.clients} clients, {os.cpu_count()} CPUs, --batch-wait-ms {args.batch_wait_ms}, "
        f"server threads {args.threads or 'default'}\n"
    )
    print(
        "| server batching | requests | clients | errors | p50 ms | p99 ms | req/s "
        "| RSS before → after (MiB) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for batching in (False, True):
        r = run(model, batching, args)
        print(
            f"| {'on' if batching else 'off'} | {args.requests} | {args.clients} "
            f"| {r['errors']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} | {r['rps']:.1f} "
            f"| {r['rss_before']:.0f} → {r['rss_after']:.0f} |"
        )


if __name__ == "__main__":
    main()
