"""The binary index: one packed sign code per record, rebuildable from Chroma alone.

Each record's code also lives in Chroma (:data:`ragkit.store.fields.CODE_KEY`), so any client
of the same collection, embedded or server, can rebuild the index without re-embedding.

What is scanned stays in RAM: the codes and their sign factors, 50 bytes a 384-bit record
(31x smaller than float32). What is read only for candidates (the ids, and optionally each
record's int8 vector for rescoring wide candidate lists) can live in memory-mapped files
(``directory``), which the OS pages in on demand.

Usage::

    index = BinaryIndex(dim=384, int8_dim=384, directory=Path("/tmp/ragkit-index"))
    index.upsert(["a", "b"], pack_signs(vectors), sign_factors(vectors), int8_rows)
    ids, scores = index.shortlist(query, query, width=1000, keep=40, by="int8")
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ragkit.errors import StoreError
from ragkit.store.codes import Codes, asymmetric_scores, code_words, hamming_top_k, pack_signs
from ragkit.store.id_table import IdTable
from ragkit.store.rows import RowArray
from ragkit.types import Vector

__all__ = ["BinaryIndex", "RankBy"]


Int8Rows = npt.NDArray[np.int8]
"""Per-row int8 vectors ``(n, d)`` (:func:`ragkit.store.fields.quantize_rows`). Each row's scale
is not needed: a cosine does not change when a vector is scaled."""

RankBy = Literal["hamming", "signs", "int8"]
"""How :meth:`BinaryIndex.shortlist` ranks the Hamming candidates: by distance, by the
asymmetric estimate from the signs, or by cosine with the int8 vectors."""


class BinaryIndex:
    """Record ids and their codes, scanned exactly by Hamming distance. Thread-safe.

    Args:
        dim: Bits per code.
        int8_dim: Also keep each record's int8 vector (``int8_dim`` bytes a record), so wide
            candidate lists are rescored without reading Chroma.
        directory: Folder for the memory-mapped ids and int8 vectors; None keeps them in RAM.
    """

    def __init__(
        self, dim: int, *, int8_dim: int | None = None, directory: Path | None = None
    ) -> None:
        self.dim = dim
        self.words = code_words(dim)
        self.int8_dim = int8_dim
        self.directory = directory
        self._ids = IdTable(directory)
        self._codes = RowArray(np.uint64, self.words, order="F")  # column-major: fast scans
        self._factors = RowArray(np.float16, 1)  # sign_factors, 2 bytes a record
        self._int8 = RowArray(np.int8, int8_dim or 1, directory=directory)
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def ids(self) -> list[str]:
        """Ids in row order (a copy)."""
        with self._lock:
            return self._ids.all_ids()

    def nbytes(self) -> int:
        """Bytes held in RAM: the codes and sign factors (plus ids and int8 rows if not mapped)."""
        resident = self._codes.nbytes() + self._factors.nbytes()
        if self.directory is None:
            resident += self._ids.nbytes() + self._int8.nbytes()
        return resident

    def mapped_nbytes(self) -> int:
        """Bytes in memory-mapped files (ids and int8 rows), paged in on demand."""
        return 0 if self.directory is None else self._ids.nbytes() + self._int8.nbytes()

    def replace_all(
        self,
        ids: Sequence[str],
        codes: Codes,
        factors: npt.NDArray[np.floating[Any]],
        int8: Int8Rows | None = None,
    ) -> None:
        """Replace the whole index (a rebuild from Chroma)."""
        with self._lock:
            for part in (self._ids, self._codes, self._factors, self._int8):
                part.clear()
            self._append(ids, codes, factors, int8)

    def upsert(
        self,
        ids: Sequence[str],
        codes: Codes,
        factors: npt.NDArray[np.floating[Any]],
        int8: Int8Rows | None = None,
    ) -> None:
        """Add new ids and overwrite the codes, factors (and int8 rows) of known ones."""
        with self._lock:
            self._check_int8(int8)
            rows = self._ids.rows_of(ids)
            known = np.flatnonzero(rows >= 0)
            if known.size:
                self._codes.assign(rows[known], codes[known])
                self._factors.assign(rows[known], factors[known])
                if self.int8_dim is not None and int8 is not None:
                    self._int8.assign(rows[known], int8[known])
            fresh = np.flatnonzero(rows < 0)
            if fresh.size:
                self._append(
                    [ids[i] for i in fresh.tolist()],
                    codes[fresh],
                    factors[fresh],
                    int8[fresh] if int8 is not None else None,
                )

    def extend(
        self,
        ids: Sequence[str],
        codes: Codes,
        factors: npt.NDArray[np.floating[Any]],
        int8: Int8Rows | None = None,
    ) -> None:
        """Append records whose ids are not in the index (a rebuild, page by page)."""
        with self._lock:
            self._append(ids, codes, factors, int8)

    def compact(self) -> None:
        """Give back spare capacity and fold pending lookups in (after a bulk load)."""
        with self._lock:
            self._ids.compact()
            for part in (self._codes, self._factors, self._int8):
                part.trim()

    def _append(
        self,
        ids: Sequence[str],
        codes: Codes,
        factors: npt.NDArray[np.floating[Any]],
        int8: Int8Rows | None,
    ) -> None:
        self._check_int8(int8)
        self._ids.append(ids)
        self._codes.extend(codes.reshape(len(ids), self.words))
        self._factors.extend(np.asarray(factors, dtype=np.float16).reshape(len(ids), 1))
        if self.int8_dim is not None and int8 is not None:
            self._int8.extend(int8.reshape(len(ids), self.int8_dim))

    def _check_int8(self, int8: Int8Rows | None) -> None:
        assert int8 is not None or self.int8_dim is None, "an int8 index needs int8 rows"

    def delete(self, ids: Sequence[str]) -> None:
        """Drop ids (unknown ones are ignored)."""
        with self._lock:
            rows = self._ids.rows_of(ids)
            rows = rows[rows >= 0]
            if not rows.size:
                return
            keep = np.ones(len(self), dtype=bool)
            keep[rows] = False
            self._ids.keep(keep)
            self._codes.keep(keep)
            self._factors.keep(keep)
            if self.int8_dim is not None:
                self._int8.keep(keep)

    def mask_for(self, allowed_ids: Sequence[str]) -> npt.NDArray[np.bool_]:
        """A row mask that is True exactly for ``allowed_ids``."""
        with self._lock:
            mask = np.zeros(len(self), dtype=bool)
            rows = self._ids.rows_of(allowed_ids)
            mask[rows[rows >= 0]] = True
            return mask

    def shortlist(
        self,
        code_query: Vector,
        stored_query: Vector | None,
        *,
        width: int,
        keep: int,
        by: RankBy,
        allowed: npt.NDArray[np.bool_] | None = None,
    ) -> tuple[list[str], npt.NDArray[np.float32]]:
        """The ``keep`` best of the ``width`` nearest codes to one query, with their scores.

        Args:
            code_query: The query as the codes were made (unit vector, ``dim`` values).
            stored_query: The query as the int8 vectors were made (needed for ``by="int8"``).
            width: Candidates taken from the Hamming scan.
            keep: How many of them to return, best first.
            by: ``"hamming"`` (score: the cosine the distance implies), ``"signs"`` (the
                asymmetric estimate) or ``"int8"`` (cosine with the int8 vectors).
            allowed: Optional row mask (:meth:`mask_for`).

        Everything happens under the index lock, so a concurrent write never shifts a row
        between the scan and the ids it names.

        Raises:
            StoreError: ``by="int8"`` on an index without int8 vectors.
        """
        if by == "int8" and (self.int8_dim is None or stored_query is None):
            raise StoreError("This index keeps no int8 vectors (ChromaStore(..., int8_rows=True)).")
        with self._lock:
            found, distances = hamming_top_k(
                pack_signs(code_query[None]), self._codes.view(), width, allowed=allowed
            )
            rows, hamming = found[0], distances[0]
            if by == "hamming":
                scores = np.cos(np.pi * hamming.astype(np.float32) / self.dim)
            elif by == "signs":
                scores = self._sign_estimates(rows, code_query)
            else:
                assert stored_query is not None
                scores = self._int8_cosines(rows, stored_query)
            best = np.lexsort((rows, -scores))[:keep]  # ties: the lower row first
            return self._ids.ids_at(rows[best]), scores[best].astype(np.float32)

    def _sign_estimates(
        self, rows: npt.NDArray[np.int64], query: Vector
    ) -> npt.NDArray[np.float32]:
        """Estimated cosines of a unit ``query`` from the codes and sign factors alone."""
        codes = np.ascontiguousarray(self._codes.view()[rows])
        factors = self._factors.view()[rows, 0].astype(np.float32)
        unit = query / max(float(np.linalg.norm(query)), 1e-12)
        scores: npt.NDArray[np.float32] = (
            asymmetric_scores(unit[None], codes, self.dim)[0] / factors
        )
        return scores

    def _int8_cosines(self, rows: npt.NDArray[np.int64], query: Vector) -> npt.NDArray[np.float32]:
        """Cosines of ``query`` with the dequantized int8 vectors at ``rows``."""
        cosines = np.empty(len(rows), dtype=np.float32)
        vectors = self._int8.view()
        for start in range(0, len(rows), _INT8_BLOCK):  # bounded float copies
            part = rows[start : start + _INT8_BLOCK]
            order = np.argsort(part)  # read the (mapped) rows in file order
            as_float = vectors[part[order]].astype(np.float32)
            dots = as_float @ query
            norms = np.sqrt(np.einsum("ij,ij->i", as_float, as_float))
            values = np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)
            cosines[start + order] = values
        unit = max(float(np.linalg.norm(query)), 1e-12)
        return cosines / unit


_INT8_BLOCK = 4_096
"""Int8 rows turned into float32 at once while rescoring (16 KB a row block of 384 dims)."""
