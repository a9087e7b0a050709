"""Check Chroma ``where`` / ``where_document`` filters up front and return normalised copies.

ragkit applies one filter in two places: Chroma's own float query, and the binary index, which
resolves the allowed ids with ``collection.get(where=..., where_document=...)``. Both paths go
through Chroma, so the grammar here is Chroma's (as of chromadb 1.5), checked in full before
anything runs, with errors that name the offending path::

    where["$and"][1]["year"]: unknown operator '$gtt'; use one of $eq $ne $gt ...

The returned copy expands the shorthand ``{"field": value}`` to ``{"field": {"$eq": value}}``,
turns numpy scalars into Python ones and treats an empty filter (``{}``) as no filter.

Usage::

    where = validate_where({"$and": [{"year": {"$gte": 2020}}, {"lang": "en"}]})
    where_document = validate_where_document({"$contains": "retrieval"})
    collection.query(query_embeddings=q, where=where, where_document=where_document)
"""

from __future__ import annotations

import json
import math
import reprlib
from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

import numpy as np

from ragkit.errors import FilterError

__all__ = [
    "DOCUMENT_OPERATORS",
    "LOGICAL_OPERATORS",
    "METADATA_OPERATORS",
    "validate_where",
    "validate_where_document",
]

Scalar: TypeAlias = "str | int | float | bool"
"""A value Chroma can store in metadata and match in a filter."""

LOGICAL_OPERATORS = ("$and", "$or")
"""Combine a list of at least two filters (in ``where`` and in ``where_document``)."""

METADATA_OPERATORS = (
    "$eq",
    "$ne",
    "$gt",
    "$gte",
    "$lt",
    "$lte",
    "$in",
    "$nin",
    "$contains",
    "$not_contains",
)
"""Operators of a ``where`` field condition; ``$contains`` tests list-valued metadata."""

DOCUMENT_OPERATORS = ("$contains", "$not_contains", "$regex", "$not_regex")
"""Operators of a ``where_document`` condition (``$regex`` uses Rust regex syntax)."""

DOCUMENT_KEY = "#document"
"""The one ``#`` key a ``where`` filter may use: ``{"#document": {"$contains": text}}``."""

_COMPARISONS = ("$gt", "$gte", "$lt", "$lte")
_SET_OPERATORS = ("$in", "$nin")
_DOCUMENT_FIELD_OPERATORS = ("$contains", "$not_contains")
_INT64 = (-(2**63), 2**63 - 1)
_RESERVED_CHROMA_PREFIX = "chroma:"

_repr = reprlib.Repr()
_repr.maxstring = 60
_repr.maxother = 60
_repr.maxlist = 6
_repr.maxdict = 4


class _Invalid(Exception):
    """A value is not a Chroma scalar; the message says why and the caller adds the path."""


def validate_where(where: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Check a metadata filter against Chroma's grammar and return a normalised copy.

    Grammar: ``{"$and" | "$or": [filter, filter, ...]}`` (two or more) or ``{field: condition}``,
    exactly one key per dict. A condition is a scalar (``$eq`` shorthand) or
    ``{operator: operand}`` with exactly one operator: ``$eq``/``$ne`` take a str, int, float or
    bool; ``$gt``/``$gte``/``$lt``/``$lte`` a number (not a bool); ``$in``/``$nin`` a non-empty
    list of scalars of one type; ``$contains``/``$not_contains`` (list-valued metadata) a scalar.
    ``{"#document": {"$contains" | "$not_contains": text}}`` matches document text.

    Args:
        where: The filter, or None (no filter). ``{}`` also means no filter.

    Returns:
        A new dict with every shorthand expanded to ``{"$eq": value}``, or None.

    Raises:
        FilterError: The filter is malformed; the message names the offending path.
    """
    if where is None:
        return None
    if not isinstance(where, Mapping):
        raise FilterError(f"where: expected a dict, got {_describe(where)}")
    if not where:
        return None
    return _where_clause(where, "where")


def validate_where_document(where_document: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Check a document filter against Chroma's grammar and return a normalised copy.

    Grammar: ``{"$and" | "$or": [filter, filter, ...]}`` (two or more) or ``{operator: text}``
    with one of ``$contains``, ``$not_contains``, ``$regex``, ``$not_regex`` and a non-empty
    string, exactly one key per dict. Regex syntax is Rust's ``regex`` crate (no look-around);
    Chroma itself reports a pattern that does not compile, when the query runs.

    Args:
        where_document: The filter, or None (no filter). ``{}`` also means no filter.

    Returns:
        A new dict, or None.

    Raises:
        FilterError: The filter is malformed; the message names the offending path.
    """
    if where_document is None:
        return None
    if not isinstance(where_document, Mapping):
        raise FilterError(f"where_document: expected a dict, got {_describe(where_document)}")
    if not where_document:
        return None
    return _document_clause(where_document, "where_document")


# --- where ------------------------------------------------------------------------------------


def _where_clause(node: object, path: str) -> dict[str, Any]:
    key, value = _single_entry(node, path, example='{"field": value} or {"$and": [...]}')
    sub = _key_path(path, key)
    if key in LOGICAL_OPERATORS:
        return {key: _clauses(value, sub, _where_clause)}
    _check_field_name(key, path)
    if key == DOCUMENT_KEY:
        return {key: _document_field(value, sub)}
    return {key: _field_condition(value, sub)}


def _check_field_name(key: str, path: str) -> None:
    if key.startswith("$"):
        raise FilterError(
            f"{path}: unknown logical operator {key!r}; use $and or $or here "
            f'(comparisons go inside a field: {{"year": {{"$gte": 2020}}}})'
        )
    if not key:
        raise FilterError(f"{path}: empty field name")
    _utf8_or_raise(key, _key_path(path, key))
    if key.startswith("#") and key != DOCUMENT_KEY:
        raise FilterError(
            f"{_key_path(path, key)}: metadata keys cannot start with '#'; "
            f'the only special key is "{DOCUMENT_KEY}"'
        )
    if key.startswith(_RESERVED_CHROMA_PREFIX):
        raise FilterError(
            f"{_key_path(path, key)}: keys starting with 'chroma:' are Chroma's own; "
            "filter document text with where_document or "
            f'{{"{DOCUMENT_KEY}": {{"$contains": text}}}}'
        )


def _field_condition(value: object, path: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        return {"$eq": _match_value(value, path)}
    operator, operand = _single_operator(value, path)
    sub = _key_path(path, operator)
    if operator in _COMPARISONS:
        return {operator: _number(operand, operator, sub)}
    if operator in _SET_OPERATORS:
        return {operator: _value_list(operand, sub)}
    return {operator: _match_value(operand, sub)}


def _single_operator(expression: Mapping[Any, Any], path: str) -> tuple[str, object]:
    if len(expression) != 1:
        if not expression:
            raise FilterError(f'{path}: empty operator expression; use e.g. {{"$eq": value}}')
        raise FilterError(
            f"{path}: expected exactly one operator, got {len(expression)} "
            f"({', '.join(map(str, expression))}); write a range as "
            '{"$and": [{"year": {"$gte": 2000}}, {"year": {"$lt": 2010}}]}'
        )
    ((operator, operand),) = expression.items()
    if operator not in METADATA_OPERATORS:
        raise FilterError(
            f"{path}: unknown operator {operator!r}; use one of {' '.join(METADATA_OPERATORS)}"
        )
    return str(operator), operand


def _number(value: object, operator: str, path: str) -> int | float:
    number = _match_value(value, path)
    if isinstance(number, bool) or not isinstance(number, (int, float)):
        raise FilterError(f"{path}: {operator} compares numbers, got {_describe(value)}")
    return number


def _value_list(value: object, path: str) -> list[Scalar]:
    if not isinstance(value, list):
        hint = f"; wrap a single value in a list: [{_repr.repr(value)}]"
        raise FilterError(f"{path}: expected a list of values, got {_describe(value)}{hint}")
    if not value:
        raise FilterError(f"{path}: empty list; Chroma needs at least one value")
    values = [_match_value(item, f"{path}[{i}]") for i, item in enumerate(value)]
    _check_one_type(values, path, FilterError)
    return values


def _match_value(value: object, path: str) -> Scalar:
    try:
        return _scalar(value)
    except _Invalid as exc:
        raise FilterError(f"{path}: {exc}{_filter_hint(value)}") from None


def _filter_hint(value: object) -> str:
    if value is None:
        return "; Chroma stores no None metadata, so None never matches"
    if isinstance(value, (list, tuple)):
        return '; to match any of several values use {"$in": [...]}'
    if isinstance(value, Mapping):
        return '; operators go one level up: {"field": {"$gt": 1}}'
    return ""


def _document_field(value: object, path: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or len(value) != 1:
        raise FilterError(
            f'{path}: expected {{"$contains": text}} or {{"$not_contains": text}}, '
            f"got {_describe(value)}"
        )
    ((operator, operand),) = value.items()
    if operator not in _DOCUMENT_FIELD_OPERATORS:
        raise FilterError(
            f"{path}: unknown operator {operator!r} for {DOCUMENT_KEY}; use $contains or "
            "$not_contains (or where_document for $regex)"
        )
    return {operator: _text(operand, _key_path(path, operator), allow_empty=True)}


# --- where_document ---------------------------------------------------------------------------


def _document_clause(node: object, path: str) -> dict[str, Any]:
    key, value = _single_entry(node, path, example='{"$contains": "text"} or {"$and": [...]}')
    sub = _key_path(path, key)
    if key in LOGICAL_OPERATORS:
        return {key: _clauses(value, sub, _document_clause)}
    if key not in DOCUMENT_OPERATORS:
        operators = " ".join(DOCUMENT_OPERATORS + LOGICAL_OPERATORS)
        raise FilterError(f"{path}: unknown operator {key!r}; use one of {operators}")
    return {key: _text(value, sub, allow_empty=False)}


def _text(value: object, path: str, *, allow_empty: bool) -> str:
    if not isinstance(value, str):
        raise FilterError(f"{path}: expected a string, got {_describe(value)}")
    if not value and not allow_empty:
        raise FilterError(f"{path}: empty string; Chroma needs at least one character")
    _utf8_or_raise(value, path)
    return str(value)


def _utf8_or_raise(text: str, path: str) -> None:
    try:
        _check_utf8(text)
    except _Invalid as exc:
        raise FilterError(f"{path}: {exc}") from None


# --- shared -----------------------------------------------------------------------------------


def _single_entry(node: object, path: str, *, example: str) -> tuple[str, object]:
    if not isinstance(node, Mapping):
        raise FilterError(f"{path}: expected a dict such as {example}, got {_describe(node)}")
    if len(node) != 1:
        if not node:
            raise FilterError(f"{path}: empty filter; expected a dict such as {example}")
        keys = ", ".join(map(str, node))
        raise FilterError(
            f"{path}: expected exactly one key, got {len(node)} ({keys}); "
            'combine conditions with {"$and": [{...}, {...}]}'
        )
    ((key, value),) = node.items()
    if not isinstance(key, str):
        raise FilterError(f"{path}: keys must be strings, got {_describe(key)}")
    return str(key), value


def _clauses(
    value: object, path: str, validate: Callable[[object, str], dict[str, Any]]
) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise FilterError(f"{path}: expected a list of filters, got {_describe(value)}")
    if len(value) < 2:
        raise FilterError(
            f"{path}: needs at least 2 filters, got {len(value)}; "
            "use a single filter on its own, without $and/$or"
        )
    return [validate(item, f"{path}[{i}]") for i, item in enumerate(value)]


def _scalar(value: object) -> Scalar:
    """Return ``value`` as a plain str/int/float/bool, or raise ``_Invalid`` saying why."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        number = int(value)
        if not _INT64[0] <= number <= _INT64[1]:
            raise _Invalid(
                f"integer {number} is outside the 64-bit range Chroma stores; "
                "pass it as a float or a string"
            )
        return number
    if isinstance(value, (float, np.floating)):
        real = float(value)
        if not math.isfinite(real):
            raise _Invalid(f"{real} is not a finite number; Chroma cannot store or match it")
        return real
    if isinstance(value, str):
        _check_utf8(value)
        return str(value)
    raise _Invalid(f"expected a str, int, float or bool, got {_describe(value)}")


def _check_utf8(text: str) -> None:
    """Raise ``_Invalid`` if ``text`` cannot be encoded as UTF-8 (a lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _Invalid(
            f"string holds a lone surrogate at position {exc.start} ({_repr.repr(text)}); "
            "Chroma needs valid UTF-8 text"
        ) from None


def _check_one_type(values: list[Scalar], path: str, error: type[Exception]) -> None:
    """Raise ``error`` unless all values share one type (bool, int, float and str differ)."""
    first = type(values[0])
    for i, item in enumerate(values):
        if type(item) is not first:
            numbers = {first, type(item)} == {int, float}
            hint = "; write every number as a float (1.0)" if numbers else ""
            raise error(
                f"{path}[{i}]: all values must have one type, but {path}[0] is "
                f"{first.__name__} and this is {type(item).__name__}{hint}"
            )


def _key_path(path: str, key: object) -> str:
    if not isinstance(key, str):
        return f"{path}[{key!r}]"
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: show it escaped
        return f"{path}[{json.dumps(key)}]"
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def _describe(value: object) -> str:
    if value is None:
        return "None"
    return f"{type(value).__name__} {_repr.repr(value)}"
