"""Validate a batch of records before anything is written to Chroma.

Chroma (1.5) checks some of this itself, but only as it writes, with messages that do not say
which record is wrong, and some bad input it takes silently: a NaN inside a list of metadata
numbers breaks the whole collection for every later read and write; a NaN or infinite value
silently drops its key; keys starting with ``chroma:`` vanish; integers beyond 64 bits turn into
floats. ``validate_records`` rejects all of it up front, naming the index, and returns normalised
copies that Chroma accepts as they are.

Usage::

    records = validate_records(ids, embeddings=vectors, documents=texts, metadatas=metas, dim=384)
    for batch in records.batches(client.get_max_batch_size()):
        collection.add(
            ids=batch.ids,
            embeddings=batch.embeddings,
            documents=batch.documents,
            metadatas=batch.metadatas,
        )
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, TypeAlias, TypeGuard

import numpy as np

from ragkit.errors import ConfigError, InputError
from ragkit.store.filters import (
    Scalar,
    _check_one_type,
    _check_utf8,
    _describe,
    _Invalid,
    _key_path,
    _scalar,
)
from ragkit.types import Matrix

__all__ = ["RESERVED_PREFIX", "ValidatedRecords", "chunked", "validate_records"]

RESERVED_PREFIX = "ragkit:"
"""Metadata keys starting with this are ragkit's own (binary codes and the like)."""

MetadataValue: TypeAlias = "Scalar | list[Scalar]"
"""A str, int, float or bool, or a non-empty list of values of one of those types."""

Metadata: TypeAlias = "dict[str, MetadataValue]"
"""One record's metadata: a flat, non-empty dict."""

_NUMERIC_KINDS = "fiu"


@dataclass(frozen=True, eq=False)
class ValidatedRecords:
    """A checked batch, ready for ``collection.add`` / ``upsert`` (compares by identity).

    Attributes:
        ids: Unique non-empty strings.
        embeddings: Finite float32 vectors, shape ``(n, dim)`` and read-only; or None.
        documents: Strings (None only where an embedding is given); or None.
        metadatas: Flat non-empty dicts or None (an empty dict becomes None); or None.
    """

    ids: list[str]
    embeddings: Matrix | None = None
    documents: list[str | None] | None = None
    metadatas: list[Metadata | None] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        dim = None if self.embeddings is None else self.embeddings.shape[1]
        return (
            f"ValidatedRecords(n={len(self)}, dim={dim}, "
            f"documents={self.documents is not None}, metadatas={self.metadatas is not None})"
        )

    def batches(self, max_batch_size: int) -> Iterator[ValidatedRecords]:
        """Yield consecutive parts of at most ``max_batch_size`` records each.

        Args:
            max_batch_size: Usually ``client.get_max_batch_size()``.

        Raises:
            ConfigError: ``max_batch_size`` is not a positive integer.
        """
        for part in chunked(len(self), max_batch_size):
            yield ValidatedRecords(
                ids=self.ids[part],
                embeddings=None if self.embeddings is None else self.embeddings[part],
                documents=None if self.documents is None else self.documents[part],
                metadatas=None if self.metadatas is None else self.metadatas[part],
            )


def validate_records(
    ids: Sequence[str],
    *,
    embeddings: Sequence[Sequence[float]] | np.ndarray[Any, Any] | None = None,
    documents: Sequence[str | None] | None = None,
    metadatas: Sequence[Mapping[str, Any] | None] | None = None,
    dim: int | None = None,
) -> ValidatedRecords:
    """Check one batch of records and return normalised copies.

    Rules (each error names the index): ids are non-empty strings, unique within the batch;
    every given list has one item per id; vectors are flat, numeric (not bool), finite in
    float32 and all ``dim`` long (or as long as the first); documents are strings, or None where
    an embedding is given; metadata is None or a flat dict whose keys are non-empty strings not
    starting with ``$``, ``#``, ``chroma:`` or ``ragkit:``, and whose values are str, int (64-bit),
    finite float, bool or a non-empty list of one of those types; every string is valid UTF-8
    (no lone surrogates). numpy scalars become Python ones and an empty metadata dict becomes
    None. An empty batch is returned empty. Embeddings and documents may both be None (a
    metadata-only update); ``collection.add`` needs one of them.

    Args:
        ids: One id per record.
        embeddings: One vector per record (a list of vectors or a 2-D array), or None.
        documents: One text per record, or None.
        metadatas: One dict (or None) per record, or None.
        dim: The dimension every vector must have; None takes the first vector's.

    Returns:
        The batch, with embeddings as a read-only float32 ``(n, dim)`` array.

    Raises:
        InputError: Something in the batch is malformed; the message names the index.
        ConfigError: ``dim`` is not a positive integer.
    """
    if dim is not None:
        _check_positive(dim, "dim")
    id_list = _validate_ids(ids)
    n = len(id_list)
    matrix = None if embeddings is None else _validate_embeddings(embeddings, n, dim)
    docs = None if documents is None else _validate_documents(documents, n, matrix is not None)
    metas = None if metadatas is None else _validate_metadatas(metadatas, n)
    return ValidatedRecords(ids=id_list, embeddings=matrix, documents=docs, metadatas=metas)


def chunked(n: int, max_batch_size: int) -> Iterator[slice]:
    """Yield slices that cover ``range(n)`` in order, each at most ``max_batch_size`` long.

    Usage::

        for part in chunked(len(ids), client.get_max_batch_size()):
            collection.add(ids=ids[part], embeddings=vectors[part])

    Raises:
        ConfigError: ``n`` is negative or ``max_batch_size`` is not a positive integer.
    """
    _check_positive(max_batch_size, "max_batch_size")
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ConfigError(f"n must be a non-negative integer, got {n!r}")
    for start in range(0, n, max_batch_size):
        yield slice(start, min(start + max_batch_size, n))


def _check_positive(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")


def _is_list_like(value: object) -> TypeGuard[Sequence[Any] | np.ndarray[Any, Any]]:
    if isinstance(value, np.ndarray):
        return value.ndim == 1
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _as_list(value: object, name: str, n: int) -> list[Any]:
    if not _is_list_like(value):
        raise InputError(f"{name}: expected a list with one item per id, got {_describe(value)}")
    items = list(value)
    if len(items) != n:
        raise InputError(f"{name}: has {len(items)} items but ids has {n}; pass one per id")
    return items


# --- ids --------------------------------------------------------------------------------------


def _validate_ids(ids: object) -> list[str]:
    if not _is_list_like(ids):
        hint = "; wrap a single id in a list" if isinstance(ids, str) else ""
        raise InputError(f"ids: expected a list of strings, got {_describe(ids)}{hint}")
    first_seen: dict[str, int] = {}
    for i, item in enumerate(ids):
        id_ = _one_id(item, i)
        if id_ in first_seen:
            raise InputError(
                f"ids[{i}]: duplicate id {id_!r}, the same as ids[{first_seen[id_]}]; "
                "ids must be unique within a batch"
            )
        first_seen[id_] = i
    return list(first_seen)


def _one_id(item: object, i: int) -> str:
    if isinstance(item, str):
        if not item:
            raise InputError(f"ids[{i}]: empty string; an id needs at least one character")
        _utf8_or_raise(item, f"ids[{i}]")
        return str(item)
    if isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_)):
        raise InputError(
            f"ids[{i}]: expected a string, got int {item}; Chroma ids are strings, "
            "so convert them first, e.g. [str(i) for i in ids]"
        )
    raise InputError(f"ids[{i}]: expected a non-empty string, got {_describe(item)}")


# --- embeddings -------------------------------------------------------------------------------


def _validate_embeddings(embeddings: object, n: int, dim: int | None) -> Matrix:
    array = _numeric_matrix(embeddings, n, dim)
    width = array.shape[1]
    if n == 0:
        return _read_only(np.empty((0, dim if dim is not None else width), dtype=np.float32))
    if width == 0:
        raise InputError("embeddings[0]: empty vector; vectors need at least one dimension")
    if dim is not None and width != dim:
        raise InputError(f"embeddings[0]: has {width} dimensions, expected {dim}")
    with np.errstate(over="ignore", invalid="ignore"):
        matrix = np.array(array, dtype=np.float32, order="C", copy=True)
    finite = np.isfinite(matrix)
    if not finite.all():
        row, col = (int(k) for k in np.argwhere(~finite)[0])
        raise InputError(f"embeddings[{row}][{col}]: {_non_finite(array[row, col])}")
    return _read_only(matrix)


def _numeric_matrix(embeddings: object, n: int, dim: int | None) -> np.ndarray[Any, Any]:
    """A 2-D int/float array with n rows, or an InputError naming the first bad row."""
    rows: list[Any] | np.ndarray[Any, Any]
    if isinstance(embeddings, np.ndarray) and embeddings.ndim >= 1:
        rows = embeddings
    elif isinstance(embeddings, Sequence) and not isinstance(embeddings, (str, bytes)):
        rows = list(embeddings)
    else:
        raise InputError(
            f"embeddings: expected a list of vectors or a 2-D array, got {_describe(embeddings)}"
        )
    array = _try_array(rows)
    if array is not None and array.ndim == 1 and array.size and array.dtype.kind in _NUMERIC_KINDS:
        raise InputError(
            "embeddings: expected one vector per id (a list of vectors or a 2-D array), "
            "got a single flat vector; wrap it in a list: [vector]"
        )
    if len(rows) != n:
        raise InputError(f"embeddings: has {len(rows)} vectors but ids has {n}; pass one per id")
    if n == 0:
        return array if array is not None and array.ndim == 2 else np.empty((0, 0))
    if array is None or array.ndim != 2 or array.dtype.kind not in _NUMERIC_KINDS:
        _raise_row_problem(list(rows), dim)
    return array


def _try_array(rows: list[Any] | np.ndarray[Any, Any]) -> np.ndarray[Any, Any] | None:
    try:
        return np.asarray(rows)
    except (ValueError, TypeError):  # ragged rows
        return None


def _raise_row_problem(rows: list[Any], dim: int | None) -> NoReturn:
    expected, source = dim, "expected"
    for i, row in enumerate(rows):
        length = len(_row_vector(row, i))
        if expected is None:
            expected, source = length, f"but embeddings[{i}] has"
        elif length != expected:
            raise InputError(f"embeddings[{i}]: has {length} dimensions, {source} {expected}")
    raise InputError("embeddings: expected equal-length vectors of numbers")  # pragma: no cover


def _row_vector(row: object, i: int) -> np.ndarray[Any, Any]:
    path = f"embeddings[{i}]"
    if row is None or isinstance(row, (str, bytes, Mapping, int, float, np.generic)):
        raise InputError(f"{path}: expected a vector of numbers, got {_describe(row)}")
    try:
        vector = np.asarray(row)
    except (ValueError, TypeError):
        raise InputError(
            f"{path}: expected a flat vector of numbers, got {_describe(row)}"
        ) from None
    if vector.ndim != 1:
        raise InputError(f"{path}: expected a flat vector, got a {vector.ndim}-d array/list")
    if vector.dtype.kind == "b":
        raise InputError(f"{path}: holds booleans; vectors must hold numbers (0.0 / 1.0)")
    if vector.dtype.kind not in _NUMERIC_KINDS:
        col, item = next((j, x) for j, x in enumerate(vector.tolist()) if not _is_number(x))
        raise InputError(f"{path}[{col}]: expected a number, got {_describe(item)}")
    if vector.size == 0:
        raise InputError(f"{path}: empty vector; vectors need at least one dimension")
    return vector


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _non_finite(value: object) -> str:
    number = float(value)  # type: ignore[arg-type]
    if np.isnan(number):
        return "NaN; vectors must be finite"
    if np.isinf(number):
        return f"{number}; vectors must be finite"
    return f"{number!r} is too large for float32 (at most about 3.4e38 in magnitude)"


def _read_only(matrix: Matrix) -> Matrix:
    matrix.flags.writeable = False
    return matrix


# --- documents and metadata -------------------------------------------------------------------


def _validate_documents(documents: object, n: int, nullable: bool) -> list[str | None]:
    out: list[str | None] = []
    for i, doc in enumerate(_as_list(documents, "documents", n)):
        if doc is None and nullable:
            out.append(None)
        elif doc is None:
            raise InputError(
                f"documents[{i}]: None is allowed only when embeddings are given "
                "(without a vector, the text is what gets embedded)"
            )
        elif isinstance(doc, str):
            _utf8_or_raise(doc, f"documents[{i}]")
            out.append(str(doc))
        else:
            raise InputError(f"documents[{i}]: expected a string, got {_describe(doc)}")
    return out


def _validate_metadatas(metadatas: object, n: int) -> list[Metadata | None]:
    items = _as_list(metadatas, "metadatas", n)
    return [_metadata(meta, f"metadatas[{i}]") for i, meta in enumerate(items)]


def _metadata(meta: object, path: str) -> Metadata | None:
    if meta is None:
        return None
    if not isinstance(meta, Mapping):
        raise InputError(f"{path}: expected a dict or None, got {_describe(meta)}")
    out: Metadata = {}
    for key, value in meta.items():
        name = _metadata_key(key, path)
        out[name] = _metadata_value(value, path, name)
    return out or None


def _metadata_key(key: object, path: str) -> str:
    if not isinstance(key, str):
        raise InputError(f"{path}: keys must be strings, got {_describe(key)}")
    problem = _key_problem(key)
    if problem:  # the key's path (json-quoted) is built only for the message
        raise InputError(f"{_key_path(path, key)}: {problem}")
    return str(key)


def _key_problem(key: str) -> str | None:
    """Why Chroma or ragkit would refuse ``key`` as a metadata key, or None."""
    if not key:
        return "empty key; Chroma rejects it"
    try:
        _check_utf8(key)
    except _Invalid as exc:
        return str(exc)
    if key[0] in "$#":
        return f"keys cannot start with {key[0]!r}; Chroma reserves '$' and '#'"
    if key.startswith("chroma:"):
        return "Chroma reserves the 'chroma:' prefix and drops such keys"
    if key.startswith(RESERVED_PREFIX):
        return f"the {RESERVED_PREFIX!r} prefix is reserved for ragkit's own fields; rename the key"
    return None


def _metadata_value(value: object, path: str, key: str) -> MetadataValue:
    if isinstance(value, list):
        return _metadata_list(value, _key_path(path, key))
    try:
        return _scalar(value)
    except _Invalid as exc:
        raise InputError(f"{_key_path(path, key)}: {exc}{_metadata_hint(value)}") from None


def _metadata_list(values: list[Any], path: str) -> list[Scalar]:
    if not values:
        raise InputError(f"{path}: empty list; Chroma stores only non-empty lists, omit the key")
    items: list[Scalar] = []
    for j, item in enumerate(values):
        try:
            items.append(_scalar(item))
        except _Invalid as exc:
            raise InputError(f"{path}[{j}]: {exc}{_metadata_hint(item)}") from None
    _check_one_type(items, path, InputError)
    return items


def _utf8_or_raise(text: str, path: str) -> None:
    try:
        _check_utf8(text)
    except _Invalid as exc:
        raise InputError(f"{path}: {exc}") from None


def _metadata_hint(value: object) -> str:
    if value is None:
        return "; Chroma cannot store None, so leave the key out"
    if isinstance(value, Mapping):
        return "; metadata must be flat: use keys like 'author.name', or store json.dumps(value)"
    if isinstance(value, (tuple, set, frozenset, np.ndarray)):
        return "; Chroma stores lists only as Python lists of one type: pass list(value)"
    return ""
