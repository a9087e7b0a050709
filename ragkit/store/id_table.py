"""Record ids by row, compactly: one UTF-8 blob, end offsets, and a sorted hash table.

A Python list plus dict of a million short ids costs ~115 MB, more than twice the codes they
name. Here an id costs its UTF-8 bytes plus 24 bytes (its end offset, its hash and its row in
the sorted lookup table), and all of it can live in memory-mapped files
(:class:`~ragkit.store.rows.RowArray`). Ids added since the last merge wait in a small dict.

Usage::

    table = IdTable()
    table.append(["a", "b"])
    table.rows_of(["b", "z"]).tolist()  # [1, -1]
    table.ids_at([0])                   # ["a"]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ragkit.store.rows import RowArray

__all__ = ["IdTable"]

_MERGE_MIN, _MERGE_MAX = 4_096, 65_536


def _hashes(ids: Iterable[str]) -> npt.NDArray[np.int64]:
    """Per-process string hashes (the table never leaves the process)."""
    return np.fromiter((hash(i) for i in ids), dtype=np.int64)


class IdTable:
    """Ids in row order, with lookup from id to row. Not thread-safe on its own.

    Args:
        directory: Folder for memory-mapped files; None keeps everything in RAM.
    """

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self._blob = RowArray(np.uint8, 1, directory=directory)
        self._ends = RowArray(np.int64, 1, directory=directory)
        self._sorted = RowArray(np.int64, 2, directory=directory)  # (hash, row), by hash
        self._recent: dict[str, int] = {}  # appended since the last merge into _sorted

    def __len__(self) -> int:
        return len(self._ends)

    def nbytes(self) -> int:
        """Bytes of the blob, offsets and lookup table (RAM or mapped), without the recent dict."""
        return self._blob.nbytes() + self._ends.nbytes() + self._sorted.nbytes()

    def append(self, ids: Sequence[str]) -> None:
        """Add ids that are not in the table yet, as the next rows."""
        if not ids:
            return
        encoded = [i.encode("utf-8") for i in ids]
        base = int(self._ends.view()[-1, 0]) if len(self._ends) else 0
        lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))
        first_row = len(self)
        self._blob.extend(np.frombuffer(b"".join(encoded), dtype=np.uint8))
        self._ends.extend(base + np.cumsum(lengths))
        self._recent.update((record_id, first_row + n) for n, record_id in enumerate(ids))
        if len(self._recent) > min(_MERGE_MAX, max(_MERGE_MIN, len(self) // 16)):
            self._merge_recent()

    def rows_of(self, ids: Sequence[str]) -> npt.NDArray[np.int64]:
        """The row of each id, -1 for ids not in the table."""
        rows = np.full(len(ids), -1, dtype=np.int64)
        if not ids or not len(self):
            return rows
        table = self._sorted.view()
        keys = table[:, 0]
        wanted = _hashes(ids)
        starts = np.searchsorted(keys, wanted)
        for n, (record_id, start) in enumerate(zip(ids, starts.tolist(), strict=True)):
            row = self._recent.get(record_id, -1)
            position = start
            while row < 0 and position < len(keys) and keys[position] == wanted[n]:
                candidate = int(table[position, 1])  # equal hashes: check the id itself
                if self._id_at(candidate) == record_id:
                    row = candidate
                position += 1
            rows[n] = row
        return rows

    def ids_at(self, rows: Iterable[int]) -> list[str]:
        """The ids at ``rows``."""
        return [self._id_at(int(row)) for row in rows]

    def all_ids(self) -> list[str]:
        """Every id, in row order."""
        ends = self._ends.view()[:, 0]
        if not len(ends):
            return []
        blob = self._blob.view()[:, 0].tobytes()
        starts = np.concatenate([[0], ends[:-1]]).tolist()
        return [blob[a:b].decode("utf-8") for a, b in zip(starts, ends.tolist(), strict=True)]

    def keep(self, mask: npt.NDArray[np.bool_]) -> None:
        """Drop the rows where ``mask`` is False; the rest move up, keeping their order."""
        ends = self._ends.view()[:, 0]
        lengths = np.diff(ends, prepend=0)
        self._blob.keep(np.repeat(mask, lengths))
        kept_ends = np.cumsum(lengths[mask])
        self._ends.clear()
        self._ends.extend(kept_ends)
        new_row = np.cumsum(mask) - 1
        table = self._sorted.view()
        survivors = table[mask[table[:, 1]]] if len(table) else table
        remapped = np.column_stack([survivors[:, 0], new_row[survivors[:, 1]]])
        self._sorted.clear()
        self._sorted.extend(remapped)
        self._recent = {i: int(new_row[r]) for i, r in self._recent.items() if mask[r]}

    def compact(self) -> None:
        """Merge the recent ids into the sorted table and trim spare capacity (after a rebuild)."""
        self._merge_recent()
        for part in (self._blob, self._ends, self._sorted):
            part.trim()

    def clear(self) -> None:
        """Drop every id."""
        for part in (self._blob, self._ends, self._sorted):
            part.clear()
        self._recent = {}

    def _id_at(self, row: int) -> str:
        ends = self._ends.view()
        start = int(ends[row - 1, 0]) if row > 0 else 0
        raw: Any = self._blob.view()[start : int(ends[row, 0]), 0]
        return bytes(raw).decode("utf-8")

    def _merge_recent(self) -> None:
        """Move the recent ids into the sorted table (one stable sort of all hashes)."""
        if not self._recent:
            return
        added = np.column_stack(
            [_hashes(self._recent), np.fromiter(self._recent.values(), dtype=np.int64)]
        )
        merged = np.concatenate([self._sorted.view(), added])
        merged = merged[np.argsort(merged[:, 0], kind="stable")]
        self._sorted.clear()
        self._sorted.extend(merged)
        self._recent = {}
