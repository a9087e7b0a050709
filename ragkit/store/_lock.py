"""One process at a time per persistent store folder: Chroma's embedded client is not process-safe.

A second process that opens the same folder gets :class:`StoreLockedError` pointing to server
mode, instead of two writers silently diverging (chroma-core/chroma#421, #3792). The lock is an
OS file lock, so a killed process releases it; within one process, stores share it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from filelock import FileLock, Timeout

from ragkit.errors import StoreLockedError

__all__ = ["acquire_folder", "release_folder"]

_LOCK_FILE = "ragkit.lock"
_held: dict[str, tuple[FileLock, int]] = {}
_guard = threading.Lock()


def acquire_folder(folder: Path) -> str:
    """Take (or share, within this process) the lock of ``folder``; returns the key to release.

    Raises:
        StoreLockedError: Another process has the store open.
    """
    folder.mkdir(parents=True, exist_ok=True)
    key = str(folder.resolve())
    with _guard:
        lock, users = _held.get(key, (None, 0))
        if lock is None:
            lock = FileLock(str(folder / _LOCK_FILE), is_singleton=False)
            try:
                lock.acquire(timeout=0)
            except Timeout:
                raise StoreLockedError(
                    f"The store at {folder} is open in another process; Chroma's embedded client is "
                    "not safe across processes. Close the other process, or share the store through "
                    f"a server: `chroma run --path {folder}` and ChromaStore(client=chromadb.HttpClient(...))."
                ) from None
            (folder / (_LOCK_FILE + ".pid")).write_text(str(os.getpid()))
        _held[key] = (lock, users + 1)
        return key


def release_folder(key: str) -> None:
    """Give back one use of the lock taken by :func:`acquire_folder`."""
    with _guard:
        lock, users = _held.get(key, (None, 0))
        if lock is None:
            return
        if users > 1:
            _held[key] = (lock, users - 1)
            return
        del _held[key]
        lock.release()
