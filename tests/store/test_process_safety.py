"""Persistent stores across processes: one writer at a time, and a killed writer loses nothing committed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ragkit import HashEmbedder, StoreLockedError
from ragkit.store.chroma import ChromaStore

WRITER = textwrap.dedent(
    """
    import sys, time
    from ragkit import HashEmbedder
    from ragkit.store.chroma import ChromaStore
    store = ChromaStore("shared", embedder=HashEmbedder(dim=32), path=sys.argv[1])
    mode = sys.argv[2]
    print("ready", flush=True)
    if mode == "hold":
        time.sleep(60)
    batch = 0
    while True:
        ids = [f"r{batch}-{i}" for i in range(200)]
        store.add(ids, documents=[f"record {x}" for x in ids])
        batch += 1
        print(f"batch {batch}", flush=True)
    """
)


def start_writer(path: Path, mode: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), mode],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return process


def stop(process: subprocess.Popen[str]) -> None:
    process.kill()
    process.wait()
    if process.stdout is not None:
        process.stdout.close()


def test_a_second_process_gets_a_clear_error_pointing_to_server_mode(tmp_path: Path) -> None:
    writer = start_writer(tmp_path / "db", "hold")
    try:
        with pytest.raises(StoreLockedError, match="chroma run"):
            ChromaStore("shared", embedder=HashEmbedder(dim=32), path=tmp_path / "db")
    finally:
        stop(writer)
    # The OS released the dead process's lock: the store opens now.
    with ChromaStore("shared", embedder=HashEmbedder(dim=32), path=tmp_path / "db") as store:
        assert store.count() == 0


def test_stores_in_one_process_share_the_folder(tmp_path: Path) -> None:
    with ChromaStore("one", embedder=HashEmbedder(dim=8), path=tmp_path / "db") as first:
        with ChromaStore("two", embedder=HashEmbedder(dim=8), path=tmp_path / "db") as second:
            first.add(["a"], documents=["alpha"])
            second.add(["b"], documents=["beta"])
        assert first.query("alpha", k=1)[0].id == "a"


@pytest.mark.slow
def test_kill_9_in_the_middle_of_adding_leaves_a_store_that_opens_and_answers(
    tmp_path: Path,
) -> None:
    writer = start_writer(tmp_path / "db", "write")
    assert writer.stdout is not None
    for _ in range(3):
        writer.stdout.readline()
    os.kill(writer.pid, signal.SIGKILL)
    stop(writer)
    with ChromaStore("shared", embedder=HashEmbedder(dim=32), path=tmp_path / "db") as store:
        count = store.count()
        assert count >= 600 and count % 200 == 0  # whole batches only
        hits = store.query("record r1-7", k=1)
        assert hits[0].id == "r1-7" and hits[0].score == pytest.approx(1.0, abs=1e-5)
        store.add(["r1-7", "r0-0"], documents=["record r1-7", "record r0-0"])  # idempotent re-add
        assert store.count() == count
