"""LlamaIndex ``MetadataFilters`` → the Chroma ``where`` filter ragkit's store takes.

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
Chroma equivalent: they raise :class:`ragkit.FilterError` (a ``ValueError``) naming the
operator, where :class:`~llama_index.vector_stores.chroma.ChromaVectorStore` raises a bare
``ValueError``. Text matching goes in ``where_document`` (a query keyword argument).

Usage::

    where = metadata_filters_to_where(
        MetadataFilters(filters=[MetadataFilter(key="year", value=2020, operator=">=")])
    )  # {"year": {"$gte": 2020}}
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

__all__ = ["combine_where", "metadata_filters_to_where"]

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
_HINTS = {
    FilterOperator.TEXT_MATCH: "match the node text with the query keyword "
    'where_document={"$contains": text} instead',
    FilterOperator.TEXT_MATCH_INSENSITIVE: "Chroma matches text case-sensitively; use "
    'where_document={"$regex": "(?i)text"} instead',
    FilterOperator.IS_EMPTY: "Chroma cannot test for a missing key; store an explicit "
    "value (e.g. '') and filter with == on it",
}


def metadata_filters_to_where(filters: MetadataFilters | None) -> dict[str, Any] | None:
    """The Chroma ``where`` filter equivalent to LlamaIndex ``filters``.

    Args:
        filters: LlamaIndex filters (nested ``MetadataFilters`` allowed), or None.

    Returns:
        A ``where`` dict checked against Chroma's grammar, or None for no filter (None, or
        filters with no conditions).

    Raises:
        FilterError: An operator or condition Chroma has no equivalent for, or a value
            Chroma cannot match (the message names the filter).
    """
    if filters is None:
        return None
    if not isinstance(filters, MetadataFilters):
        raise FilterError(
            f"filters: expected llama_index MetadataFilters, got {type(filters).__name__}; "
            "pass a Chroma filter dict as the query keyword where= instead"
        )
    where = _filters_clause(filters, "filters")
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


def _filters_clause(filters: MetadataFilters, path: str) -> dict[str, Any] | None:
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
            clause = _filters_clause(item, item_path)
            if clause is not None:
                clauses.append(clause)
        elif isinstance(item, MetadataFilter):
            clauses.append(_filter_clause(item, item_path))
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


def _filter_clause(item: MetadataFilter, path: str) -> dict[str, Any]:
    key, value, operator = item.key, item.value, item.operator
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
