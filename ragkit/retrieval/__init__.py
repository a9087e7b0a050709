"""Retrieval over an indexed store: the composable query pipeline and the passages it returns.

:class:`Retriever` embeds the query with its prompt (through the store), finds candidates
(dense, or hybrid with BM25), and runs the optional stages: relevance filter, rerank, score
filter and MMR. It returns :class:`Passage` objects with the chunk's scores (one per stage),
text, source and exact offsets. With ``expand=N`` each passage also carries its neighbours
(N chunks either side, same document) joined into one context, and with ``section=True`` the
whole section it belongs to (every chunk of its document under the same heading path), for an
LLM that needs more than the matching chunk.

Usage::

    retriever = Retriever(store, k=5, expand=1)
    for passage in retriever.retrieve("how do binary codes save memory?"):
        print(passage.score, passage.source, passage.start, passage.end, passage.context)
"""

from __future__ import annotations

from ragkit.retrieval.passage import Passage, Reranker
from ragkit.retrieval.retriever import Retriever

__all__ = ["Passage", "Reranker", "Retriever"]
