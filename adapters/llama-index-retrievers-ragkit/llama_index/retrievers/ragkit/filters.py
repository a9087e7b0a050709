"""LlamaIndex ``MetadataFilters`` → a Chroma ``where`` filter, as ragkit's store takes it.

==========================  ======================================================
LlamaIndex                  Chroma ``where``
==========================  ======================================================
``EQ NE GT GTE LT LTE``     ``$eq $ne $gt $gte $lt $lte``
``IN NIN``                  ``$in $nin`` (a list of values)
``CONTAINS``                ``$contains`` (list-valued metadata holds the value)
``ANY`` / ``ALL``           ``$or`` / ``$and`` of one ``$contains`` per value
``AND`` / ``OR``            ``$and`` / ``$or`` (nested ``MetadataFilters`` too)
==========================  ======================================================

``TEXT_MATCH``, ``TEXT_MATCH_INSENSITIVE``, ``IS_EMPTY`` and the ``NOT`` condition have no
Chroma equivalent and raise :class:`ragkit.FilterError` (a ``ValueError``), as do the node keys
that are not stored as filterable metadata (``heading_path``, ``scores``).

Usage::

    where = metadata_filters_to_where(
        MetadataFilters(filters=[MetadataFilter(key="format", value="md")])
    )  # {"format": {"$eq": "md"}}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
)

from ragkit.errors import FilterError
from ragkit.store.filters import validate_where

__all__ = ["PASSAGE_UNFILTERABLE_KEYS", "combine_where", "metadata_filters_to_where"]

_OPERATORS = {
    FilterOperator.EQ: "$eq",
    FilterOperator.NE: "$ne",
    FilterOperator.GT: "$gt",
    FilterOperator.GTE: "$gte",
    FilterOperator.LT: "$lt",
    FilterOperator.LTE: "$lte",
    FilterOperator.IN: "$in",
    FilterOperator.NIN: "$nin",
    FilterOperator.CONTAINS: "$contains",
}
_ARRAY_OPERATORS = {FilterOperator.ANY: "$or", FilterOperator.ALL: "$and"}
_CONDITIONS = {FilterCondition.AND: "$and", FilterCondition.OR: "$or"}
PASSAGE_UNFILTERABLE_KEYS: Mapping[str, str] = {
    "heading_path": "the heading path is stored as JSON text (metadata key 'headings'); "
    "filter on 'source' or 'title' instead, or pass where_document=",
    "scores": "scores are computed at query time, not stored; use the retriever's min_score",
}
"""Passage fields of :class:`RagkitRetriever`'s nodes that are not stored as filterable metadata."""
_HINTS = {
    FilterOperator.TEXT_MATCH: "match the node text with the query keyword "
    'where_document={"$contains": text} instead',
    FilterOperator.TEXT_MATCH_INSENSITIVE: "Chroma matches text case-sensitively; use "
    'where_document={"$regex": "(?i)text"} instead',
    FilterOperator.IS_EMPTY: "Chroma cannot test for a missing key; store an explicit "
    "value (e.g. '') and filter with == on it",
}


def metadata_filters_to_where(
    filters: MetadataFilters | None,
    *,
    unfilterable: Mapping[str, str] = PASSAGE_UNFILTERABLE_KEYS,
) -> dict[str, Any] | None:
    """The Chroma ``where`` filter equivalent to LlamaIndex ``filters``.

    Args:
        filters: LlamaIndex filters (nested ``MetadataFilters`` allowed), or None.
        unfilterable: Keys that cannot be filtered on, each with the reason and what to do
            instead (default: the passage fields that are not stored metadata; the vector
            store passes none).

    Returns:
        A ``where`` dict checked against Chroma's grammar, or None for no filter (None, or
        filters with no conditions).

    Raises:
        FilterError: An operator or condition Chroma has no equivalent for, a key in
            ``unfilterable``, or a value Chroma cannot match (the message names the filter).
    """
    if filters is None:
        return None
    if not isinstance(filters, MetadataFilters):
        raise FilterError(
            f"filters: expected llama_index MetadataFilters, got {type(filters).__name__}; "
            "pass a Chroma filter dict as the query keyword where= instead"
        )
    where = _filters_clause(filters, "filters", unfilterable)
    if where is None:
        return None
    try:
        return validate_where(where)
    except FilterError as error:
        raise FilterError(f"{error} (translated from LlamaIndex filters: {where!r})") from None


def combine_where(*wheres: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """One ``where`` filter matching all the given ones (None and ``{}`` ignored).

    Raises:
        FilterError: One of them is malformed.
    """
    clauses = [clause for clause in (validate_where(w) for w in wheres) if clause is not None]
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _filters_clause(
    filters: MetadataFilters, path: str, unfilterable: Mapping[str, str]
) -> dict[str, Any] | None:
    condition = filters.condition or FilterCondition.AND
    if condition not in _CONDITIONS:
        raise FilterError(
            f"{path}: condition {_name(condition)!r} has no Chroma equivalent; use 'and' or "
            "'or', and negate the filters themselves (!= for ==, nin for in)"
        )
    clauses: list[dict[str, Any]] = []
    for index, item in enumerate(filters.filters):
        item_path = f"{path}.filters[{index}]"
        if isinstance(item, MetadataFilters):
            clause = _filters_clause(item, item_path, unfilterable)
            if clause is not None:
                clauses.append(clause)
        elif isinstance(item, MetadataFilter):
            clauses.append(_filter_clause(item, item_path, unfilterable))
        else:
            raise FilterError(
                f"{item_path}: expected MetadataFilter or MetadataFilters, got "
                f"{type(item).__name__}"
            )
    if not clauses:
        return None
    if len(clauses) == 1:
        return clauses[0]
    return {_CONDITIONS[condition]: clauses}


def _filter_clause(
    item: MetadataFilter, path: str, unfilterable: Mapping[str, str]
) -> dict[str, Any]:
    key, value, operator = item.key, item.value, item.operator
    if key in unfilterable:
        raise FilterError(f"{path}: cannot filter on {key!r}: {unfilterable[key]}")
    if operator in _OPERATORS:
        return {key: {_OPERATORS[operator]: value}}
    if operator in _ARRAY_OPERATORS:
        if not isinstance(value, list) or not value:
            raise FilterError(
                f"{path}: operator {operator.name} ({_name(operator)!r}) needs a non-empty "
                f"list of values, got {value!r}"
            )
        clauses = [{key: {"$contains": one}} for one in value]
        return clauses[0] if len(clauses) == 1 else {_ARRAY_OPERATORS[operator]: clauses}
    supported = ", ".join(o.name for o in [*_OPERATORS, *_ARRAY_OPERATORS])
    hint = _HINTS.get(operator, "")
    raise FilterError(
        f"{path}: operator {operator.name} ({_name(operator)!r}) on {key!r} has no Chroma "
        f"equivalent{'; ' + hint if hint else ''}; supported: {supported}"
    )


def _name(value: FilterOperator | FilterCondition) -> str:
    return str(value.value)
