"""Type aliases shared across ragkit."""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = ["Matrix", "Pooling", "Precision", "Vector"]

Vector = npt.NDArray[np.float32]
"""One embedding, shape ``(dim,)``."""

Matrix = npt.NDArray[np.float32]
"""A batch of embeddings, shape ``(n, dim)``."""

Pooling = Literal["mean", "cls", "last_token"]
"""How token embeddings become one text embedding."""

Precision = Literal["fp32", "int8"]
"""Weights precision of the ONNX model that runs."""
