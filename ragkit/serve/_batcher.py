"""Merge concurrent requests into one model run (server-side micro-batching).

One worker per model takes the first waiting request and every other one queued behind it (up
to ``max_texts`` texts), optionally waiting ``wait_s`` for more, runs the model once in a
thread, and hands each request its rows. An idle server adds no latency: a lone request runs
at once. When a merged run fails, its requests run again one by one, so a bad request
fails alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ragkit.types import Matrix

__all__ = ["MicroBatcher"]

logger = logging.getLogger("ragkit.serve")

Run = Callable[[list[str]], tuple[Matrix, int]]  # texts -> (vectors, tokens)


@dataclass
class _Job:
    texts: list[str]
    done: asyncio.Future[tuple[Matrix, int]]


class MicroBatcher:
    """Queue of embedding jobs for one model, run in merged batches by one worker task."""

    def __init__(self, run: Run, *, max_texts: int, wait_s: float = 0.0) -> None:
        self._run, self._max, self._wait = run, max_texts, wait_s
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, texts: list[str]) -> tuple[Matrix, int]:
        """The vectors of ``texts`` and their share of the batch's tokens."""
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._work())
        job = _Job(texts, asyncio.get_running_loop().create_future())
        await self._queue.put(job)
        return await job.done

    async def aclose(self) -> None:
        """Stop the worker (waiting jobs are cancelled)."""
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None
        while not self._queue.empty():
            self._queue.get_nowait().done.cancel()

    async def _work(self) -> None:
        while True:
            jobs = [await self._queue.get()]
            size = len(jobs[0].texts)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self._wait
            while size < self._max:
                try:
                    if self._queue.empty() and self._wait > 0:
                        job = await asyncio.wait_for(self._queue.get(), deadline - loop.time())
                    else:
                        job = self._queue.get_nowait()
                except (asyncio.QueueEmpty, asyncio.TimeoutError):
                    break
                if size + len(job.texts) > self._max:
                    await self._run_jobs(jobs)  # this job starts the next batch
                    jobs, size = [], 0
                jobs.append(job)
                size += len(job.texts)
            await self._run_jobs(jobs)

    async def _run_jobs(self, jobs: list[_Job]) -> None:
        live = [j for j in jobs if not j.done.cancelled()]
        if not live:
            return
        texts = [t for j in live for t in j.texts]
        logger.debug("Running %d requests as one batch of %d texts", len(live), len(texts))
        try:
            vectors, tokens = await asyncio.to_thread(self._run, texts)
        except Exception as exc:
            if len(live) == 1:
                if not live[0].done.done():
                    live[0].done.set_exception(exc)
                return
            # one request's texts (a text over the window, say) must not fail the others
            # merged with it: run each alone, so each gets its own answer or its own error
            logger.debug("A merged batch failed (%s); running its requests one by one", exc)
            for job in live:
                await self._run_jobs([job])
            return
        chars = [sum(len(t) for t in j.texts) + len(j.texts) for j in live]
        start = 0
        for job, weight in zip(live, chars, strict=True):
            end = start + len(job.texts)
            share = round(tokens * weight / sum(chars))
            if not job.done.done():
                job.done.set_result((np.ascontiguousarray(vectors[start:end]), share))
            start = end
