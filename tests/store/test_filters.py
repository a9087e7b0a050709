"""validate_where / validate_where_document against a real in-memory Chroma collection.

Three kinds of check: every rejection names its path; everything the validators accept is
accepted by Chroma and selects the same records as the unvalidated filter; and Chroma's float
query and ragkit's "resolve the ids, then mask" path select the same records.
"""

from __future__ import annotations

import math
import types
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ragkit.errors import FilterError
from ragkit.store.filters import (
    DOCUMENT_OPERATORS,
    METADATA_OPERATORS,
    validate_where,
    validate_where_document,
)
from ragkit.store.records import validate_records

N_RECORDS = 40
DIM = 8
LANGS = ["en", "de", "fr", ""]
TAGS = ["x", "y", "z"]
WORDS = ["alpha", "beta", "gamma", "delta", "Alpha", "ünï", "a.c"]
FIELDS = ["year", "score", "lang", "flag", "tags", "nums", "missing"]
PATTERNS = ["alpha", "^beta", "gamma$", "(?i)ALPHA", "a.c", r"\p{L}+ü", "[bd]e"]

HYPOTHESIS = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def collection(client: Any) -> Iterator[Any]:
    """A fresh, empty collection with a unique name, deleted afterwards."""
    col = client.create_collection(f"ragkit-filters-{uuid.uuid4().hex}", embedding_function=None)
    yield col
    # Delete the records first: delete_collection alone leaves list-valued metadata behind, and
    # the next collection's records would inherit it (chroma-core/chroma#7594, chromadb 1.5.9).
    ids = col.get(include=[])["ids"]
    if ids:
        col.delete(ids=ids)
    client.delete_collection(col.name)


def _seed_metadata(i: int, rng: np.random.Generator) -> dict[str, Any] | None:
    if i % 13 == 0:
        return None
    meta: dict[str, Any] = {"lang": LANGS[i % 4]}
    if i % 3:
        meta["year"] = int(rng.integers(1995, 2025))
    if i % 6 == 2:
        meta["year"] = 2000.5  # the same key holds a float in some records
    if i % 4:
        meta["score"] = round(float(rng.uniform(-1, 1)), 2)
    if i % 5:
        meta["flag"] = bool(i % 2)
    if i % 2:
        meta["tags"] = sorted({str(t) for t in rng.choice(TAGS, size=2)})
    if i % 7 == 1:
        meta["nums"] = [int(v) for v in rng.integers(0, 5, size=3)]
    return meta


@pytest.fixture
def seeded(collection: Any) -> Any:
    """40 records with mixed, partly missing metadata and partly missing documents."""
    rng = np.random.default_rng(7)
    documents = [
        None if i % 11 == 5 else " ".join(str(w) for w in rng.choice(WORDS, size=3))
        for i in range(N_RECORDS)
    ]
    records = validate_records(
        [f"r{i}" for i in range(N_RECORDS)],
        embeddings=rng.normal(size=(N_RECORDS, DIM)),
        documents=documents,
        metadatas=[_seed_metadata(i, rng) for i in range(N_RECORDS)],
    )
    collection.add(
        ids=records.ids,
        embeddings=records.embeddings,
        documents=records.documents,
        metadatas=records.metadatas,
    )
    return collection


def _ids(col: Any, where: Any = None, where_document: Any = None) -> set[str]:
    return set(col.get(where=where, where_document=where_document, include=[])["ids"])


def _chroma_error(col: Any, **filters: Any) -> Exception | None:
    try:
        col.get(include=[], **filters)
    except Exception as exc:  # chromadb raises ValueError, TypeError and its own errors
        return exc
    return None


# --- rejections: the message names the path ---------------------------------------------------

# (filter, text the message must contain, does Chroma reject the raw filter too?)
BAD_WHERE: list[tuple[Any, str, bool]] = [
    ([{"a": 1}], "where: expected a dict, got list", True),
    ({"a": 1, "b": 2}, "where: expected exactly one key, got 2 (a, b)", True),
    ({"$and": [{"a": 1}]}, 'where["$and"]: needs at least 2 filters, got 1', True),
    ({"$or": []}, 'where["$or"]: needs at least 2 filters, got 0', True),
    ({"$and": {"a": 1}}, 'where["$and"]: expected a list of filters, got dict', True),
    ({"$and": [{"a": 1}, 5]}, 'where["$and"][1]: expected a dict such as', True),
    ({"$and": [{"a": 1}, {}]}, 'where["$and"][1]: empty filter', True),
    (
        {"$and": [{"a": 1}, {"year": {"$gtt": 1}}]},
        'where["$and"][1]["year"]: unknown operator \'$gtt\'; use one of $eq $ne $gt $gte',
        True,
    ),
    ({"$not": [{"a": 1}, {"b": 1}]}, "where: unknown logical operator '$not'", True),
    ({"$eq": 1}, "where: unknown logical operator '$eq'", True),
    ({"$contains": "x"}, "where: unknown logical operator '$contains'", True),
    ({"a": {"$gt": 1, "$lt": 3}}, 'where["a"]: expected exactly one operator, got 2', True),
    ({"a": {}}, 'where["a"]: empty operator expression', True),
    ({"a": {"$gt": "1"}}, 'where["a"]["$gt"]: $gt compares numbers, got str \'1\'', True),
    ({"a": {"$lte": True}}, 'where["a"]["$lte"]: $lte compares numbers, got bool True', True),
    ({"a": {"$in": 1}}, 'where["a"]["$in"]: expected a list of values, got int 1', True),
    ({"a": {"$nin": (1, 2)}}, 'where["a"]["$nin"]: expected a list of values, got tuple', True),
    ({"a": {"$in": []}}, 'where["a"]["$in"]: empty list', True),
    ({"a": {"$in": [1, 2.5]}}, 'where["a"]["$in"][1]: all values must have one type', True),
    ({"a": {"$in": [1, True]}}, 'where["a"]["$in"][1]: all values must have one type', True),
    ({"a": {"$in": ["x", 1]}}, 'where["a"]["$in"][1]: all values must have one type', True),
    ({"a": {"$in": [[1]]}}, 'where["a"]["$in"][0]: expected a str, int, float or bool', True),
    ({"a": {"$in": [None]}}, 'where["a"]["$in"][0]: expected a str, int, float or bool', True),
    ({"a": None}, 'where["a"]: expected a str, int, float or bool, got None', True),
    ({"a": {"$eq": None}}, 'where["a"]["$eq"]: expected a str, int, float or bool', True),
    ({"a": [1, 2]}, 'where["a"]: expected a str, int, float or bool, got list', True),
    ({"a": {"$eq": {"b": 1}}}, 'where["a"]["$eq"]: expected a str, int, float or bool', True),
    ({"a": {"$contains": ["x"]}}, 'where["a"]["$contains"]: expected a str, int, float', True),
    ({"a": float("nan")}, 'where["a"]: nan is not a finite number', True),
    ({"a": {"$gt": float("inf")}}, 'where["a"]["$gt"]: inf is not a finite number', True),
    ({"a": {"$in": [1.0, float("nan")]}}, 'where["a"]["$in"][1]: nan is not a finite', True),
    ({"a": {"$eq": 2**63}}, 'where["a"]["$eq"]: integer 9223372036854775808 is outside', True),
    ({"a": {"$eq": np.uint64(2**63)}}, 'where["a"]["$eq"]: integer 9223372036854775808', True),
    ({1: "a"}, "where: keys must be strings, got int 1", True),
    ({"a": "\ud800"}, 'where["a"]: string holds a lone surrogate at position 0', True),
    ({"a\ud800": "x"}, 'where["a\\ud800"]: string holds a lone surrogate', True),
    ({"#document": "x"}, 'where["#document"]: expected {"$contains": text}', True),
    ({"#document": {"$eq": "x"}}, "unknown operator '$eq' for #document", True),
    ({"#document": {"$contains": 1}}, 'where["#document"]["$contains"]: expected a string', True),
    ({"#document": {"$regex": "a"}}, "unknown operator '$regex' for #document", True),
    # Stricter than Chroma on purpose: Chroma accepts these, but they can never match anything.
    ({"": 1}, "where: empty field name", False),
    ({"#id": "r1"}, "where[\"#id\"]: metadata keys cannot start with '#'", False),
    ({"chroma:document": "x"}, "where[\"chroma:document\"]: keys starting with 'chroma:'", False),
    ({"a": 2**64}, 'where["a"]: integer 18446744073709551616 is outside the 64-bit range', False),
    ({"a": {"$gte": -(2**63) - 1}}, "is outside the 64-bit range", False),
]

BAD_WHERE_DOCUMENT: list[tuple[Any, str, bool]] = [
    ("alpha", "where_document: expected a dict, got str 'alpha'", True),
    ({"$contains": "a", "$not_contains": "b"}, "where_document: expected exactly one key", True),
    ({"$contains": ""}, 'where_document["$contains"]: empty string', True),
    ({"$regex": ""}, 'where_document["$regex"]: empty string', True),
    ({"$contains": 1}, 'where_document["$contains"]: expected a string, got int 1', True),
    ({"$contains": None}, 'where_document["$contains"]: expected a string, got None', True),
    ({"$contains": "\udc80"}, 'where_document["$contains"]: string holds a lone surrogate', True),
    ({"$iregex": "a"}, "where_document: unknown operator '$iregex'; use one of $contains", True),
    ({"#document": "a"}, "where_document: unknown operator '#document'", True),
    ({"$and": [{"$contains": "a"}]}, 'where_document["$and"]: needs at least 2 filters', True),
    ({"$or": "a"}, 'where_document["$or"]: expected a list of filters, got str', True),
    (
        {"$and": [{"$contains": "a"}, {"$or": [{"$regex": "b"}, {"$like": "c"}]}]},
        'where_document["$and"][1]["$or"][1]: unknown operator \'$like\'',
        True,
    ),
    ({"$and": [{"$contains": "a"}, {}]}, 'where_document["$and"][1]: empty filter', True),
]


@pytest.mark.parametrize(("where", "message", "chroma_rejects"), BAD_WHERE)
def test_bad_where_is_rejected_with_its_path(
    collection: Any, where: Any, message: str, chroma_rejects: bool
) -> None:
    with pytest.raises(FilterError) as info:
        validate_where(where)
    assert message in str(info.value)
    # Parity: Chroma rejects the same filter, except the cases documented as stricter.
    assert (_chroma_error(collection, where=where) is not None) is chroma_rejects


@pytest.mark.parametrize(("where_document", "message", "chroma_rejects"), BAD_WHERE_DOCUMENT)
def test_bad_where_document_is_rejected_with_its_path(
    collection: Any, where_document: Any, message: str, chroma_rejects: bool
) -> None:
    with pytest.raises(FilterError) as info:
        validate_where_document(where_document)
    assert message in str(info.value)
    assert (_chroma_error(collection, where_document=where_document) is not None) is chroma_rejects


def test_filter_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown operator"):
        validate_where({"a": {"$like": "x"}})


def test_regex_syntax_is_left_to_chroma(seeded: Any) -> None:
    # Rust regex syntax differs from Python's, so ragkit does not compile patterns itself.
    assert validate_where_document({"$regex": "(?<=a)b"}) == {"$regex": "(?<=a)b"}
    assert _chroma_error(seeded, where_document={"$regex": "(?<=a)b"}) is not None
    assert validate_where_document({"$regex": r"\p{L}"}) == {"$regex": r"\p{L}"}
    assert _chroma_error(seeded, where_document={"$regex": r"\p{L}"}) is None


# --- normalisation ----------------------------------------------------------------------------


def test_none_and_empty_mean_no_filter() -> None:
    assert validate_where(None) is None
    assert validate_where({}) is None
    assert validate_where_document(None) is None
    assert validate_where_document({}) is None


def test_shorthand_is_expanded_and_input_left_alone() -> None:
    where = {"$and": [{"lang": "en"}, {"$or": [{"year": 2020}, {"flag": True}]}]}
    before = repr(where)
    assert validate_where(where) == {
        "$and": [
            {"lang": {"$eq": "en"}},
            {"$or": [{"year": {"$eq": 2020}}, {"flag": {"$eq": True}}]},
        ]
    }
    assert repr(where) == before


def test_numpy_scalars_and_mappings_become_plain_python() -> None:
    where = types.MappingProxyType(
        {"$or": [{"year": {"$in": [np.int64(2020), 2021]}}, {"score": np.float32(0.5)}]}
    )
    out = validate_where(where)
    assert out == {"$or": [{"year": {"$in": [2020, 2021]}}, {"score": {"$eq": 0.5}}]}
    assert type(out) is dict
    assert type(out["$or"][0]["year"]["$in"][0]) is int
    assert type(out["$or"][1]["score"]["$eq"]) is float
    assert validate_where({"flag": np.bool_(True)}) == {"flag": {"$eq": True}}


def test_returns_a_copy() -> None:
    where = {"year": {"$in": [2020, 2021]}}
    out = validate_where(where)
    assert out is not None
    out["year"]["$in"].append(1)
    assert where == {"year": {"$in": [2020, 2021]}}


# --- everything accepted works in Chroma, with the same results --------------------------------

GOOD_WHERE: list[Any] = [
    {"lang": "en"},
    {"lang": ""},
    {"year": 2000.5},
    {"year": 2010},
    {"year": 2010.0},
    {"flag": True},
    {"flag": {"$ne": False}},
    {"score": {"$gt": 0}},
    {"score": {"$lte": -0.25}},
    {"year": {"$gte": 2010.5}},
    {"year": {"$in": [2000.5, 1999.0]}},
    {"lang": {"$nin": ["en", "de"]}},
    {"flag": {"$in": [True]}},
    {"tags": {"$contains": "x"}},
    {"tags": {"$not_contains": "y"}},
    {"nums": {"$contains": 3}},
    {"tags": "x"},
    {"missing": {"$ne": 1}},
    {"missing": {"$nin": ["a"]}},
    {"#document": {"$contains": "alpha"}},
    {"#document": {"$not_contains": "alpha"}},
    {"#document": {"$contains": ""}},
    {"lang": {"$eq": "a\x00b"}},
    {"year": {"$lt": 2**63 - 1}},
    {"year": {"$gt": -(2**63)}},
    {"score": {"$lt": 1e300}},
    {"$and": [{"year": {"$gte": 2000}}, {"year": {"$lt": 2010}}]},
    {"$or": [{"lang": "fr"}, {"$and": [{"flag": False}, {"tags": {"$contains": "z"}}]}]},
    {"$and": [{"lang": "en"}, {"lang": "de"}, {"lang": "fr"}]},
]

GOOD_WHERE_DOCUMENT: list[Any] = [
    {"$contains": "alpha"},
    {"$not_contains": "alpha"},
    {"$contains": "ünï"},
    {"$regex": "^beta"},
    {"$not_regex": "(?i)ALPHA"},
    {"$regex": r"\p{L}+ü"},
    {"$and": [{"$contains": "alpha"}, {"$not_contains": "beta"}]},
    {"$or": [{"$regex": "a.c"}, {"$and": [{"$contains": "gamma"}, {"$contains": "delta"}]}]},
]


@pytest.mark.parametrize("where", GOOD_WHERE)
def test_good_where_selects_what_chroma_selects(seeded: Any, where: Any) -> None:
    normalised = validate_where(where)
    assert _ids(seeded, where=normalised) == _ids(seeded, where=where)


@pytest.mark.parametrize("where_document", GOOD_WHERE_DOCUMENT)
def test_good_where_document_selects_what_chroma_selects(seeded: Any, where_document: Any) -> None:
    normalised = validate_where_document(where_document)
    assert normalised == where_document
    assert _ids(seeded, where_document=normalised) == _ids(seeded, where_document=where_document)


def test_seeded_filters_are_not_trivial(seeded: Any) -> None:
    # Guard against a seed that makes the comparisons above vacuous.
    everything = _ids(seeded)
    assert len(everything) == N_RECORDS
    for where in [{"lang": "en"}, {"tags": {"$contains": "x"}}, {"year": 2000.5}]:
        assert 0 < len(_ids(seeded, where=where)) < N_RECORDS
    assert 0 < len(_ids(seeded, where_document={"$contains": "alpha"})) < N_RECORDS


# --- generated filters: float query and "resolve ids, then mask" agree -----------------------

_EDGE_SCALARS = [0, -1, 2**63 - 1, -(2**63), 0.0, -0.0, 1e300, "", "a\x00b", "ünï"]
_SMALL_INTS = st.integers(1990, 2030)
_FLOATS = st.one_of(st.floats(1990, 2030, allow_nan=False), st.floats(-1.5, 1.5, allow_nan=False))
_STRINGS = st.sampled_from(LANGS + TAGS + ["EN", "alpha"])
_SCALARS = st.one_of(
    _SMALL_INTS, _FLOATS, _STRINGS, st.booleans(), st.integers(0, 5), st.sampled_from(_EDGE_SCALARS)
)
_NUMBERS = st.one_of(_SMALL_INTS, _FLOATS, st.integers(0, 5))
_SAME_TYPE_LISTS = st.one_of(
    st.lists(_SMALL_INTS, min_size=1, max_size=4),
    st.lists(_FLOATS, min_size=1, max_size=4),
    st.lists(_STRINGS, min_size=1, max_size=4),
    st.lists(st.booleans(), min_size=1, max_size=2),
)
_FIELD = st.sampled_from(FIELDS)


def _condition(field: str, operator: str, value: Any) -> dict[str, Any]:
    return {field: {operator: value}}


_LEAVES = st.one_of(
    st.builds(lambda f, v: {f: v}, _FIELD, _SCALARS),
    st.builds(_condition, _FIELD, st.sampled_from(["$eq", "$ne"]), _SCALARS),
    st.builds(_condition, _FIELD, st.sampled_from(["$contains", "$not_contains"]), _SCALARS),
    st.builds(_condition, _FIELD, st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), _NUMBERS),
    st.builds(_condition, _FIELD, st.sampled_from(["$in", "$nin"]), _SAME_TYPE_LISTS),
    st.builds(
        _condition,
        st.just("#document"),
        st.sampled_from(["$contains", "$not_contains"]),
        st.sampled_from(WORDS),
    ),
)


def _combine(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.builds(
        lambda op, items: {op: items},
        st.sampled_from(["$and", "$or"]),
        st.lists(children, min_size=2, max_size=3),
    )


VALID_WHERE = st.recursive(_LEAVES, _combine, max_leaves=6)
VALID_WHERE_DOCUMENT = st.recursive(
    st.one_of(
        st.builds(
            lambda op, w: {op: w},
            st.sampled_from(["$contains", "$not_contains"]),
            st.sampled_from(WORDS),
        ),
        st.builds(
            lambda op, p: {op: p},
            st.sampled_from(["$regex", "$not_regex"]),
            st.sampled_from(PATTERNS),
        ),
    ),
    _combine,
    max_leaves=4,
)


@HYPOTHESIS
@given(
    where=st.one_of(st.none(), VALID_WHERE),
    where_document=st.one_of(st.none(), VALID_WHERE_DOCUMENT),
    seed=st.integers(0, 2**16),
)
def test_generated_filters_agree_in_both_paths(
    seeded: Any, where: Any, where_document: Any, seed: int
) -> None:
    norm_where = validate_where(where)
    norm_document = validate_where_document(where_document)
    allowed = _ids(seeded, where=norm_where, where_document=norm_document)
    # Same records as the unvalidated filter ...
    assert allowed == _ids(seeded, where=where, where_document=where_document)
    # ... and Chroma's float query returns exactly the records the id mask allows.
    query = np.random.default_rng(seed).normal(size=(1, DIM)).astype(np.float32)
    found = seeded.query(
        query_embeddings=query,
        n_results=N_RECORDS,
        where=norm_where,
        where_document=norm_document,
        include=[],
    )["ids"][0]
    assert set(found) == allowed


# --- fuzzing: never looser than Chroma, stricter only where documented ------------------------

_OK_SCALARS = st.one_of(
    st.integers(-3, 2030), st.floats(-2, 2030, allow_nan=False), _STRINGS, st.booleans()
)
_ODD_SCALARS = st.one_of(
    st.none(),
    st.sampled_from([2**63 - 1, 2**63, 2**64, -(2**63) - 1, -0.0, math.nan, math.inf]),
    st.sampled_from(["", "\ud800", "a\x00b", "#document"]),
)


def _mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` nine times in ten, so that generated filters are often near-valid."""
    return st.integers(0, 9).flatmap(lambda k: bad if k == 0 else good)


_ANY_SCALAR = _mostly(_OK_SCALARS, _ODD_SCALARS)
_ANY_OP = _mostly(
    st.sampled_from(METADATA_OPERATORS), st.sampled_from(["$regex", "$gtt", "$and", "year"])
)
_OPERAND = _mostly(
    st.one_of(_ANY_SCALAR, _SAME_TYPE_LISTS),
    st.one_of(st.lists(_ANY_SCALAR, max_size=3), st.dictionaries(_ANY_OP, _ANY_SCALAR, max_size=1)),
)
_ANY_KEY = _mostly(
    _FIELD, st.sampled_from(["", "#id", "#document", "chroma:document", "$gtt", "$eq", "$and"])
)
_NEAR_WHERE_LEAVES = _mostly(
    st.one_of(
        st.builds(lambda k, v: {k: v}, _ANY_KEY, _ANY_SCALAR),
        st.builds(lambda k, op, v: {k: {op: v}}, _ANY_KEY, _ANY_OP, _OPERAND),
    ),
    st.one_of(
        st.builds(lambda k, e: {k: e}, _ANY_KEY, st.dictionaries(_ANY_OP, _OPERAND, max_size=2)),
        st.dictionaries(_ANY_KEY, _ANY_SCALAR, max_size=2),
    ),
)


def _near_combine(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return _mostly(
        _combine(children),
        st.one_of(
            st.builds(
                lambda op, items: {op: items},
                st.sampled_from(["$and", "$or", "$not"]),
                st.lists(children, max_size=3),
            ),
            st.builds(lambda op, child: {op: child}, st.sampled_from(["$and", "$or"]), children),
        ),
    )


NEAR_WHERE = st.recursive(_NEAR_WHERE_LEAVES, _near_combine, max_leaves=5)
_DOC_OPERAND = _mostly(
    st.sampled_from(WORDS + PATTERNS + ["a\x00b"]),
    st.one_of(st.sampled_from(["", "(", "(?<=a)b", "\udc80"]), _ANY_SCALAR),
)
_ANY_DOC_OP = _mostly(
    st.sampled_from(DOCUMENT_OPERATORS), st.sampled_from(["$and", "$iregex", "#document", "$eq"])
)
NEAR_WHERE_DOCUMENT = st.recursive(
    _mostly(
        st.builds(lambda op, v: {op: v}, _ANY_DOC_OP, _DOC_OPERAND),
        st.dictionaries(_ANY_DOC_OP, _DOC_OPERAND, max_size=2),
    ),
    _near_combine,
    max_leaves=4,
)

# The only cases where ragkit rejects a filter that Chroma takes. Apart from integers beyond 64
# bits (which Chroma turns into floats or rejects, depending on size) and Chroma's internal
# "chroma:document" mirror of the text, each names something no record can hold, so the filter is
# constant: it matches everything ($ne, $nin) or nothing.
STRICTER_THAN_CHROMA = [
    "empty field name",
    "metadata keys cannot start with '#'",
    "keys starting with 'chroma:'",
    "outside the 64-bit range",
    "for #document; use $contains or $not_contains",
    'expected {"$contains": text} or {"$not_contains": text}',
]
# The only cases where ragkit accepts what Chroma rejects: {} (no filter) and regex syntax.
LEFT_TO_CHROMA = ["Regex syntax"]


def _check_parity(col: Any, validate: Any, name: str, raw: Any) -> None:
    chroma_error = _chroma_error(col, **{name: raw})
    try:
        normalised = validate(raw)
    except FilterError as exc:
        message = str(exc)
        assert message.startswith(name)
        if chroma_error is None:
            assert any(reason in message for reason in STRICTER_THAN_CHROMA), message
        return
    # Accepted: Chroma takes the normalised filter, and the raw one selects the same records.
    if chroma_error is not None:
        assert raw == {} or any(reason in str(chroma_error) for reason in LEFT_TO_CHROMA), (
            f"ragkit accepted {raw!r}; Chroma said {chroma_error!r}"
        )
        return
    assert _ids(col, **{name: normalised}) == _ids(col, **{name: raw})


@HYPOTHESIS
@given(where=NEAR_WHERE)
def test_fuzzed_where_matches_chroma(seeded: Any, where: Any) -> None:
    _check_parity(seeded, validate_where, "where", where)


@HYPOTHESIS
@given(where_document=NEAR_WHERE_DOCUMENT)
def test_fuzzed_where_document_matches_chroma(seeded: Any, where_document: Any) -> None:
    _check_parity(seeded, validate_where_document, "where_document", where_document)
