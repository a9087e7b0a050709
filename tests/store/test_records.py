"""validate_records and chunked against a real in-memory Chroma collection.

Every rule has a rejection test that checks the index in the message and what Chroma itself does
with the same input (rejects it, alters it silently, or stores it: ragkit is stricter on
purpose); and everything the validator accepts round-trips through Chroma unchanged.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from chromadb.api.types import SparseVector
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ragkit.errors import ConfigError, InputError
from ragkit.store.records import RESERVED_PREFIX, ValidatedRecords, chunked, validate_records

HYPOTHESIS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

MakeCollection = Callable[[], Any]


@pytest.fixture
def new_collection(client: Any) -> Iterator[MakeCollection]:
    """Make fresh, uniquely named collections; all are deleted after the test."""
    names: list[str] = []

    def make() -> Any:
        col = client.create_collection(
            f"ragkit-records-{uuid.uuid4().hex}", embedding_function=None
        )
        names.append(col.name)
        return col

    yield make
    for name in names:
        _delete_collection(client, name)


def _delete_collection(client: Any, name: str) -> None:
    """Delete the records first: delete_collection alone leaves list metadata behind (#7594)."""
    col = client.get_collection(name)
    try:
        ids = col.get(include=[])["ids"]
        if ids:
            col.delete(ids=ids)
    except Exception:  # a collection Chroma broke on purpose (see the NaN test)
        pass
    client.delete_collection(name)


def _typed(value: Any) -> Any:
    """A comparable form that tells 1, 1.0 and True apart."""
    if isinstance(value, dict):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_typed(item) for item in value]
    return (type(value).__name__, value)


def _assert_stored_as(stored: Any, expected: Any) -> None:
    """Equal, type for type; floats may differ by 2 units in the last place.

    chromadb 1.5.9 reads about a fifth of float metadata back 1-2 ULP off (0.24739348353826673
    comes back as 0.2473934835382667), although filters still match the value as written.
    """
    assert type(stored) is type(expected), (stored, expected)
    if isinstance(expected, dict):
        assert stored.keys() == expected.keys()
        for key in expected:
            _assert_stored_as(stored[key], expected[key])
    elif isinstance(expected, list):
        assert len(stored) == len(expected)
        for item, want in zip(stored, expected, strict=True):
            _assert_stored_as(item, want)
    elif isinstance(expected, float):
        assert abs(stored - expected) <= 2 * math.ulp(expected), (stored, expected)
    else:
        assert stored == expected


def _stored(col: Any, ids: list[str]) -> dict[str, Any]:
    got = col.get(ids=ids, include=["documents", "metadatas", "embeddings"])
    by_id = {
        id_: (doc, meta, None if emb is None else np.asarray(emb, dtype=np.float32))
        for id_, doc, meta, emb in zip(
            got["ids"],
            got["documents"],
            got["metadatas"],
            got["embeddings"] if got["embeddings"] is not None else [None] * len(got["ids"]),
            strict=True,
        )
    }
    return by_id


def _add(col: Any, records: ValidatedRecords) -> None:
    col.add(
        ids=records.ids,
        embeddings=records.embeddings,
        documents=records.documents,
        metadatas=records.metadatas,
    )


# --- rejections -------------------------------------------------------------------------------

V2 = [[1.0, 0.0], [0.0, 1.0]]


def _batch(**overrides: Any) -> dict[str, Any]:
    """Two valid records, with some arguments replaced."""
    return {"ids": ["a", "b"], "embeddings": V2, **overrides}


def _meta(value: Any, key: str = "k") -> dict[str, Any]:
    return _batch(metadatas=[{"ok": 1}, {key: value}])


# (arguments, text the message must contain, what Chroma does with the raw arguments)
#   rejects: Chroma raises too;  alters: Chroma stores something else, silently;
#   stores: Chroma stores it as given, and ragkit is stricter on purpose.
BAD_RECORDS = [
    pytest.param(
        _batch(ids="ab"),
        "ids: expected a list of strings, got str 'ab'; wrap",
        "rejects",
        id="ids-str",
    ),
    pytest.param(
        _batch(ids=["a", 2]),
        "ids[1]: expected a string, got int 2; Chroma ids are strings",
        "rejects",
        id="ids-int",
    ),
    pytest.param(
        _batch(ids=["a", np.int64(2)]),
        "ids[1]: expected a string, got int 2",
        "rejects",
        id="ids-np-int",
    ),
    pytest.param(
        _batch(ids=["a", None]),
        "ids[1]: expected a non-empty string, got None",
        "rejects",
        id="ids-none",
    ),
    pytest.param(_batch(ids=["a", ""]), "ids[1]: empty string", "rejects", id="ids-empty"),
    pytest.param(
        _batch(ids=["a", "\ud800"]),
        "ids[1]: string holds a lone surrogate",
        "rejects",
        id="ids-surrogate",
    ),
    pytest.param(
        _batch(ids=["x", "x"]),
        "ids[1]: duplicate id 'x', the same as ids[0]",
        "rejects",
        id="ids-dup",
    ),
    pytest.param(
        _batch(ids=["a", "b", "c"]),
        "embeddings: has 2 vectors but ids has 3",
        "rejects",
        id="len-emb",
    ),
    pytest.param(
        _batch(documents=["x"]), "documents: has 1 items but ids has 2", "rejects", id="len-docs"
    ),
    pytest.param(
        _batch(metadatas=[{"k": 1}] * 3),
        "metadatas: has 3 items but ids has 2",
        "rejects",
        id="len-meta",
    ),
    pytest.param(
        _batch(metadatas={"k": 1}),
        "metadatas: expected a list with one item per id, got dict",
        "rejects",
        id="meta-dict",
    ),
    pytest.param(
        _batch(documents="xy"),
        "documents: expected a list with one item per id, got str",
        "rejects",
        id="docs-str",
    ),
    pytest.param(
        _batch(embeddings="xy"),
        "embeddings: expected a list of vectors or a 2-D array, got str",
        "rejects",
        id="emb-str",
    ),
    pytest.param(
        {"ids": ["a"], "embeddings": [1.0, 2.0]},
        "embeddings: expected one vector per id",
        "stores",
        id="emb-flat",
    ),
    pytest.param(
        _batch(embeddings=[[1.0, 0.0], [1.0]]),
        "embeddings[1]: has 1 dimensions, but embeddings[0] has 2",
        "rejects",
        id="emb-ragged",
    ),
    pytest.param(
        _batch(embeddings=[[1.0, 0.0], [0.0, math.nan]]),
        "embeddings[1][1]: NaN; vectors must be finite",
        "rejects",
        id="emb-nan",
    ),
    pytest.param(
        _batch(embeddings=np.array([[-np.inf, 0.0], [0.0, 1.0]])),
        "embeddings[0][0]: -inf; vectors must be finite",
        "rejects",
        id="emb-inf",
    ),
    pytest.param(
        _batch(embeddings=[[1.0, 0.0], [1e39, 0.0]]),
        "embeddings[1][0]: 1e+39 is too large for float32",
        "rejects",
        id="emb-overflow",
    ),
    pytest.param(
        _batch(embeddings=[[1.0, 0.0], ["1", 0.0]]),
        "embeddings[1][0]: expected a number, got str '1'",
        "alters",
        id="emb-str-item",
    ),
    pytest.param(
        _batch(embeddings=[[1.0, None], [0.0, 1.0]]),
        "embeddings[0][1]: expected a number, got None",
        "rejects",
        id="emb-none-item",
    ),
    pytest.param(
        _batch(embeddings=[[1.0, 0.0], None]),
        "embeddings[1]: expected a vector of numbers, got None",
        "rejects",
        id="emb-none-row",
    ),
    pytest.param(
        _batch(embeddings=[[True, False], [False, True]]),
        "embeddings[0]: holds booleans",
        "rejects",
        id="emb-bool",
    ),
    pytest.param(
        _batch(embeddings=np.array([[1j, 0], [0, 1]])),
        "embeddings[0][0]: expected a number, got complex",
        "rejects",
        id="emb-complex",
    ),
    pytest.param(
        _batch(embeddings=[[1.0, 0.0], [[1.0, 0.0]]]),
        "embeddings[1]: expected a flat vector, got a 2-d",
        "rejects",
        id="emb-nested",
    ),
    pytest.param(
        _batch(embeddings=[[], []]), "embeddings[0]: empty vector", "rejects", id="emb-empty"
    ),
    pytest.param(
        {"ids": ["a"], "documents": [None]},
        "documents[0]: None is allowed only when embeddings are given",
        "rejects",
        id="doc-none",
    ),
    pytest.param(
        _batch(documents=["x", 1]),
        "documents[1]: expected a string, got int 1",
        "rejects",
        id="doc-int",
    ),
    pytest.param(
        _batch(documents=["x", "\udc80"]),
        "documents[1]: string holds a lone surrogate",
        "rejects",
        id="doc-surrogate",
    ),
    pytest.param(
        _batch(metadatas=[{"k": 1}, ["k"]]),
        "metadatas[1]: expected a dict or None, got list",
        "rejects",
        id="meta-list",
    ),
    pytest.param(
        _meta(1, key=1), "metadatas[1]: keys must be strings, got int 1", "rejects", id="key-int"
    ),  # type: ignore[arg-type]
    pytest.param(_meta(1, key=""), 'metadatas[1][""]: empty key', "rejects", id="key-empty"),
    pytest.param(
        _meta(1, key="$k"),
        "metadatas[1][\"$k\"]: keys cannot start with '$'",
        "rejects",
        id="key-dollar",
    ),
    pytest.param(
        _meta(1, key="#k"),
        "metadatas[1][\"#k\"]: keys cannot start with '#'",
        "rejects",
        id="key-hash",
    ),
    pytest.param(
        _meta("x", key="chroma:document"),
        "Chroma reserves the 'chroma:' prefix",
        "rejects",
        id="key-chroma-document",
    ),
    pytest.param(
        _meta(1, key="chroma:k"),
        "metadatas[1][\"chroma:k\"]: Chroma reserves the 'chroma:' prefix",
        "alters",
        id="key-chroma",
    ),
    pytest.param(
        _meta("x", key=RESERVED_PREFIX + "code"),
        "metadatas[1][\"ragkit:code\"]: the 'ragkit:' prefix is reserved",
        "stores",
        id="key-ragkit",
    ),
    pytest.param(
        _meta(1, key="k\ud800"), "string holds a lone surrogate", "rejects", id="key-surrogate"
    ),
    pytest.param(
        _meta(None),
        'metadatas[1]["k"]: expected a str, int, float or bool, got None; Chroma cannot store None',
        "rejects",
        id="value-none",
    ),
    pytest.param(
        _meta({"a": 1}),
        'metadatas[1]["k"]: expected a str, int, float or bool, got dict',
        "rejects",
        id="value-dict",
    ),
    pytest.param(
        _meta((1, 2)),
        'metadatas[1]["k"]: expected a str, int, float or bool, got tuple',
        "rejects",
        id="value-tuple",
    ),
    pytest.param(_meta(np.array([1, 2])), "pass list(value)", "rejects", id="value-ndarray"),
    pytest.param(
        _meta(object()),
        'metadatas[1]["k"]: expected a str, int, float or bool, got object',
        "rejects",
        id="value-object",
    ),
    pytest.param(
        _meta(SparseVector(indices=[0], values=[1.0])),
        "got SparseVector",
        "rejects",
        id="value-sparse",
    ),
    pytest.param(
        _meta("\ud800"),
        'metadatas[1]["k"]: string holds a lone surrogate',
        "rejects",
        id="value-surrogate",
    ),
    pytest.param(
        _meta(math.nan), 'metadatas[1]["k"]: nan is not a finite number', "alters", id="value-nan"
    ),
    pytest.param(
        _meta(-math.inf), 'metadatas[1]["k"]: -inf is not a finite number', "alters", id="value-inf"
    ),
    pytest.param(
        _meta(2**63),
        'metadatas[1]["k"]: integer 9223372036854775808 is outside the 64-bit range',
        "alters",
        id="value-big-int",
    ),
    pytest.param(
        _meta(-(2**63) - 1), "is outside the 64-bit range", "alters", id="value-small-int"
    ),
    pytest.param(_meta([]), 'metadatas[1]["k"]: empty list', "rejects", id="list-empty"),
    pytest.param(
        _meta([1, 2.0]),
        'metadatas[1]["k"][1]: all values must have one type, but metadatas[1]["k"][0] is int',
        "rejects",
        id="list-int-float",
    ),
    pytest.param(
        _meta([True, 1]),
        'metadatas[1]["k"][1]: all values must have one type',
        "rejects",
        id="list-bool-int",
    ),
    pytest.param(
        _meta(["a", 1]),
        'metadatas[1]["k"][1]: all values must have one type',
        "rejects",
        id="list-str-int",
    ),
    pytest.param(
        _meta([[1]]),
        'metadatas[1]["k"][0]: expected a str, int, float or bool, got list',
        "rejects",
        id="list-nested",
    ),
    pytest.param(
        _meta([None]),
        'metadatas[1]["k"][0]: expected a str, int, float or bool, got None',
        "rejects",
        id="list-none",
    ),
    pytest.param(
        _meta([2**64]),
        'metadatas[1]["k"][0]: integer 18446744073709551616 is outside',
        "alters",
        id="list-big-int",
    ),
]


def _chroma_outcome(col: Any, arguments: dict[str, Any]) -> str:
    try:
        col.add(**arguments)
    except Exception:  # chromadb raises ValueError, TypeError, IndexError and its own errors
        return "rejects"
    ids = list(arguments["ids"])
    got = col.get(ids=ids, include=["documents", "metadatas", "embeddings"])
    order = [got["ids"].index(id_) for id_ in ids]
    documents = arguments.get("documents") or [None] * len(ids)
    metadatas = arguments.get("metadatas") or [None] * len(ids)
    same_data = _typed([documents, metadatas]) == _typed(
        [[got["documents"][i] for i in order], [got["metadatas"][i] for i in order]]
    )
    vectors = [got["embeddings"][i] for i in order]
    return "stores" if same_data and _same_vectors(arguments["embeddings"], vectors) else "alters"


def _same_vectors(given: Any, stored: list[Any]) -> bool:
    """Whether Chroma stored exactly the numbers given (a str "1" stored as 1.0 does not count)."""
    if not isinstance(given[0], (list, tuple, np.ndarray)):
        given = [given]  # one flat vector for one id, which Chroma accepts
    for row, kept in zip(given, stored, strict=True):
        if not isinstance(row, np.ndarray) and not all(
            isinstance(x, (int, float)) and not isinstance(x, bool) for x in row
        ):
            return False
        if not np.array_equal(np.asarray(row, dtype=np.float32), np.asarray(kept)):
            return False
    return True


@pytest.mark.parametrize(("arguments", "message", "chroma"), BAD_RECORDS)
def test_bad_records_are_rejected_with_the_index(
    new_collection: MakeCollection, arguments: dict[str, Any], message: str, chroma: str
) -> None:
    with pytest.raises(InputError) as info:
        validate_records(**arguments)
    assert message in str(info.value)
    assert _chroma_outcome(new_collection(), arguments) == chroma


def test_input_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"ids\[1\]: duplicate"):
        validate_records(["a", "a"])


@pytest.mark.parametrize("dim", [0, -3, True, 2.0, "2"])
def test_bad_dim_is_a_config_error(dim: Any) -> None:
    with pytest.raises(ConfigError, match="dim must be a positive integer"):
        validate_records(["a"], embeddings=[[1.0, 2.0]], dim=dim)


def test_wrong_dimension_names_index_and_both_dims(new_collection: MakeCollection) -> None:
    with pytest.raises(InputError, match=r"embeddings\[0\]: has 2 dimensions, expected 3"):
        validate_records(["a", "b"], embeddings=np.zeros((2, 2)), dim=3)
    with pytest.raises(InputError, match=r"embeddings\[1\]: has 3 dimensions, expected 2"):
        validate_records(["a", "b"], embeddings=[[1.0, 0.0], [1.0, 0.0, 0.0]], dim=2)
    # Chroma, too, refuses vectors of another dimension than the collection's.
    col = new_collection()
    col.add(ids=["x"], embeddings=[[1.0, 0.0, 0.0]])
    with pytest.raises(Exception, match="dimension"):
        col.add(ids=["y"], embeddings=[[1.0, 0.0]])


# --- what Chroma does with the input ragkit rejects ------------------------------------------


def test_chroma_alters_metadata_silently(new_collection: MakeCollection) -> None:
    col = new_collection()
    metadatas = [
        {"k": math.nan, "kept": 1},
        {"k": math.inf},
        {"chroma:k": 1, "kept": 1},
        {"k": 2**63},
    ]
    col.add(ids=["nan", "inf", "reserved", "big"], embeddings=[[1.0, 0.0]] * 4, metadatas=metadatas)
    got = col.get(ids=["nan", "inf", "reserved", "big"], include=["metadatas"])
    stored = dict(zip(got["ids"], got["metadatas"], strict=True))
    assert stored["nan"] == {"kept": 1}  # the key is gone
    assert stored["inf"] is None  # ... and with it the only key
    assert stored["reserved"] == {"kept": 1}
    assert stored["big"] == {"k": float(2**63)}
    for metadata in metadatas:
        with pytest.raises(InputError, match=r'metadatas\[0\]\["(k|chroma:k)"\]'):
            validate_records(["a"], metadatas=[metadata])


def test_chroma_collection_breaks_on_nan_in_a_metadata_list(new_collection: MakeCollection) -> None:
    metadatas = [{"k": [1.0, math.nan]}]
    with pytest.raises(InputError, match=r'metadatas\[0\]\["k"\]\[1\]: nan'):
        validate_records(["b"], embeddings=[[0.0, 1.0]], metadatas=metadatas)
    col = new_collection()
    col.add(ids=["a"], embeddings=[[1.0, 0.0]])
    with pytest.raises(Exception):  # noqa: B017 - whatever Chroma raises
        col.add(ids=["b"], embeddings=[[0.0, 1.0]], metadatas=metadatas)
    with pytest.raises(Exception):  # noqa: B017 - and "a", stored before, is unreachable now
        col.get(ids=["a"])


def test_chroma_delete_collection_leaves_list_metadata_behind(client: Any) -> None:
    # chroma-core/chroma#7594 (open in chromadb 1.5.9): delete_collection keeps list-valued
    # metadata, and the next collection's records inherit it. Deleting the records first helps.
    def leaked(clean_first: bool) -> Any:
        old = client.create_collection(f"ragkit-leak-{uuid.uuid4().hex}", embedding_function=None)
        old.add(ids=["x"], embeddings=[[1.0, 0.0]], metadatas=[{"ghost": ["boo"]}])
        if clean_first:
            old.delete(ids=["x"])
        client.delete_collection(old.name)
        new = client.create_collection(f"ragkit-leak-{uuid.uuid4().hex}", embedding_function=None)
        try:
            new.add(ids=["y"], embeddings=[[1.0, 0.0]], metadatas=[{"real": 1}])
            return new.get(ids=["y"], include=["metadatas"])["metadatas"][0]
        finally:
            _delete_collection(client, new.name)

    assert leaked(clean_first=False) == {"real": 1, "ghost": ["boo"]}
    assert leaked(clean_first=True) == {"real": 1}


# --- accepted input round-trips through Chroma unchanged -------------------------------------


def test_normalises_numpy_and_empty_metadata(new_collection: MakeCollection) -> None:
    records = validate_records(
        np.array(["a", "b"]),
        embeddings=np.array([[1, 2], [3, 4]], dtype=np.int32),
        documents=[np.str_("x"), None],
        metadatas=[{"n": np.int64(3), "f": np.float32(0.5), "b": np.bool_(True)}, {}],
    )
    assert records.ids == ["a", "b"] and type(records.ids[0]) is str
    assert records.documents == ["x", None]
    assert _typed(records.metadatas) == _typed([{"n": 3, "f": 0.5, "b": True}, None])
    assert records.embeddings is not None
    assert records.embeddings.dtype == np.float32 and records.embeddings.flags.c_contiguous
    col = new_collection()
    _add(col, records)  # Chroma itself rejects {} and numpy metadata; the normalised batch is fine
    assert _stored(col, ["b"])["b"][1] is None


def test_embeddings_are_a_read_only_copy() -> None:
    source = np.ones((2, 3), dtype=np.float32)
    records = validate_records(["a", "b"], embeddings=source)
    assert records.embeddings is not None
    source[0, 0] = 5.0
    assert records.embeddings[0, 0] == 1.0
    with pytest.raises(ValueError, match="read-only"):
        records.embeddings[0, 0] = 2.0


def test_empty_batch_is_empty_not_an_error() -> None:
    empty = validate_records([])
    assert len(empty) == 0 and empty.ids == [] and empty.embeddings is None
    empty = validate_records([], embeddings=[], documents=[], metadatas=[], dim=4)
    assert empty.embeddings is not None and empty.embeddings.shape == (0, 4)
    assert empty.documents == [] and empty.metadatas == []
    assert list(empty.batches(10)) == []
    with pytest.raises(InputError, match="embeddings: has 1 vectors but ids has 0"):
        validate_records([], embeddings=[[1.0]])


def test_metadata_only_batch_suits_update(new_collection: MakeCollection) -> None:
    col = new_collection()
    col.add(ids=["a"], embeddings=[[1.0, 0.0]], metadatas=[{"k": 1}])
    records = validate_records(["a"], metadatas=[{"k": 2, "tags": ["x", "y"]}])
    col.update(ids=records.ids, metadatas=records.metadatas)
    assert col.get(ids=["a"])["metadatas"] == [{"k": 2, "tags": ["x", "y"]}]


def test_repr_is_short() -> None:
    records = validate_records([str(i) for i in range(1000)], embeddings=np.zeros((1000, 3)))
    assert repr(records) == "ValidatedRecords(n=1000, dim=3, documents=False, metadatas=False)"


_KEY = st.text(min_size=1, max_size=8).filter(
    lambda k: k[0] not in "$#" and not k.startswith(("chroma:", RESERVED_PREFIX))
)
_SCALAR = st.one_of(
    st.text(max_size=8),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)
_LIST = st.one_of(
    st.lists(st.text(max_size=4), min_size=1, max_size=3),
    st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=3),
    st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=3),
    st.lists(st.booleans(), min_size=1, max_size=3),
)
_METADATA = st.one_of(
    st.none(), st.dictionaries(_KEY, st.one_of(_SCALAR, _LIST), min_size=1, max_size=4)
)
_FLOAT32 = st.floats(-(2.0**100), 2.0**100, allow_nan=False, width=32)


@st.composite
def _batches(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 5))
    dim = draw(st.integers(1, 5))
    ids = draw(st.lists(st.text(min_size=1, max_size=10), min_size=n, max_size=n, unique=True))
    rows = draw(st.lists(st.lists(_FLOAT32, min_size=dim, max_size=dim), min_size=n, max_size=n))
    dtype = draw(st.sampled_from([None, np.float32, np.float64]))
    arguments: dict[str, Any] = {
        "ids": ids,
        "embeddings": rows if dtype is None else np.array(rows, dtype=dtype),
    }
    if draw(st.booleans()):
        arguments["documents"] = draw(
            st.lists(st.one_of(st.none(), st.text(max_size=12)), min_size=n, max_size=n)
        )
    if draw(st.booleans()):
        arguments["metadatas"] = draw(st.lists(_METADATA, min_size=n, max_size=n))
    return arguments


@HYPOTHESIS
@given(arguments=_batches())
def test_accepted_batches_round_trip_like_unvalidated_ones(
    new_collection: MakeCollection, arguments: dict[str, Any]
) -> None:
    records = validate_records(**arguments)
    validated, raw = new_collection(), new_collection()
    _add(validated, records)
    raw.add(**arguments)  # Chroma takes the same batch unvalidated ...
    stored = _stored(validated, records.ids)
    assert set(stored) == set(records.ids)
    for i, id_ in enumerate(records.ids):
        document, metadata, embedding = stored[id_]
        # ... and ragkit's copy is stored exactly as given, nothing dropped or converted.
        assert document == (None if records.documents is None else records.documents[i])
        _assert_stored_as(metadata, None if records.metadatas is None else records.metadatas[i])
        assert records.embeddings is not None
        np.testing.assert_array_equal(embedding, records.embeddings[i])
    raw_stored = _stored(raw, records.ids)
    for id_ in records.ids:
        assert raw_stored[id_][0] == stored[id_][0]
        _assert_stored_as(raw_stored[id_][1], stored[id_][1])
        np.testing.assert_array_equal(raw_stored[id_][2], stored[id_][2])


# --- fuzzing: accepted metadata always round-trips, rejected names its index -----------------

_ODD = st.sampled_from(
    [None, math.nan, math.inf, 2**63, 2**64, -(2**63) - 1, "\ud800", "", "a\x00b", (1, 2), {"a": 1}]
)
_ANY_VALUE = st.recursive(
    st.one_of(_SCALAR, _ODD), lambda inner: st.lists(inner, max_size=3), max_leaves=4
)
_ANY_KEY = st.one_of(
    _KEY, st.sampled_from(["", "$k", "#k", "chroma:k", "chroma:document", "ragkit:code", "k\ud800"])
)


@HYPOTHESIS
@given(metadata=st.dictionaries(_ANY_KEY, _ANY_VALUE, max_size=3))
def test_fuzzed_metadata_round_trips_or_names_its_index(
    new_collection: MakeCollection, metadata: dict[str, Any]
) -> None:
    try:
        records = validate_records(["a", "b"], embeddings=V2, metadatas=[{"ok": 1}, metadata])
    except InputError as exc:
        assert str(exc).startswith("metadatas[1]")
        return
    col = new_collection()
    _add(col, records)
    assert records.metadatas is not None
    _assert_stored_as(_stored(col, ["b"])["b"][1], records.metadatas[1])


# --- batching ---------------------------------------------------------------------------------


def test_chunked_covers_the_range_in_order() -> None:
    assert list(chunked(0, 3)) == []
    assert list(chunked(7, 3)) == [slice(0, 3), slice(3, 6), slice(6, 7)]
    assert list(chunked(6, 3)) == [slice(0, 3), slice(3, 6)]
    assert list(chunked(2, 10)) == [slice(0, 2)]


@pytest.mark.parametrize(("n", "size"), [(-1, 3), (3, 0), (3, -2), (3, True), (2.5, 3)])
def test_chunked_rejects_bad_arguments(n: Any, size: Any) -> None:
    with pytest.raises(ConfigError):
        list(chunked(n, size))


def test_batches_fit_the_client_limit(client: Any, new_collection: MakeCollection) -> None:
    limit = client.get_max_batch_size()
    assert limit > 0
    records = validate_records(
        [f"r{i}" for i in range(10)],
        embeddings=np.eye(10),
        documents=[f"doc {i}" for i in range(10)],
        metadatas=[{"i": i} for i in range(10)],
    )
    parts = list(records.batches(4))
    assert [len(part) for part in parts] == [4, 4, 2]
    col = new_collection()
    for part in parts:
        _add(col, part)
    assert col.count() == 10
    stored = _stored(col, ["r9"])["r9"]
    assert stored[:2] == ("doc 9", {"i": 9})
    np.testing.assert_array_equal(stored[2], np.eye(10, dtype=np.float32)[9])
