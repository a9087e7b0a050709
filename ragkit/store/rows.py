"""Growable arrays of fixed-width rows, in RAM or in a memory-mapped temporary file.

The binary index keeps its scanned columns (codes) in RAM and its cold columns (ids, int8
vectors: read for a few thousand candidates per query) memory-mapped, so the OS pages them in
on demand and can drop them under memory pressure. A mapped array lives in an unnamed
temporary file (``O_TMPFILE`` on Linux): it vanishes when the process ends, even on
``kill -9``, and is rebuilt from Chroma by the next process.

Usage::

    rows = RowArray(np.int8, 384, directory=Path("/var/cache/ragkit/index"))
    rows.extend(int8_vectors)
    rows.view()[candidates]   # (len(candidates), 384), paged in from the file
"""

from __future__ import annotations

import mmap
import tempfile
import weakref
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ragkit.errors import StoreError

__all__ = ["RowArray"]

_MIN_ROWS = 1_024
_COPY_ROWS = 65_536


class RowArray:
    """An ``(n, width)`` array that grows by appending rows (amortised, capacity doubling).

    Args:
        dtype: Element type.
        width: Elements per row.
        directory: Folder for a memory-mapped temporary file; None keeps the rows in RAM.
        order: Memory order of an in-RAM array (``"F"`` keeps each column contiguous, which
            is what the Hamming scan wants). Mapped arrays are row-major.

    Not thread-safe on its own: the index that owns it holds a lock. Views returned by
    :meth:`view` stay valid after later appends (they see the rows as they were).
    """

    def __init__(
        self,
        dtype: npt.DTypeLike,
        width: int,
        *,
        directory: Path | None = None,
        order: Literal["C", "F"] = "C",
    ) -> None:
        self.dtype = np.dtype(dtype)
        self.width = width
        self.directory = directory
        self.order: Literal["C", "F"] = order if directory is None else "C"
        self._length = 0
        self._file: Any = None  # the open temporary file of a mapped array
        self._data: npt.NDArray[Any] = self._allocate(_MIN_ROWS)

    def __len__(self) -> int:
        return self._length

    @property
    def mapped(self) -> bool:
        """Whether the rows live in a memory-mapped file rather than in RAM."""
        return self.directory is not None

    def nbytes(self) -> int:
        """Bytes the rows take (in RAM, or in the mapped file)."""
        return self._length * self.width * self.dtype.itemsize

    def view(self) -> npt.NDArray[Any]:
        """The rows, ``(n, width)``: a view, not a copy."""
        return self._data[: self._length]

    def extend(self, rows: npt.ArrayLike) -> None:
        """Append rows (shape ``(m, width)``)."""
        values = np.asarray(rows, dtype=self.dtype).reshape(-1, self.width)
        end = self._length + len(values)
        if end > len(self._data):
            self._grow(max(end, len(self._data) * 3 // 2))  # amortised; 1.5x bounds the slack
        self._data[self._length : end] = values
        self._length = end

    def assign(self, positions: npt.ArrayLike, rows: npt.ArrayLike) -> None:
        """Overwrite the rows at ``positions`` (all below ``len(self)``)."""
        self._data[np.asarray(positions, dtype=np.int64)] = np.asarray(
            rows, dtype=self.dtype
        ).reshape(-1, self.width)

    def keep(self, mask: npt.NDArray[np.bool_]) -> None:
        """Drop the rows where ``mask`` is False, keeping the order of the rest."""
        kept = int(np.count_nonzero(mask))
        fresh = self._allocate(max(_MIN_ROWS, kept))
        done = 0
        for start in range(0, self._length, _COPY_ROWS):  # chunks: no full copy in RAM
            stop = min(self._length, start + _COPY_ROWS)
            part = self._data[start:stop][mask[start:stop]]
            fresh[done : done + len(part)] = part
            done += len(part)
        self._replace(fresh)
        self._length = kept

    def trim(self) -> None:
        """Give back the spare capacity of an in-RAM array (mapped slack costs only disk)."""
        if self.directory is None and len(self._data) > max(_MIN_ROWS, self._length):
            fresh = self._allocate(max(_MIN_ROWS, self._length))
            fresh[: self._length] = self._data[: self._length]
            self._data = fresh

    def clear(self) -> None:
        """Drop every row and give the space back."""
        self._replace(self._allocate(_MIN_ROWS))
        self._length = 0

    def _grow(self, capacity: int) -> None:
        if self._file is not None:  # grow the file in place; old views keep the old mapping
            try:
                self._file.truncate(capacity * self._row_bytes)
            except OSError as exc:
                raise _disk_error(self.directory, exc) from exc
            self._data = self._map(self._file, capacity)
            return
        fresh = self._allocate(capacity)
        fresh[: self._length] = self._data[: self._length]
        self._data = fresh

    def _replace(self, data: npt.NDArray[Any]) -> None:
        self._data = data  # the old file closes once no view of it is left

    @property
    def _row_bytes(self) -> int:
        return self.width * self.dtype.itemsize

    def _allocate(self, capacity: int) -> npt.NDArray[Any]:
        if self.directory is None:
            return np.zeros((capacity, self.width), dtype=self.dtype, order=self.order)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle = tempfile.TemporaryFile(dir=self.directory)
            handle.truncate(capacity * self._row_bytes)
        except OSError as exc:
            raise _disk_error(self.directory, exc) from exc
        if self._file is not None:
            self._file.close()  # mappings of it stay valid: mmap holds its own descriptor
        self._file = handle
        weakref.finalize(self, handle.close)
        return self._map(handle, capacity)

    def _map(self, handle: Any, capacity: int) -> npt.NDArray[Any]:
        mapping = mmap.mmap(handle.fileno(), capacity * self._row_bytes)
        array: npt.NDArray[Any] = np.ndarray(
            (capacity, self.width), dtype=self.dtype, buffer=mapping
        )
        return array


def _disk_error(directory: Path | None, exc: OSError) -> StoreError:
    return StoreError(
        f"Cannot keep the index's memory-mapped rows in {directory}: {exc}. Free some disk "
        "space, pass another index_dir (or RAGKIT_INDEX_DIR), or memory_map=False to keep "
        "them in RAM."
    )
