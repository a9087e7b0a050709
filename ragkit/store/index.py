"""The in-memory binary index: one packed sign code per record, rebuildable from Chroma alone.

Each record's code also lives in Chroma (:data:`ragkit.store.fields.CODE_KEY`), so any client
of the same collection, embedded or server, can rebuild the index without re-embedding.

Usage::

    index = BinaryIndex(dim=384)
    index.upsert(["a", "b"], pack_signs(vectors), sign_factors(vectors))
    rows, distances = index.search(pack_signs(query[None, :]), k=10)
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ragkit.errors import StoreError
from ragkit.store.codes import Codes, asymmetric_scores, code_words, hamming_top_k

__all__ = ["BinaryIndex"]


Int8Rows = npt.NDArray[np.int8]
"""Per-row int8 vectors ``(n, d)`` (:func:`ragkit.store.fields.quantize_rows`). Each row's scale
is not needed: a cosine does not change when a vector is scaled."""


class BinaryIndex:
    """Record ids and their codes, scanned exactly by Hamming distance. Thread-safe.

    With ``int8_dim``, it also holds each record's int8 vector (``int8_dim`` bytes a record, 4x
    smaller than float32), so candidates can be rescored in memory without reading Chroma.
    """

    def __init__(self, dim: int, *, int8_dim: int | None = None) -> None:
        self.dim = dim
        self.words = code_words(dim)
        self.int8_dim = int8_dim
        self._ids: list[str] = []
        self._rows: dict[str, int] = {}
        self._codes: Codes = np.zeros((0, self.words), dtype=np.uint64, order="F")
        self._factors = np.zeros(0, dtype=np.float16)  # sign_factors, 2 bytes a record
        self._int8: Int8Rows = np.zeros((0, int8_dim or 0), dtype=np.int8)
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def ids(self) -> list[str]:
        """Ids in row order (a copy)."""
        with self._lock:
            return list(self._ids)

    def nbytes(self) -> int:
        """Memory held by the codes (and int8 vectors, if kept)."""
        return int(self._codes.nbytes + self._factors.nbytes + self._int8.nbytes)

    def replace_all(
        self,
        ids: Sequence[str],
        codes: Codes,
        factors: npt.NDArray[np.floating[Any]],
        int8: Int8Rows | None = None,
    ) -> None:
        """Replace the whole index (a rebuild from Chroma)."""
        with self._lock:
            self._ids = list(ids)
            self._rows = {record_id: row for row, record_id in enumerate(self._ids)}
            self._codes = np.asfortranarray(
                codes.reshape(len(self._ids), self.words), dtype=np.uint64
            )
            self._factors = np.asarray(factors, dtype=np.float16).reshape(len(self._ids))
            if self.int8_dim is not None:
                assert int8 is not None, "an int8 index needs int8 rows"
                self._int8 = np.ascontiguousarray(int8.reshape(len(self._ids), self.int8_dim))

    def upsert(
        self,
        ids: Sequence[str],
        codes: Codes,
        factors: npt.NDArray[np.floating[Any]],
        int8: Int8Rows | None = None,
    ) -> None:
        """Add new ids and overwrite the codes, factors (and int8 rows) of known ones."""
        with self._lock:
            keep_int8 = self.int8_dim is not None
            assert int8 is not None or not keep_int8, "an int8 index needs int8 rows"
            fresh = [i for i, record_id in enumerate(ids) if record_id not in self._rows]
            known = [(self._rows[r], i) for i, r in enumerate(ids) if r in self._rows]
            if known:
                rows, src = (list(x) for x in zip(*known, strict=True))
                self._codes[rows] = codes[src]
                self._factors[rows] = factors[src]
                if int8 is not None and keep_int8:
                    self._int8[rows] = int8[src]
            if fresh:
                start = len(self._ids)
                for offset, i in enumerate(fresh):
                    self._ids.append(ids[i])
                    self._rows[ids[i]] = start + offset
                self._codes = np.asfortranarray(np.vstack([self._codes, codes[fresh]]))
                self._factors = np.concatenate([self._factors, factors[fresh].astype(np.float16)])
                if int8 is not None and keep_int8:
                    self._int8 = np.vstack([self._int8, int8[fresh]])

    def delete(self, ids: Sequence[str]) -> None:
        """Drop ids (unknown ones are ignored)."""
        with self._lock:
            gone = {self._rows[r] for r in ids if r in self._rows}
            if not gone:
                return
            keep = [row for row in range(len(self._ids)) if row not in gone]
            int8 = self._int8[keep] if self.int8_dim is not None else None
            self.replace_all(
                [self._ids[row] for row in keep], self._codes[keep], self._factors[keep], int8
            )

    def mask_for(self, allowed_ids: Sequence[str]) -> npt.NDArray[np.bool_]:
        """A row mask that is True exactly for ``allowed_ids``."""
        with self._lock:
            mask = np.zeros(len(self._ids), dtype=bool)
            rows = [self._rows[r] for r in allowed_ids if r in self._rows]
            mask[rows] = True
            return mask

    def search(
        self, query_codes: Codes, k: int, *, allowed: npt.NDArray[np.bool_] | None = None
    ) -> tuple[list[list[str]], npt.NDArray[np.int32]]:
        """Ids and Hamming distances of the ``k`` nearest codes per query."""
        with self._lock:
            rows, distances = hamming_top_k(query_codes, self._codes, k, allowed=allowed)
            return [[self._ids[r] for r in row] for row in rows], distances

    def estimates(
        self, ids: Sequence[str], query: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.float32]:
        """Estimated cosines of a unit ``query`` (``(dim,)``) with the records ``ids``.

        From their codes and sign factors alone (:func:`ragkit.store.codes.sign_factors`).
        """
        with self._lock:
            rows = [self._rows[r] for r in ids]
            codes = np.ascontiguousarray(self._codes[rows])
            factors = self._factors[rows].astype(np.float32)
        scores: npt.NDArray[np.float32] = (
            asymmetric_scores(query[None], codes, self.dim)[0] / factors
        )
        return scores

    def int8_cosines(
        self, ids: Sequence[str], query: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.float32]:
        """Cosines of a unit ``query`` with the dequantized int8 vectors of ``ids``.

        Raises:
            StoreError: This index keeps no int8 vectors.
        """
        if self.int8_dim is None:
            raise StoreError(
                "This index keeps no int8 vectors (ChromaStore(..., int8_in_memory=True))."
            )
        with self._lock:
            rows = [self._rows[r] for r in ids]
            vectors = self._int8[rows].astype(np.float32)
        dots = vectors @ query
        norms = np.linalg.norm(vectors, axis=1)
        cosines: npt.NDArray[np.float32] = np.divide(
            dots, norms, out=np.zeros_like(dots), where=norms > 0
        )
        return cosines
