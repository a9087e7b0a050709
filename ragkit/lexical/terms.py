"""TermTable: each record's terms as vocabulary ids, the input a BM25 matrix is built from.

bm25s builds its matrix in one pass and cannot add or drop a document afterwards, so the
lexical index keeps what a rebuild needs: per record its id, a hash of the text it indexed and
its term ids (4 bytes a term, all records in one array), plus the vocabulary. Replacing or
dropping records edits these arrays; the matrix is rebuilt from them when next searched.

Usage::

    table = TermTable()
    table.upsert(["a", "b"], np.array([1, 2], dtype=np.uint64), [["cat", "run"], ["dog"]])
    token_ids, vocab = table.corpus()  # [array([0, 1]), array([2])], {"cat": 0, "run": 1, ...}
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from ragkit.store.id_table import IdTable
from ragkit.store.rows import RowArray

__all__ = ["TermTable"]

Hashes = npt.NDArray[np.uint64]


class TermTable:
    """Record ids, text hashes and term ids, in row order. Not thread-safe on its own."""

    def __init__(self) -> None:
        self._ids = IdTable()
        self._hashes = RowArray(np.uint64, 1)
        self._lengths = RowArray(np.int64, 1)  # terms per record
        self._terms = RowArray(np.int32, 1)  # every record's term ids, one after another
        self.vocabulary: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def nbytes(self) -> int:
        """Bytes of the ids, hashes, lengths and term ids (the vocabulary dict not counted)."""
        parts = (self._hashes, self._lengths, self._terms)
        return self._ids.nbytes() + sum(part.nbytes() for part in parts)

    @property
    def term_count(self) -> int:
        """Terms held over all records."""
        return len(self._terms)

    def ids(self) -> list[str]:
        """Every id, in row order."""
        return self._ids.all_ids()

    def ids_at(self, rows: Sequence[int]) -> list[str]:
        """The ids at ``rows``."""
        return self._ids.ids_at(rows)

    def rows_of(self, ids: Sequence[str]) -> npt.NDArray[np.int64]:
        """The row of each id, -1 for ids not held."""
        return self._ids.rows_of(ids)

    def hashes_of(self, ids: Sequence[str]) -> list[int | None]:
        """The text hash held for each id, None for ids not held."""
        rows = self._ids.rows_of(ids)
        held = self._hashes.view()[:, 0]
        return [int(held[row]) if row >= 0 else None for row in rows.tolist()]

    def upsert(self, ids: Sequence[str], hashes: Hashes, terms: Sequence[Sequence[str]]) -> None:
        """Add records, replacing the ones already held (ids must be unique in one call)."""
        if not ids:
            return
        self.delete(ids)
        vocabulary = self.vocabulary
        encoded = [[vocabulary.setdefault(t, len(vocabulary)) for t in text] for text in terms]
        self._ids.append(list(ids))
        self._hashes.extend(np.asarray(hashes, dtype=np.uint64))
        self._lengths.extend(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)))
        self._terms.extend(np.fromiter((t for text in encoded for t in text), dtype=np.int32))

    def delete(self, ids: Sequence[str]) -> None:
        """Drop records (ids not held are ignored)."""
        rows = self._ids.rows_of(ids)
        rows = rows[rows >= 0]
        if not rows.size:
            return
        keep = np.ones(len(self), dtype=bool)
        keep[rows] = False
        lengths = self._lengths.view()[:, 0]
        self._terms.keep(np.repeat(keep, lengths))
        for part in (self._ids, self._hashes, self._lengths):
            part.keep(keep)

    def corpus(self) -> tuple[list[npt.NDArray[np.int32]], dict[str, int]]:
        """Each record's term ids (views into one array) and the vocabulary, for bm25s.

        Terms no record uses any more are dropped from the vocabulary first, once they are
        at least half of it.
        """
        terms = self._terms.view()[:, 0]
        used = np.unique(terms)
        if len(used) * 2 <= len(self.vocabulary) and len(self.vocabulary) > 0:
            self._renumber(used)
            terms = self._terms.view()[:, 0]
        ends = np.cumsum(self._lengths.view()[:, 0])
        return np.split(terms, ends[:-1]) if len(ends) else [], self.vocabulary

    def _renumber(self, used: npt.NDArray[np.int32]) -> None:
        """Keep only the ``used`` term ids (sorted), numbered 0.. in their old order."""
        new_id = np.full(len(self.vocabulary), -1, dtype=np.int32)
        new_id[used] = np.arange(len(used), dtype=np.int32)
        renumbered = new_id[self._terms.view()[:, 0]]
        self._terms.clear()
        self._terms.extend(renumbered)
        self.vocabulary = {
            term: int(new_id[i]) for term, i in self.vocabulary.items() if new_id[i] >= 0
        }

    def arrays(self) -> dict[str, npt.NDArray[np.generic]]:
        """The table as plain arrays (:meth:`from_arrays` reads them back)."""
        terms = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        id_blob, id_ends = _pack(self.ids())
        term_blob, term_ends = _pack(terms)
        return {
            "id_blob": id_blob,
            "id_ends": id_ends,
            "hashes": self._hashes.view()[:, 0].copy(),
            "lengths": self._lengths.view()[:, 0].copy(),
            "terms": self._terms.view()[:, 0].copy(),
            "vocab_blob": term_blob,
            "vocab_ends": term_ends,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, npt.NDArray[np.generic]]) -> TermTable:
        """A table from :meth:`arrays`' output.

        Raises:
            ValueError: The arrays do not fit together (a damaged or foreign file).
        """
        ids = _unpack(arrays["id_blob"], arrays["id_ends"])
        vocabulary = _unpack(arrays["vocab_blob"], arrays["vocab_ends"])
        hashes, lengths, terms = arrays["hashes"], arrays["lengths"], arrays["terms"]
        if not len(ids) == len(hashes) == len(lengths) or int(lengths.sum()) != len(terms):
            raise ValueError("record arrays of different lengths")
        if len(set(ids)) != len(ids) or len(set(vocabulary)) != len(vocabulary):
            raise ValueError("repeated ids or terms")
        if len(terms) and not 0 <= int(terms.min()) <= int(terms.max()) < len(vocabulary):
            raise ValueError("term ids outside the vocabulary")
        table = cls()
        table._ids.append(ids)
        table._ids.compact()
        table._hashes.extend(hashes.astype(np.uint64))
        table._lengths.extend(lengths.astype(np.int64))
        table._terms.extend(terms.astype(np.int32))
        table.vocabulary = {term: n for n, term in enumerate(vocabulary)}
        return table


def _pack(strings: Sequence[str]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    encoded = [s.encode("utf-8") for s in strings]
    blob = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    return blob, np.cumsum([len(e) for e in encoded], dtype=np.int64)


def _unpack(blob: npt.NDArray[np.generic], ends: npt.NDArray[np.generic]) -> list[str]:
    raw = np.asarray(blob, dtype=np.uint8).tobytes()
    bounds = [0, *np.asarray(ends, dtype=np.int64).tolist()]
    if bounds != sorted(bounds) or bounds[-1] != len(raw):
        raise ValueError("string offsets out of order")
    return [raw[a:b].decode("utf-8") for a, b in pairwise(bounds)]
