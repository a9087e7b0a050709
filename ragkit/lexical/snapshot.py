"""Snapshots: a lexical index's arrays and header in one file, replaced atomically.

A snapshot is written to a temporary file beside its target, flushed to disk, then renamed
over it, so a reader sees the old file or the new one, never half of one, even after a crash
or ``kill -9``. Reading checks the format and every array's zip CRC; anything unexpected is a
:class:`SnapshotError`, and the caller rebuilds from Chroma, the system of record.

Usage::

    write_snapshot(path, {"generation": 7}, {"hashes": hashes})
    header, arrays = read_snapshot(path)
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ragkit.errors import StoreError

__all__ = ["SnapshotError", "read_snapshot", "write_snapshot"]

FORMAT = "ragkit-bm25/1"
_HEADER = "header"


class SnapshotError(StoreError):
    """A snapshot is missing, damaged, or from another format (internal: means rebuild)."""


def write_snapshot(
    path: Path, header: dict[str, Any], arrays: dict[str, npt.NDArray[np.generic]]
) -> None:
    """Write ``header`` (JSON-ready) and ``arrays`` to ``path``, replacing it atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    encoded = json.dumps({"format": FORMAT, **header}, sort_keys=True).encode("utf-8")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            everything: dict[str, Any] = {_HEADER: np.frombuffer(encoded, dtype=np.uint8), **arrays}
            np.savez(file, **everything)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable where the OS allows
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def read_snapshot(path: Path) -> tuple[dict[str, Any], dict[str, npt.NDArray[np.generic]]]:
    """The header and arrays of the snapshot at ``path``.

    Raises:
        SnapshotError: No such file, a damaged one, or another format.
    """
    try:
        with path.open("rb") as file, np.load(file, allow_pickle=False) as loaded:
            arrays = {name: loaded[name] for name in loaded.files}
        header = json.loads(arrays.pop(_HEADER).tobytes().decode("utf-8"))
    except FileNotFoundError as exc:
        raise SnapshotError(f"no snapshot at {path}") from exc
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise SnapshotError(f"damaged snapshot {path}: {exc}") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise SnapshotError(f"snapshot {path} is not in format {FORMAT}")
    return header, arrays
