"""Chroma for the store tests: one in-memory client, and a real Chroma server on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import chromadb
import httpx
import pytest
from chromadb.config import Settings


@pytest.fixture(scope="session")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """An in-memory Chroma without telemetry (the settings ChromaStore uses), closed afterwards."""
    settings = Settings(anonymized_telemetry=False)
    try:
        chroma = chromadb.EphemeralClient(settings=settings)
    except ValueError:
        # Chroma allows one in-memory instance per process, with one set of settings; if another
        # holds it, a private on-disk instance behaves the same.
        chroma = chromadb.PersistentClient(
            path=str(tmp_path_factory.mktemp("chroma")), settings=settings
        )
    yield chroma
    chroma.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A real Chroma server (`chroma run` from the chromadb package) on 127.0.0.1, stopped afterwards."""
    executable = Path(sys.executable).with_name("chroma")
    if not executable.exists():
        pytest.skip(f"the chroma command is not installed next to {sys.executable}")
    port = _free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    log = (data / "server.log").open("w")
    process = subprocess.Popen(
        [
            str(executable),
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--path",
            str(data / "db"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if (
                    httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code
                    == 200
                ):
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chroma server did not start; see {data / 'server.log'}")
            time.sleep(0.2)
        yield "127.0.0.1", port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def http_client(server: tuple[str, int]) -> Any:
    """A new HTTP client of the test server."""
    host, port = server
    return chromadb.HttpClient(host=host, port=port, settings=Settings(anonymized_telemetry=False))
