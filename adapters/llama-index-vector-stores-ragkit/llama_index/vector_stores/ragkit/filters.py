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

from typing import Any

from llama_index.core.vector_stores.types import MetadataFilters
from llama_index.retrievers.ragkit.filters import combine_where
from llama_index.retrievers.ragkit.filters import (
    metadata_filters_to_where as _metadata_filters_to_where,
)

__all__ = ["combine_where", "metadata_filters_to_where"]


def metadata_filters_to_where(filters: MetadataFilters | None) -> dict[str, Any] | None:
    """The Chroma ``where`` filter equivalent to LlamaIndex ``filters`` (every key allowed).

    The translation is the retriever adapter's (``llama-index-retrievers-ragkit``): one
    mapping for both, so a filter means the same through either.

    Raises:
        FilterError: An operator or condition Chroma has no equivalent for, or a value
            Chroma cannot match (the message names the filter).
    """
    return _metadata_filters_to_where(filters, unfilterable={})
