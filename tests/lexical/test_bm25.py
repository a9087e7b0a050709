from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pytest

from ragkit.errors import ConfigError, FilterError, InputError
from ragkit.lexical.analyzer import Analyzer
from ragkit.lexical.bm25 import BM25Index, indexed_text
from ragkit.lexical.snapshot import read_snapshot
from ragkit.store.chroma import ChromaStore
from tests.lexical.conftest import CountingAnalyzer, reopen

PLAIN = {"stopwords": None, "stemmer": None}
DOCS = {"a": "apple banana apple", "b": "banana cherry", "c": "cherry cherry cherry date"}


def bm25(term_freq: int, doc_freq: int, length: int, docs: int, mean_length: float) -> float:
    """Lucene BM25 with k1=1.5, b=0.75, written out."""
    idf = math.log(1 + (docs - doc_freq + 0.5) / (doc_freq + 0.5))
    return idf * term_freq / (term_freq + 1.5 * (1 - 0.75 + 0.75 * length / mean_length))


def fill(store: ChromaStore, docs: dict[str, str] = DOCS) -> None:
    store.add(list(docs), documents=list(docs.values()))


def test_scores_match_bm25_by_hand(store: ChromaStore) -> None:
    fill(store)
    found = BM25Index(store, analyzer=Analyzer(**PLAIN)).search("apple cherry", k=10)
    expected = {
        "a": bm25(2, 1, 3, 3, 3.0),
        "b": bm25(1, 2, 2, 3, 3.0),
        "c": bm25(3, 2, 4, 3, 3.0),
    }
    assert [i for i, _ in found] == sorted(expected, key=lambda i: -expected[i])
    assert dict(found) == pytest.approx(expected, rel=1e-5)


def test_only_matching_records_and_at_most_k(store: ChromaStore) -> None:
    fill(store)
    index = BM25Index(store, analyzer=Analyzer(**PLAIN))
    assert [i for i, _ in index.search("date", k=10)] == ["c"]
    assert len(index.search("banana cherry", k=1)) == 1
    assert index.search("nothing", k=10) == []


def test_equal_scores_are_ordered_by_id(store: ChromaStore) -> None:
    fill(store, {"z": "same words", "m": "same words", "q": "other"})
    assert [i for i, _ in BM25Index(store).search("same", k=2)] == ["m", "z"]


def test_default_analyzer_stems_and_drops_stopwords(store: ChromaStore) -> None:
    fill(store, {"a": "The cats are running", "b": "a dog sleeps"})
    assert [i for i, _ in BM25Index(store).search("cat runs", k=5)] == ["a"]
    assert BM25Index(store).search("the is of and", k=5) == []
    assert BM25Index(store, analyzer=Analyzer(stemmer=None)).search("cat runs", k=5) == []


def test_title_metadata_is_indexed(store: ChromaStore) -> None:
    store.add(["a", "b"], documents=["body text", "body text"], metadatas=[{"title": "Zebra"}, {}])
    assert [i for i, _ in BM25Index(store).search("zebra", k=5)] == ["a"]
    assert indexed_text("body", {"title": "T"}) == "T\nbody"
    assert indexed_text(None, {"title": 3}) == ""


def test_upserts_and_deletes_are_followed(store: ChromaStore) -> None:
    fill(store)
    index = BM25Index(store, analyzer=Analyzer(**PLAIN))
    assert {i for i, _ in index.search("banana", k=10)} == {"a", "b"}
    store.add(["b", "d"], documents=["kiwi only", "banana split"])
    assert {i for i, _ in index.search("banana", k=10)} == {"a", "d"}
    assert [i for i, _ in index.search("kiwi", k=10)] == ["b"]
    store.delete(["a"])
    assert [i for i, _ in index.search("banana", k=10)] == ["d"]
    store.delete(where={"missing": "x"})
    assert len(index) == 3


def test_metadata_only_upsert_keeps_text_and_replaces_title(store: ChromaStore) -> None:
    store.add(["a"], documents=["apple"], metadatas=[{"title": "old"}])
    index = BM25Index(store, analyzer=Analyzer(**PLAIN))
    assert index.search("old", k=1)
    vector = store.embedder.embed_documents(["apple"])  # type: ignore[union-attr]
    store.add(["a"], embeddings=vector, metadatas=[{"title": "new"}])
    assert index.search("old", k=1) == []
    assert [i for i, _ in index.search("apple new", k=1)] == ["a"]


def test_other_clients_writes_are_seen(client: object, tmp_path: Path) -> None:
    from tests.lexical.conftest import shared_store, unique_name

    name = unique_name()
    first, second = (shared_store(client, name, tmp_path) for _ in range(2))
    index = BM25Index(first, analyzer=Analyzer(**PLAIN), persist=False)
    first.add(["a"], documents=["apple"])
    assert [i for i, _ in index.search("apple", k=5)] == ["a"]
    second.add(["b"], documents=["apple pie"])  # another client: only the counter tells
    first.add(["c"], documents=["cherry"])  # ours, but based on a generation we never saw
    assert {i for i, _ in index.search("apple", k=5)} == {"a", "b"}
    second.add(["a"], documents=["plum"])
    second.delete(["c"])
    assert [i for i, _ in index.search("apple plum cherry", k=5)] == ["a", "b"]
    assert [i for i, _ in index.search("plum", k=5)] == ["a"]


def test_reopened_store_loads_terms_instead_of_tokenizing(tmp_path: Path) -> None:
    with reopen(tmp_path) as store:
        fill(store)
        counting = CountingAnalyzer()
        BM25Index(store, analyzer=counting).search("apple", k=1)  # builds and saves
        assert counting.texts == 3 + 1
    with reopen(tmp_path) as store:
        counting = CountingAnalyzer()
        index = BM25Index(store, analyzer=counting)
        assert [i for i, _ in index.search("apple", k=3)] == ["a"]
        assert counting.texts == 1  # the query only
        index.close()
    with reopen(tmp_path) as store:  # a write while no index was following
        store.add(["b"], documents=["apple tart"])
    with reopen(tmp_path) as store:
        counting = CountingAnalyzer()
        assert {i for i, _ in BM25Index(store, analyzer=counting).search("apple", k=3)} == {
            "a",
            "b",
        }
        assert counting.texts == 1 + 1  # the changed record, then the query


def test_other_analyzer_settings_retokenize(tmp_path: Path) -> None:
    with reopen(tmp_path) as store:
        fill(store)
        BM25Index(store).refresh()
        counting = CountingAnalyzer(stemmer=None)
        BM25Index(store, analyzer=counting).refresh()
        assert counting.texts == 3


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "foreign"])
def test_damaged_file_is_rebuilt_from_chroma(
    tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    with reopen(tmp_path) as store:
        fill(store)
        index = BM25Index(store)
        index.refresh()
        path = index.path
        assert path is not None and path.exists()
        raw = path.read_bytes()
        damaged = {
            "garbage": b"not a snapshot",
            "truncated": raw[: len(raw) // 2],
            "empty": b"",
            "foreign": raw.replace(b"ragkit-bm25/1", b"ragkit-bm25/9"),
        }[damage]
        path.write_bytes(damaged)
    with reopen(tmp_path) as store, caplog.at_level(logging.WARNING):
        counting = CountingAnalyzer()
        index = BM25Index(store, analyzer=counting)
        assert [i for i, _ in index.search("date", k=3)] == ["c"]
        assert counting.texts == 3 + 1
        assert "Ignoring saved BM25 terms" in caplog.text
        header, _ = read_snapshot(path)  # written again, whole
        assert header["generation"] == store.generation()


def test_stale_file_is_corrected_from_chroma(tmp_path: Path) -> None:
    with reopen(tmp_path) as store:
        fill(store)
        index = BM25Index(store)
        index.refresh()
        assert index.path is not None
        old = index.path.read_bytes()
        index.close()
        store.add(["a"], documents=["melon"])
        store.delete(["b"])
        index.path.write_bytes(old)  # a file from before those writes
        fresh = BM25Index(store)
        assert fresh.search("banana", k=5) == []
        assert [i for i, _ in fresh.search("melon", k=5)] == ["a"]


def test_failed_save_leaves_the_old_file(
    store: ChromaStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(store)
    index = BM25Index(store)
    index.refresh()
    assert index.path is not None
    before = index.path.read_bytes()
    store.add(["d"], documents=["fig"])

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        index.refresh()
    assert index.path.read_bytes() == before
    assert [p.name for p in index.path.parent.iterdir()] == [index.path.name]


def test_filters_mask_the_results(store: ChromaStore) -> None:
    store.add(
        ["a", "b", "c"],
        documents=["apple pie", "apple tart", "apple juice"],
        metadatas=[{"year": 2020}, {"year": 2024}, {"year": 2024}],
    )
    index = BM25Index(store)
    assert {i for i, _ in index.search("apple", k=5, where={"year": 2024})} == {"b", "c"}
    found = index.search("apple", k=5, where={"year": 2024}, where_document={"$contains": "tart"})
    assert [i for i, _ in found] == ["b"]
    assert index.search("apple", k=5, where={"year": 1999}) == []
    with pytest.raises(FilterError):
        index.search("apple", k=5, where={"year": {"$gtt": 1}})


def test_bad_input(store: ChromaStore) -> None:
    index = BM25Index(store)
    assert index.search("anything", k=5) == []  # empty store
    fill(store)
    for query in ["", "   ", None]:
        with pytest.raises(InputError):
            index.search(query, k=5)  # type: ignore[arg-type]
    for k in [0, -1, True]:
        with pytest.raises(ConfigError):
            index.search("apple", k=k)
    with pytest.raises(ConfigError):
        BM25Index(store, b=2.0)
    assert [i for i, _ in index.search("apple", k=1000)] == ["a"]


def test_unicode(store: ChromaStore) -> None:
    fill(store, {"a": "Café naïve au 東京 tower", "b": "plain words here"})
    index = BM25Index(store)
    assert [i for i, _ in index.search("café", k=5)] == ["a"]
    assert [i for i, _ in index.search("東京", k=5)] == ["a"]


def test_matrix_is_rebuilt_only_after_changes(store: ChromaStore) -> None:
    fill(store)
    index = BM25Index(store)
    index.refresh()
    built = index._matrix
    index.search("apple", k=1)
    assert index._matrix is built
    store.add(["d"], documents=["fig"])
    index.search("apple", k=1)
    assert index._matrix is not built
    assert index.nbytes() > 0
