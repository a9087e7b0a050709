"""What ingestion has committed: one record per file, kept in Chroma beside the chunks.

The manifest lives in a companion collection (``<store>.files``) of the same Chroma client,
so an embedded folder and a Chroma server both carry it, and any process sees what another
indexed. A file's record is written ``pending`` before its chunks and ``done`` after them:
a run killed in between leaves ``pending``, and the next run redoes that file, deleting any
chunk the new version no longer has.

Usage::

    manifest = Manifest(store.client, "docs")
    states = manifest.load()                 # path -> FileState
    manifest.save([state.pending()])         # before writing its chunks
    manifest.save([state])                   # after
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from ragkit.errors import StoreError

__all__ = ["FileState", "Manifest"]

_PAGE = 5_000
_SETTINGS_KEY = "ragkit:index_settings"


@dataclass(frozen=True)
class FileState:
    """One file as ingestion last saw it.

    Attributes:
        key: The file's id: its path relative to the folder indexed (``guide/intro.md``).
        root: The folder it was indexed under (absolute), so pruning touches only that folder.
        sha256: Hash of the file's bytes.
        size: Bytes.
        mtime_ns: Modification time; with ``size``, lets unchanged files skip hashing.
        chunks: Chunks written for it.
        signature: Chunker and embedder settings it was chunked with: a change re-indexes.
        done: False while its chunks are being written.
    """

    key: str
    root: str
    sha256: str
    size: int
    mtime_ns: int
    chunks: int
    signature: str
    done: bool = True

    def pending(self) -> FileState:
        """This state, marked as being written."""
        return replace(self, done=False)


class Manifest:
    """The ``<store>.files`` companion collection of a store.

    Args:
        client: The store's Chroma client.
        store_name: The store's collection name.
    """

    def __init__(self, client: Any, store_name: str) -> None:
        self.collection = client.get_or_create_collection(
            f"{store_name}.files",
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=None,  # never Chroma's default model (a download)
        )

    def load(self) -> dict[str, FileState]:
        """Every file's state, by key."""
        states: dict[str, FileState] = {}
        offset = 0
        while True:
            page = self.collection.get(include=["metadatas"], limit=_PAGE, offset=offset)
            if not page["ids"]:
                return states
            for key, meta in zip(page["ids"], page["metadatas"], strict=True):
                states[key] = _state(key, meta or {})
            offset += len(page["ids"])

    def save(self, states: Sequence[FileState]) -> None:
        """Insert or replace file states."""
        for first in range(0, len(states), _PAGE):
            part = states[first : first + _PAGE]
            self.collection.upsert(
                ids=[s.key for s in part],
                embeddings=[[1.0]] * len(part),  # Chroma wants a vector; the key is what matters
                metadatas=[{k: v for k, v in asdict(s).items() if k != "key"} for s in part],
            )

    def remove(self, keys: Iterable[str]) -> None:
        """Forget files."""
        doomed = list(keys)
        for first in range(0, len(doomed), _PAGE):
            self.collection.delete(ids=doomed[first : first + _PAGE])

    def settings(self) -> dict[str, Any]:
        """The settings the store was indexed with (model, precision...), or {}."""
        text = (self.collection.metadata or {}).get(_SETTINGS_KEY)
        return dict(json.loads(text)) if isinstance(text, str) else {}

    def save_settings(self, settings: Mapping[str, Any]) -> None:
        """Record the settings later commands (``ragkit query``) open the store with."""
        meta = dict(self.collection.metadata or {})
        meta.pop("hnsw:space", None)
        meta[_SETTINGS_KEY] = json.dumps(dict(settings), sort_keys=True)
        self.collection.modify(metadata=meta)


def _state(key: str, meta: Mapping[str, Any]) -> FileState:
    try:
        return FileState(
            key=key,
            root=str(meta["root"]),
            sha256=str(meta["sha256"]),
            size=int(meta["size"]),
            mtime_ns=int(meta["mtime_ns"]),
            chunks=int(meta["chunks"]),
            signature=str(meta["signature"]),
            done=bool(meta["done"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise StoreError(
            f"The index manifest's record for {key!r} is malformed ({exc}); delete the "
            "'<store>.files' collection to re-index everything."
        ) from exc
