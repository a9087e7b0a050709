"""What ragkit writes into each record's Chroma metadata, and how it reads it back.

Every record carries its packed sign code (:data:`CODE_KEY`) and an int8 copy of its stored
vector (:data:`INT8_KEY`), so any client of the collection, embedded or server, can rebuild the
binary index and rescore with int8 vectors without re-embedding or fetching float vectors.

The int8 copy is symmetric per vector: ``code = round(x / scale)`` with
``scale = max|x| / 127``, stored as base64 of the float32 scale followed by the int8 codes.
A per-vector scale needs no corpus calibration (nothing to fit, nothing to go stale as the
collection grows) and, dequantized, keeps cosines within about 1e-4 for unit vectors.

Usage::

    meta = {CODE_KEY: encode_code(codes[0]), INT8_KEY: encode_int8(vectors[0])}
    vector = decode_int8(meta[INT8_KEY], dim=384)
"""

from __future__ import annotations

import base64
import binascii

import numpy as np
import numpy.typing as npt

from ragkit.errors import StoreError
from ragkit.store.codes import Codes
from ragkit.types import Matrix, Vector

__all__ = [
    "CODE_KEY",
    "FACTOR_KEY",
    "INT8_KEY",
    "decode_code",
    "decode_int8",
    "decode_int8_parts",
    "decode_int8_rows",
    "decode_codes",
    "encode_code",
    "encode_int8",
    "encode_int8_rows",
    "quantize_rows",
]

CODE_KEY = "ragkit:code"
"""Metadata field holding a record's packed sign code (base64 of little-endian uint64 words)."""

FACTOR_KEY = "ragkit:sign_factor"
"""Metadata field holding :func:`ragkit.store.codes.sign_factors` of the record's code input."""

INT8_KEY = "ragkit:int8"
"""Metadata field holding a record's int8 vector (base64: float32 scale, then int8 codes)."""

_INT8_MAX = 127


def encode_code(words: Codes) -> str:
    """One record's packed words (``(w,)`` uint64) as compact base64 text."""
    return base64.b64encode(np.ascontiguousarray(words, dtype="<u8").tobytes()).decode("ascii")


def decode_code(text: str, words: int) -> Codes:
    """Inverse of :func:`encode_code`.

    Raises:
        StoreError: The text is not a code of ``words`` 64-bit words.
    """
    raw = _b64(text, CODE_KEY)
    if len(raw) != words * 8:
        raise StoreError(
            f"Binary code in {CODE_KEY!r} has {len(raw)} bytes, expected {words * 8}; "
            "the collection mixes code sizes: rebuild it with ChromaStore(..., reembed=True)."
        )
    return np.frombuffer(raw, dtype="<u8").astype(np.uint64)


def decode_codes(texts: list[str], words: int) -> Codes:
    """Many :func:`encode_code` fields at once, as ``(len(texts), words)`` uint64.

    Raises:
        StoreError: One of them is not a code of ``words`` words (the first such is named).
    """
    raw = b"".join(_b64(text, CODE_KEY) for text in texts)
    if len(raw) != len(texts) * words * 8:
        for text in texts:
            decode_code(text, words)  # raises, naming the size found
    return np.frombuffer(raw, dtype="<u8").astype(np.uint64).reshape(len(texts), words)


def decode_int8_rows(texts: list[str], dim: int) -> npt.NDArray[np.int8]:
    """The int8 codes ``(len(texts), dim)`` of many :func:`encode_int8` fields (scales dropped).

    Raises:
        StoreError: One of them is not an int8 vector of ``dim`` values.
    """
    raw = b"".join(_b64(text, INT8_KEY) for text in texts)
    if len(raw) != len(texts) * (4 + dim):
        for text in texts:
            decode_int8_parts(text, dim)  # raises, naming the size found
    rows = np.frombuffer(raw, dtype=np.int8).reshape(len(texts), 4 + dim)
    return np.ascontiguousarray(rows[:, 4:])


def quantize_rows(vectors: Matrix) -> tuple[npt.NDArray[np.int8], Vector]:
    """Symmetric per-row int8: codes ``(n, d)`` and scales ``(n,)``, ``x ≈ codes * scale``."""
    matrix = np.asarray(vectors, dtype=np.float32)
    scales: Vector = (np.abs(matrix).max(axis=1) / np.float32(_INT8_MAX)).astype(np.float32)
    inverse = np.divide(1, scales, out=np.zeros_like(scales), where=scales > 0)
    codes = np.clip(np.rint(matrix * inverse[:, None]), -_INT8_MAX, _INT8_MAX).astype(np.int8)
    return codes, scales


def encode_int8(vectors: Matrix) -> list[str]:
    """Each row as base64 of its float32 scale and its int8 codes (a zero row has scale 0)."""
    return encode_int8_rows(*quantize_rows(vectors))


def encode_int8_rows(codes: npt.NDArray[np.int8], scales: Vector) -> list[str]:
    """:func:`encode_int8` of rows already quantized by :func:`quantize_rows`."""
    scale_bytes = scales.astype("<f4")
    return [
        base64.b64encode(scale_bytes[i : i + 1].tobytes() + codes[i].tobytes()).decode("ascii")
        for i in range(len(codes))
    ]


def decode_int8_parts(text: str, dim: int) -> tuple[npt.NDArray[np.int8], float]:
    """One :func:`encode_int8` field as its int8 codes ``(dim,)`` and scale.

    Raises:
        StoreError: The text is not an int8 vector of ``dim`` values.
    """
    raw = _b64(text, INT8_KEY)
    if len(raw) != 4 + dim:
        raise StoreError(
            f"int8 vector in {INT8_KEY!r} has {len(raw) - 4} values, expected {dim}; "
            "re-add the record through ChromaStore."
        )
    return np.frombuffer(raw[4:], dtype=np.int8), float(np.frombuffer(raw[:4], dtype="<f4")[0])


def decode_int8(text: str, dim: int) -> Vector:
    """Dequantize one :func:`encode_int8` field back to float32 ``(dim,)``.

    Raises:
        StoreError: The text is not an int8 vector of ``dim`` values.
    """
    codes, scale = decode_int8_parts(text, dim)
    vector: Vector = codes.astype(np.float32) * np.float32(scale)
    return vector


def _b64(text: str, key: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
        raise StoreError(f"Corrupt value in {key!r}: {exc}; re-add the record.") from exc
