"""The compact id table and the growable (optionally memory-mapped) row arrays under the index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ragkit.errors import StoreError
from ragkit.store import id_table
from ragkit.store.id_table import IdTable
from ragkit.store.rows import RowArray


@pytest.fixture(params=["ram", "mapped"])
def folder(request: pytest.FixtureRequest, tmp_path: Path) -> Path | None:
    return tmp_path / "index" if request.param == "mapped" else None


def test_row_arrays_grow_past_their_capacity_and_keep_old_views(folder: Path | None) -> None:
    rows = RowArray(np.int8, 3, directory=folder)
    rows.extend(np.full((10, 3), 7))
    early = rows.view()
    rows.extend(np.arange(3 * 5000).reshape(5000, 3) % 100)  # past the first 1,024 rows
    assert len(rows) == 5010 and rows.mapped == (folder is not None)
    assert (early == 7).all() and (rows.view()[:10] == 7).all()
    assert rows.view()[-1].tolist() == [(3 * 4999 + i) % 100 for i in range(3)]
    rows.assign([0, 5009], [[1, 2, 3], [4, 5, 6]])
    assert rows.view()[0].tolist() == [1, 2, 3] and rows.view()[-1].tolist() == [4, 5, 6]
    assert rows.nbytes() == 5010 * 3


def test_row_arrays_drop_rows_in_order(folder: Path | None) -> None:
    rows = RowArray(np.int64, 1, directory=folder)
    rows.extend(np.arange(70_000))  # more than one copy chunk
    mask = np.arange(70_000) % 3 != 0
    rows.keep(mask)
    assert rows.view()[:, 0].tolist() == [i for i in range(70_000) if i % 3]
    rows.clear()
    assert len(rows) == 0 and rows.view().shape == (0, 1)


def test_mapped_rows_leave_no_file_behind(tmp_path: Path) -> None:
    rows = RowArray(np.uint8, 16, directory=tmp_path / "index")
    rows.extend(np.ones((2000, 16)))
    # Unnamed temporary files: nothing to clean up, even after kill -9.
    assert list((tmp_path / "index").iterdir()) == []


def test_an_unusable_index_folder_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="memory_map=False"):
        RowArray(np.int8, 4, directory=blocker / "index")


def test_ids_map_to_rows_and_back(folder: Path | None) -> None:
    table = IdTable(folder)
    ids = [f"doc-{i}" for i in range(10_000)] + ["ünïcødé", "日本語", "emoji-🙂", ""]
    table.append(ids[:5000])
    table.append(ids[5000:])  # the first merge into the sorted table happens on the way
    assert len(table) == len(ids)
    assert table.rows_of(["日本語", "doc-7", "missing", ""]).tolist() == [10_001, 7, -1, 10_003]
    assert table.ids_at([0, 10_002]) == ["doc-0", "emoji-🙂"]
    assert table.all_ids() == ids
    assert table.nbytes() >= sum(len(i.encode()) for i in ids) + 8 * len(ids)


def test_dropping_ids_renumbers_the_rest(folder: Path | None) -> None:
    table = IdTable(folder)
    ids = [f"r{i}" for i in range(6000)]
    table.append(ids)
    mask = np.array([i % 4 != 1 for i in range(6000)])
    table.keep(mask)
    kept = [i for i, keep in zip(ids, mask, strict=True) if keep]
    assert table.all_ids() == kept
    assert table.rows_of(["r1", "r4", kept[-1]]).tolist() == [-1, 3, len(kept) - 1]
    table.append(["r1"])  # a dropped id can come back, as a new row
    assert table.rows_of(["r1"]).tolist() == [len(kept)]


def test_colliding_hashes_still_find_the_right_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(id_table, "_hashes", lambda ids: np.array([len(i) for i in ids], np.int64))
    table = IdTable()
    ids = [f"{c}{n}" for n in range(100) for c in "abc"]  # many ids share a length: a hash
    for first in range(0, len(ids), 10):
        table.append(ids[first : first + 10])
    table._merge_recent()
    assert table.rows_of(["c99", "a0", "b50", "z1"]).tolist() == [299, 0, 151, -1]


def test_the_table_agrees_with_a_dict_under_random_edits(folder: Path | None) -> None:
    rng = np.random.default_rng(5)
    table, model = IdTable(folder), {}
    for step in range(40):
        fresh = [f"s{step}-{n}" for n in range(int(rng.integers(1, 600)))]
        table.append(fresh)
        model.update((i, None) for i in fresh)
        if step % 5 == 4:
            mask = rng.random(len(table)) > 0.3
            table.keep(mask)
            model = dict.fromkeys(i for i, keep in zip(model, mask, strict=True) if keep)
    order = list(model)
    assert table.all_ids() == order
    probe = order[::7] + ["s0-999999"]
    expected = [order.index(i) if i in model else -1 for i in probe]
    assert table.rows_of(probe).tolist() == expected


def test_trimming_gives_back_spare_capacity_and_keeps_the_rows() -> None:
    rows = RowArray(np.uint64, 6, order="F")
    values = np.arange(6 * 5000, dtype=np.uint64).reshape(5000, 6)
    for first in range(0, 5000, 1000):
        rows.extend(values[first : first + 1000])
    assert rows._data.shape[0] > 5000  # grown with slack
    rows.trim()
    assert rows._data.shape[0] == 5000 and rows.view().flags.f_contiguous
    assert rows.view()[-1].tolist() == list(range(6 * 4999, 6 * 5000))


def test_compacting_the_table_folds_recent_ids_into_the_sorted_lookup() -> None:
    table = IdTable()
    table.append([f"x{i}" for i in range(100)])
    assert len(table._recent) == 100
    table.compact()
    assert table._recent == {} and table.rows_of(["x42", "nope"]).tolist() == [42, -1]
