"""LlamaIndex ``MetadataFilters`` → the Chroma ``where`` filter ragkit's store takes.

The mapping (operators, conditions, what raises :class:`ragkit.FilterError`) is
:mod:`llama_index.retrievers.ragkit.filters`'s, shared so a filter means the same through the
retriever and the vector store; here no key is refused as unfilterable.

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
