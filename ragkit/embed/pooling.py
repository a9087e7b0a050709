"""Pure numpy pooling, normalisation and Matryoshka truncation.

Usage::

    pooled = pool(token_states, attention_mask, "mean")
    vectors = l2_normalize(truncate_dim(pooled, 256))
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ragkit.errors import ConfigError
from ragkit.types import Matrix, Pooling

__all__ = ["l2_normalize", "layer_norm", "pool", "truncate_dim"]

_EPS = 1e-12


def pool(
    token_states: npt.NDArray[np.float32], attention_mask: npt.NDArray[np.int64], pooling: Pooling
) -> Matrix:
    """Turn token states ``(batch, seq, dim)`` into one vector per text.

    Args:
        token_states: The encoder's per-token output.
        attention_mask: 1 for real tokens, 0 for padding (right-padded), shape ``(batch, seq)``.
        pooling: ``"mean"`` over real tokens, ``"cls"`` (first token) or ``"last_token"``
            (the last real token).
    """
    if pooling == "cls":
        return np.ascontiguousarray(token_states[:, 0, :], dtype=np.float32)
    if pooling == "last_token":
        last = np.maximum(attention_mask.sum(axis=1) - 1, 0)
        return np.ascontiguousarray(token_states[np.arange(len(last)), last, :], dtype=np.float32)
    if pooling == "mean":
        mask = attention_mask.astype(np.float32)
        summed: Matrix = np.einsum("bsd,bs->bd", token_states, mask)
        counts = np.maximum(mask.sum(axis=1, keepdims=True), 1.0)
        pooled: Matrix = (summed / counts).astype(np.float32, copy=False)
        return pooled
    raise ConfigError(f"Unknown pooling {pooling!r}; use 'mean', 'cls' or 'last_token'.")


def l2_normalize(vectors: Matrix) -> Matrix:
    """Scale each row to unit length (rows of zeros stay zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    normalized: Matrix = (vectors / np.maximum(norms, _EPS)).astype(np.float32, copy=False)
    return normalized


def layer_norm(vectors: Matrix) -> Matrix:
    """Layer norm without learned scale (what nomic applies before Matryoshka truncation)."""
    mean = vectors.mean(axis=1, keepdims=True)
    var = vectors.var(axis=1, keepdims=True)
    normed: Matrix = ((vectors - mean) / np.sqrt(var + 1e-5)).astype(np.float32, copy=False)
    return normed


def truncate_dim(vectors: Matrix, dim: int) -> Matrix:
    """Keep the first ``dim`` dimensions (Matryoshka truncation); renormalise afterwards.

    Raises:
        ConfigError: ``dim`` is not between 1 and the vectors' dimension.
    """
    full = vectors.shape[1]
    if not 0 < dim <= full:
        raise ConfigError(f"Cannot truncate {full}-d embeddings to dim={dim}; use 1..{full}.")
    return np.ascontiguousarray(vectors[:, :dim])
