from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from ragkit.serve._batcher import MicroBatcher


def test_requests_queued_behind_a_run_share_the_next_one() -> None:
    calls: list[list[str]] = []
    release = threading.Event()

    def run(texts: list[str]) -> tuple[np.ndarray, int]:
        calls.append(texts)
        if len(calls) == 1:
            release.wait(5)
        return np.array([[float(t)] for t in texts], dtype=np.float32), 10 * len(texts)

    async def main() -> list[tuple[np.ndarray, int]]:
        batcher = MicroBatcher(run, max_texts=5)
        first = asyncio.ensure_future(batcher.submit(["0"]))
        await asyncio.sleep(0.05)  # the first run is going
        rest = [asyncio.ensure_future(batcher.submit([str(i), str(i)])) for i in range(1, 4)]
        await asyncio.sleep(0.05)
        release.set()
        results = await asyncio.gather(first, *rest)
        await batcher.aclose()
        return results

    results = asyncio.run(main())
    assert calls == [["0"], ["1", "1", "2", "2"], ["3", "3"]]  # at most 5 texts a run
    for i, (vectors, tokens) in enumerate(results):
        assert vectors.ravel().tolist() == [float(i)] * len(vectors)
        assert tokens == 10 * len(vectors)


def test_a_failed_run_fails_its_requests_only() -> None:
    def run(texts: list[str]) -> tuple[np.ndarray, int]:
        if "bad" in texts:
            raise ValueError("boom")
        return np.zeros((len(texts), 1), dtype=np.float32), 0

    async def main() -> None:
        batcher = MicroBatcher(run, max_texts=10)
        with pytest.raises(ValueError, match="boom"):
            await batcher.submit(["bad"])
        vectors, _ = await batcher.submit(["good"])
        assert vectors.shape == (1, 1)
        await batcher.aclose()

    asyncio.run(main())


def test_a_bad_request_merged_with_good_ones_fails_alone() -> None:
    calls: list[list[str]] = []
    release = threading.Event()

    def run(texts: list[str]) -> tuple[np.ndarray, int]:
        calls.append(texts)
        if len(calls) == 1:
            release.wait(5)
        if "bad" in texts:
            raise ValueError("boom")
        return np.array([[float(len(t))] for t in texts], dtype=np.float32), len(texts)

    async def main() -> None:
        batcher = MicroBatcher(run, max_texts=10)
        first = asyncio.ensure_future(batcher.submit(["0"]))
        await asyncio.sleep(0.05)  # the first run is going; the next three queue behind it
        queued = [asyncio.ensure_future(batcher.submit(t)) for t in (["a"], ["bad"], ["ccc"])]
        await asyncio.sleep(0.05)
        release.set()
        await first
        good_a, bad, good_c = await asyncio.gather(*queued, return_exceptions=True)
        assert isinstance(bad, ValueError)
        assert isinstance(good_a, tuple) and good_a[0].ravel().tolist() == [1.0]
        assert isinstance(good_c, tuple) and good_c[0].ravel().tolist() == [3.0]
        vectors, _ = await batcher.submit(["dd"])  # and it keeps serving
        assert vectors.ravel().tolist() == [2.0]
        await batcher.aclose()

    asyncio.run(main())
    assert calls[1] == ["a", "bad", "ccc"]  # merged first, then one by one
    assert calls[2:] == [["a"], ["bad"], ["ccc"], ["dd"]]
