"""Asymmetric rescoring: score a float query against 1-bit codes, reconstructed per dimension.

A bit says only which side of zero a value fell on. The best single value to stand for it is
the mean of the values that fell on that side, per dimension: ``x̂_j = mean(x_j | x_j > 0)``
or ``mean(x_j | x_j <= 0)``. Scoring ``cos(q, x̂)`` keeps more of the float ranking than the
bare ``±1`` signs (on SciFact with all-MiniLM-L6-v2, Hamming top-40: 95.8% of float NDCG@10
against 95.1%). The sums behind those means are kept as running totals over every write,
so they never need fitting and follow the collection as it grows.

Usage::

    stats = SignStats.empty(384).add(doc_vectors)
    scores = stats.scores(query_vector, candidate_codes)
    text = stats.encode(); assert SignStats.decode(text, 384) == stats
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ragkit.embed.pooling import l2_normalize
from ragkit.errors import StoreError
from ragkit.store.codes import Codes, unpack_bits
from ragkit.types import Matrix, Vector

__all__ = ["SignStats"]


@dataclass(frozen=True, eq=False)
class SignStats:
    """Per-dimension sums and counts of the positive and the non-positive values seen.

    Attributes:
        sums: float64 ``(2, d)``: row 0 sums values ``> 0``, row 1 values ``<= 0``.
        counts: float64 ``(2, d)``: how many values each sum holds.
    """

    sums: npt.NDArray[np.float64]
    counts: npt.NDArray[np.float64]

    @classmethod
    def empty(cls, dim: int) -> SignStats:
        """No values seen yet: reconstruction falls back to ``±1 / sqrt(dim)``."""
        return cls(np.zeros((2, dim)), np.zeros((2, dim)))

    @property
    def dim(self) -> int:
        """Number of dimensions."""
        return int(self.sums.shape[1])

    def add(self, vectors: Matrix) -> SignStats:
        """New stats that also count ``vectors`` (shape ``(n, dim)``)."""
        matrix = np.asarray(vectors, dtype=np.float64)
        positive = matrix > 0
        sums = np.stack(
            [np.where(positive, matrix, 0).sum(0), np.where(positive, 0, matrix).sum(0)]
        )
        counts = np.stack([positive.sum(0), (~positive).sum(0)]).astype(np.float64)
        return SignStats(self.sums + sums, self.counts + counts)

    def levels(self) -> Matrix:
        """The value each bit stands for, float32 ``(2, d)``: row 0 for 1, row 1 for 0."""
        fallback = np.array([[1.0], [-1.0]]) / np.sqrt(self.dim)
        means = np.divide(
            self.sums, self.counts, out=np.zeros_like(self.sums), where=self.counts > 0
        )
        levels: Matrix = np.where(self.counts > 0, means, fallback).astype(np.float32)
        return levels

    def scores(self, query: Vector, codes: Codes) -> Vector:
        """Cosine of ``query`` (``(dim,)``) with each code's reconstruction (``(m,)``)."""
        bits = unpack_bits(codes, self.dim).astype(bool)
        levels = self.levels()
        reconstructed = l2_normalize(np.where(bits, levels[0], levels[1]).astype(np.float32))
        scores: Vector = reconstructed @ np.asarray(query, dtype=np.float32)
        return scores

    def encode(self) -> str:
        """Compact text for collection metadata (base64 of little-endian float64)."""
        both = np.concatenate([self.sums, self.counts]).astype("<f8")
        return base64.b64encode(both.tobytes()).decode("ascii")

    @classmethod
    def decode(cls, text: str, dim: int) -> SignStats:
        """Inverse of :meth:`encode`.

        Raises:
            StoreError: The text does not hold stats of ``dim`` dimensions.
        """
        try:
            raw = base64.b64decode(text.encode("ascii"), validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
            raise StoreError(f"Corrupt sign statistics in the collection metadata: {exc}") from exc
        if len(raw) != 4 * dim * 8:
            raise StoreError(f"Sign statistics hold {len(raw) // 32} dimensions, expected {dim}.")
        both = np.frombuffer(raw, dtype="<f8").astype(np.float64).reshape(4, dim)
        return cls(both[:2].copy(), both[2:].copy())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SignStats):
            return NotImplemented
        return bool(
            np.array_equal(self.sums, other.sums) and np.array_equal(self.counts, other.counts)
        )

    __hash__ = None  # type: ignore[assignment]
