from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ragkit import ConfigError, EmbedderMismatchError, FilterError, HashEmbedder, InputError
from ragkit.store.chroma import ChromaStore
from tests.store.conftest import http_client

DOCS = [f"document number {i} about {'cats' if i % 2 else 'dogs'}" for i in range(40)]
IDS = [f"d{i}" for i in range(40)]
METAS = [{"year": 2000 + i, "kind": "odd" if i % 2 else "even"} for i in range(40)]


@pytest.fixture(params=["embedded", "server"])
def any_client(request: pytest.FixtureRequest, client: Any) -> Any:
    """Every store test runs on the in-memory client and against a real Chroma server."""
    if request.param == "embedded":
        return client
    return http_client(request.getfixturevalue("chroma_server"))


@pytest.fixture()
def second_client(any_client: Any, request: pytest.FixtureRequest) -> Any:
    """Another client of the same Chroma: a new HTTP client in server mode."""
    if request.node.callspec.params["any_client"] == "server":
        return http_client(request.getfixturevalue("chroma_server"))
    return any_client


@pytest.fixture()
def new_store(any_client: Any) -> Callable[..., ChromaStore]:
    def make(**kwargs: object) -> ChromaStore:
        kwargs.setdefault("embedder", HashEmbedder(dim=64))
        kwargs.setdefault("client", any_client)
        return ChromaStore(f"t-{uuid.uuid4().hex}", **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture()
def store(new_store: Callable[..., ChromaStore]) -> ChromaStore:
    s = new_store()
    s.add(IDS, documents=DOCS, metadatas=METAS)
    return s


@pytest.mark.parametrize("search", ["binary", "float"])
def test_a_document_finds_itself_with_cosine_one(store: ChromaStore, search: str) -> None:
    hits = store.query(DOCS[7], k=3, search=search)  # type: ignore[arg-type]
    assert hits[0].id == "d7" and hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert hits[0].document == DOCS[7] and hits[0].metadata == METAS[7]
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_binary_rescored_scores_are_true_cosines(store: ChromaStore) -> None:
    embedder = HashEmbedder(dim=64)
    query = embedder.embed_query("a question")
    hits = store.query(query, k=5, oversample=40)  # oversample covers the whole store
    exact = embedder.embed_documents(DOCS) @ query
    assert [h.id for h in hits] == [IDS[i] for i in np.argsort(-exact)[:5]]
    for hit in hits:
        assert hit.score == pytest.approx(float(exact[IDS.index(hit.id)]), abs=1e-5)


@pytest.mark.parametrize(
    ("search", "rescore"),
    [("binary", "float"), ("binary", "int8"), ("binary", "none"), ("float", "float")],
)
def test_query_scores_rank_as_query_does_without_reading_text(
    store: ChromaStore, search: str, rescore: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    question = "a question about cats"
    where = {"kind": "odd"}
    full = store.query(question, k=6, search=search, rescore=rescore, where=where)  # type: ignore[arg-type]
    reads: list[object] = []
    get, query = store.collection.get, store.collection.query

    def spy_get(*args: Any, **kwargs: Any) -> Any:
        reads.extend(kwargs.get("include") or [])
        return get(*args, **kwargs)

    def spy_query(*args: Any, **kwargs: Any) -> Any:
        reads.extend(kwargs.get("include") or [])
        return query(*args, **kwargs)

    monkeypatch.setattr(store.collection, "get", spy_get)
    monkeypatch.setattr(store.collection, "query", spy_query)
    lean = store.query_scores(question, k=6, search=search, rescore=rescore, where=where)  # type: ignore[arg-type]
    assert [i for i, _ in lean] == [h.id for h in full]
    assert [s for _, s in lean] == pytest.approx([h.score for h in full], abs=1e-6)
    assert "documents" not in reads and "metadatas" not in reads


def test_default_float_rescoring_reads_two_vectors_a_result_after_int8_ranking(
    store: ChromaStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    question = "a question about dogs"
    wide = store.query(question, k=5, oversample=4)
    read: list[int] = []
    get = store.collection.get

    def spy(*args: Any, **kwargs: Any) -> Any:
        if "embeddings" in (kwargs.get("include") or []):
            read.append(len(kwargs["ids"]))
        return get(*args, **kwargs)

    monkeypatch.setattr(store.collection, "get", spy)
    default = store.query(question, k=5)
    assert read == [10]  # k x 2: the int8 cosines already put the right ones first
    assert [(h.id, round(h.score, 6)) for h in default] == [(h.id, round(h.score, 6)) for h in wide]
    read.clear()
    without_int8 = ChromaStore(
        store.collection.name, embedder=store.embedder, client=store.client, int8_rows=False
    )
    monkeypatch.setattr(without_int8.collection, "get", spy)
    without_int8.query(question, k=5)
    assert read == [20]  # k x 4 when only the sign estimate ranks them


@pytest.mark.parametrize("search", ["binary", "float"])
def test_filters_apply_in_both_paths(store: ChromaStore, search: str) -> None:
    hits = store.query(
        DOCS[3], k=40, where={"$and": [{"year": {"$gte": 2010}}, {"kind": "odd"}]}, search=search
    )  # type: ignore[arg-type]
    assert hits and all(h.metadata["year"] >= 2010 and h.metadata["kind"] == "odd" for h in hits)
    assert {h.id for h in hits} == {f"d{i}" for i in range(11, 40, 2)}
    only = store.query(DOCS[3], k=5, where_document={"$contains": "number 12 "}, search=search)  # type: ignore[arg-type]
    assert [h.id for h in only] == ["d12"]


def test_bad_filters_fail_before_searching(store: ChromaStore) -> None:
    with pytest.raises(FilterError, match=r"\$gtt"):
        store.query("x", where={"year": {"$gtt": 3}})


def test_deleted_ids_are_never_returned(store: ChromaStore) -> None:
    store.query("warm the index", k=1)
    store.delete(["d7"])
    store.delete(where={"kind": "even"})
    assert store.count() == 19
    for search in ("binary", "float"):
        hits = store.query(DOCS[7], k=40, search=search)  # type: ignore[arg-type]
        assert "d7" not in {h.id for h in hits} and all(h.metadata["kind"] == "odd" for h in hits)


def test_re_adding_the_same_ids_is_idempotent(store: ChromaStore) -> None:
    store.add(IDS, documents=DOCS, metadatas=METAS)
    assert store.count() == 40
    store.add(["d1"], documents=["replaced text"], metadatas=[{"year": 1}])
    assert store.get(["d1"])[0].document == "replaced text"
    assert store.query("replaced text", k=1)[0].id == "d1"


def test_empty_store_returns_nothing(new_store: Callable[..., ChromaStore]) -> None:
    assert new_store().query("anything") == []


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"embeddings": np.ones((2, 3), dtype=np.float32)}, "dim|dimension"),
        ({"embeddings": np.array([[np.nan] * 64, [1.0] * 64], dtype=np.float32)}, "NaN|finite"),
        ({"documents": ["a", 3]}, r"\[1\]"),
        ({"documents": ["a", "b"], "metadatas": [{"ragkit:code": "x"}, None]}, "ragkit:"),
        ({"documents": ["a", "b"], "metadatas": [{"nested": {"x": 1}}, None]}, "nested"),
    ],
)
def test_bad_records_are_rejected_and_nothing_is_written(
    store: ChromaStore, kwargs: dict[str, object], match: str
) -> None:
    with pytest.raises(InputError, match=match):
        store.add(["new1", "new2"], **kwargs)  # type: ignore[arg-type]
    assert store.count() == 40 and store.get(["new1", "new2"]) == []


def test_duplicate_ids_in_one_batch_are_rejected(store: ChromaStore) -> None:
    with pytest.raises(InputError, match="duplicate|twice"):
        store.add(["x", "x"], documents=["a", "b"])
    assert store.count() == 40


def test_another_embedder_is_a_clear_error_unless_reembedding(store: ChromaStore) -> None:
    name = store.collection.name
    with pytest.raises(EmbedderMismatchError, match="reembed=True"):
        ChromaStore(name, embedder=HashEmbedder(dim=64, query_prompt="q: "), client=store.client)
    other = ChromaStore(name, embedder=HashEmbedder(dim=32), reembed=True, client=store.client)
    assert other.count() == 40
    assert other.query(DOCS[5], k=1)[0].id == "d5"


def test_persistent_store_reopens_and_rebuilds_its_index(tmp_path: Path) -> None:
    first = ChromaStore("pstore", embedder=HashEmbedder(dim=64), path=tmp_path / "db")
    first.add(IDS, documents=DOCS, metadatas=METAS)
    again = ChromaStore("pstore", embedder=HashEmbedder(dim=64), path=tmp_path / "db")
    assert again.count() == 40
    assert again.query(DOCS[9], k=1)[0].id == "d9"


def test_a_record_added_by_another_client_is_found(store: ChromaStore, second_client: Any) -> None:
    other = ChromaStore(store.collection.name, embedder=HashEmbedder(dim=64), client=second_client)
    other.query("warm", k=1)
    store.add(["late"], documents=["a late arrival"])
    assert other.query("a late arrival", k=1)[0].id == "late"


def test_caller_brought_vectors_without_an_embedder(new_store: Callable[..., ChromaStore]) -> None:
    s = new_store(embedder=None)
    vectors = np.eye(4, dtype=np.float32)
    s.add(["a", "b", "c", "d"], embeddings=vectors, documents=["A", "B", "C", "D"])
    hits = s.query(np.array([0.9, 0.1, 0, 0], dtype=np.float32), k=2, search="binary", oversample=2)
    assert hits[0].id == "a"
    with pytest.raises(InputError):
        s.query("text needs an embedder")


@pytest.mark.parametrize("rescore", ["asymmetric", "none"])
def test_other_rescore_modes_rank_the_exact_match_first(store: ChromaStore, rescore: str) -> None:
    assert store.query(DOCS[11], k=3, rescore=rescore)[0].id == "d11"  # type: ignore[arg-type]


def test_matryoshka_codes_use_the_leading_dimensions(new_store: Callable[..., ChromaStore]) -> None:
    s = new_store(code_dim=16)
    s.add(IDS, documents=DOCS)
    assert s.query(DOCS[4], k=1)[0].id == "d4"
    assert s._fresh_index().dim == 16


@pytest.mark.parametrize("name", ["p", "-bad", "has space", ""])
def test_invalid_collection_names_are_a_clear_error(name: str) -> None:
    from ragkit import ConfigError

    with pytest.raises(ConfigError, match="Collection name"):
        ChromaStore(name, embedder=HashEmbedder(dim=8))


def test_a_replacement_by_another_client_is_seen_even_when_the_count_is_unchanged(
    store: ChromaStore, second_client: Any
) -> None:
    other = ChromaStore(store.collection.name, embedder=HashEmbedder(dim=64), client=second_client)
    other.query("warm", k=1)
    store.add(["d3"], documents=["completely new words"])
    assert other.count() == 40
    assert other.query("completely new words", k=1, rescore="none")[0].id == "d3"


def test_int8_rescoring_gives_the_float_ranking_and_cosines(store: ChromaStore) -> None:
    embedder = HashEmbedder(dim=64)
    query = embedder.embed_query("documents about cats")
    by_float = store.query(query, k=8, rescore="float", oversample=5)
    by_int8 = store.query(query, k=8, rescore="int8", oversample=5)
    assert [h.id for h in by_int8] == [h.id for h in by_float]
    for a, b in zip(by_int8, by_float, strict=True):
        assert a.score == pytest.approx(b.score, abs=2e-3)
        assert a.metadata == b.metadata and "ragkit:int8" not in a.metadata


def test_upsert_replaces_metadata_instead_of_merging(store: ChromaStore) -> None:
    store.add(["d1"], documents=["replaced text"], metadatas=[{"year": 1}])
    assert store.get(["d1"])[0].metadata == {"year": 1}
    store.add(["d1"], documents=["no metadata now"])
    assert store.get(["d1"])[0].metadata == {}
    hit = store.query("no metadata now", k=1, rescore="int8")[0]
    assert hit.id == "d1" and hit.score == pytest.approx(1.0, abs=2e-3)


def _count_fetched(store: ChromaStore, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record how many candidates each query reads from Chroma (its final fetch)."""
    counts: list[int] = []
    hits_of = store._hits

    def spy(ids: list[str], k: int, **kwargs: Any) -> list[Any]:
        counts.append(len(ids))
        return hits_of(ids, k, **kwargs)

    monkeypatch.setattr(store, "_hits", spy)
    return counts


def test_the_funnel_narrows_hamming_candidates_by_their_estimate(
    store: ChromaStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedder = HashEmbedder(dim=64)
    query = embedder.embed_query("a question")
    exact = embedder.embed_documents(DOCS) @ query
    rescored = _count_fetched(store, monkeypatch)
    # The scan keeps 3 x 2 x 2 = 12 codes; the estimate passes 6 on to float rescoring.
    hits = store.query(query, k=3, oversample=2, funnel=2)
    assert rescored == [6] and len(hits) == 3
    assert hits[0].id == IDS[int(np.argmax(exact))]
    store.query(query, k=3, oversample=2, funnel=1)
    assert rescored[-1] == 6  # without the funnel the scan itself keeps 6
    with pytest.raises(ConfigError, match="funnel"):
        store.query(query, funnel=0)


def test_a_rotated_reduced_store_keeps_its_layout_for_every_client(
    new_store: Callable[..., ChromaStore], second_client: Any
) -> None:
    s = new_store(rotate="pca", dim=16)
    s.add(IDS, documents=DOCS, metadatas=METAS)
    stored = s.collection.get(ids=["d4"], include=["embeddings"])["embeddings"][0]
    assert len(stored) == 16 and np.linalg.norm(stored) == pytest.approx(1.0, abs=1e-5)
    assert s.layout is not None and s.layout.rotation is not None and s.layout.code_dim == 64
    for search in ("binary", "float"):
        top = s.query(DOCS[4], k=1, search=search)[0]  # type: ignore[arg-type]
        assert top.id == "d4" and top.score == pytest.approx(1.0, abs=1e-4)
    other = ChromaStore(s.collection.name, embedder=HashEmbedder(dim=64), client=second_client)
    assert other.query(DOCS[9], k=1)[0].id == "d9"
    assert other.layout == s.layout  # same dims, same rotation read back from Chroma
    with pytest.raises(ConfigError, match="dim=16"):
        ChromaStore(s.collection.name, embedder=HashEmbedder(dim=64), client=s.client, dim=32)


def test_a_fitted_rotation_can_be_passed_in(new_store: Callable[..., ChromaStore]) -> None:
    from ragkit.store.rotation import PcaRotation

    rotation = PcaRotation.fit(HashEmbedder(dim=64).embed_documents(DOCS))
    s = new_store(rotate=rotation, dim=24, whiten=0.0)
    s.add(IDS[:3], documents=DOCS[:3])  # too few to fit on, but the rotation is given
    assert s.layout is not None and s.layout.rotation == rotation and s.layout.whiten == 0.0
    assert s.query(DOCS[2], k=1)[0].id == "d2"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"dim": 65}, "dim=65 exceeds"),
        ({"code_dim": 100}, "code_dim=100 exceeds"),
    ],
)
def test_layouts_larger_than_the_vectors_fail_before_writing(
    new_store: Callable[..., ChromaStore], kwargs: dict[str, object], match: str
) -> None:
    s = new_store(**kwargs)
    with pytest.raises(ConfigError, match=match):
        s.add(IDS, documents=DOCS)
    assert s.count() == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"whiten": 0.1}, "rotate='pca'"),
        ({"rotate": "svd"}, "rotate must be"),
        ({"dim": 0}, "dim must be"),
        ({"rescore": "int4"}, "rescore must be"),
        ({"oversample": 0}, "oversample"),
    ],
)
def test_bad_store_options_are_a_clear_error(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        ChromaStore("options", embedder=HashEmbedder(dim=8), **kwargs)  # type: ignore[arg-type]


def test_asymmetric_scores_estimate_cosines_from_bits_alone(store: ChromaStore) -> None:
    embedder = HashEmbedder(dim=64)
    query = embedder.embed_query("documents about cats")
    exact = embedder.embed_documents(DOCS) @ query
    hits = store.query(query, k=40, rescore="asymmetric", oversample=1)  # every record
    estimated = np.array([h.score for h in hits])
    truth = np.array([exact[IDS.index(h.id)] for h in hits])
    assert np.corrcoef(estimated, truth)[0, 1] > 0.6  # estimates from 64 bits, not cosines
    assert IDS[int(np.argmax(exact))] in {h.id for h in hits[:5]}
    stored = store.collection.get(ids=["d0"], include=["metadatas"])["metadatas"][0]
    assert 0 < stored["ragkit:sign_factor"] <= 1


def test_concurrent_writers_and_readers_on_one_store(store: ChromaStore) -> None:
    from concurrent.futures import ThreadPoolExecutor

    embedder = HashEmbedder(dim=64)

    def write(worker: int) -> None:
        for step in range(5):
            ids = [f"w{worker}-{step}-{i}" for i in range(4)]
            store.add(ids, documents=[f"worker {worker} step {step} item {i}" for i in range(4)])
        store.delete([f"w{worker}-0-0"])

    def read(worker: int) -> list[str]:
        seen = []
        for step in range(10):
            seen += [h.id for h in store.query(embedder.embed_query(f"q{worker}{step}"), k=5)]
        return seen

    with ThreadPoolExecutor(6) as pool:
        writers = [pool.submit(write, w) for w in range(3)]
        readers = [pool.submit(read, w) for w in range(3)]
        for future in writers + readers:
            future.result()  # no exception in any thread
    assert store.count() == 40 + 3 * (20 - 1)
    index_ids = store._fresh_index().ids
    assert sorted(index_ids) == sorted(store.collection.get(include=[])["ids"])
    hits = store.query("worker 1 step 0 item 0", k=60)
    assert "w1-0-0" not in {h.id for h in hits}


@pytest.mark.parametrize("rescore", ["int8", "float"])
def test_int8_rows_in_the_index_mean_only_the_hits_are_read_from_chroma(
    new_store: Callable[..., ChromaStore], rescore: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = new_store()
    s.add(IDS, documents=DOCS, metadatas=METAS)
    embedder = HashEmbedder(dim=64)
    query = embedder.embed_query("documents about dogs")
    exact = embedder.embed_documents(DOCS) @ query
    fetched = _count_fetched(s, monkeypatch)
    hits = s.query(query, k=4, oversample=2, candidates=40, rescore=rescore)  # type: ignore[arg-type]
    assert [h.id for h in hits] == [IDS[i] for i in np.argsort(-exact)[:4]]
    assert all(h.score == pytest.approx(float(exact[IDS.index(h.id)]), abs=2e-3) for h in hits)
    # int8 rescoring scores all 40 candidates in memory and fetches the 4 hits; float
    # rescoring narrows to 8 by int8 first.
    assert fetched == ([4] if rescore == "int8" else [8])
    index = s._fresh_index()
    assert index.nbytes() == 40 * (8 + 2)  # codes and sign factors stay resident
    id_bytes = sum(len(i) for i in IDS) + 40 * (8 + 16)  # UTF-8 ids, end offsets, lookup
    assert index.mapped_nbytes() == 40 * 64 + id_bytes  # int8 rows and ids are mapped


@pytest.mark.parametrize("memory_map", [True, False])
def test_int8_rows_follow_deletes_and_rebuilds(
    new_store: Callable[..., ChromaStore], memory_map: bool
) -> None:
    s = new_store(memory_map=memory_map)
    s.add(IDS, documents=DOCS)
    s.query("warm", k=1)
    s.delete(["d3"])
    s.add(["d5"], documents=["brand new text"])
    for _ in range(2):
        assert s.query("brand new text", k=1, rescore="int8")[0].id == "d5"
        assert "d3" not in {h.id for h in s.query(DOCS[3], k=40, rescore="int8")}
        s._index = None  # the second pass rebuilds the index from Chroma alone
