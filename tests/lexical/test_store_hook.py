"""The ChromaStore hook the lexical index relies on: subscribe, generation, other writers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ragkit.store.chroma import StoreWrite
from tests.lexical.conftest import shared_store, unique_name


def test_listeners_see_each_write_with_its_counters(client: Any, tmp_path: Path) -> None:
    store = shared_store(client, unique_name(), tmp_path)
    seen: list[StoreWrite] = []
    store.subscribe(seen.append)
    assert store.generation() == 0
    store.add(["a", "b"], documents=["x", "y"], metadatas=[{"title": "T"}, None])
    store.delete(["a"])
    store.unsubscribe(seen.append)
    store.add(["c"], documents=["z"])
    assert [(w.ids, w.deleted, w.before, w.after) for w in seen] == [
        (["a", "b"], False, 0, 1),
        (["a"], True, 1, 2),
    ]
    assert seen[0].documents == ["x", "y"]
    assert seen[0].metadatas == [{"title": "T"}, None]
    assert store.generation() == 3


def test_binary_index_sees_a_write_made_between_its_own(client: Any, tmp_path: Path) -> None:
    name = unique_name()
    first, second = (shared_store(client, name, tmp_path) for _ in range(2))
    first.add(["x"], documents=["x"])
    first.query("x", 5)  # builds the binary index
    second.add(["y"], documents=["y"])
    first.add(["z"], documents=["z"])  # must not mark the index current without y
    assert sorted(h.id for h in first.query("y", 5)) == ["x", "y", "z"]
