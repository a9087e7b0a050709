"""Context around a passage: its neighbouring chunks, or its whole section, joined."""

from __future__ import annotations

import json
from dataclasses import replace

from ragkit.retrieval.passage import Passage, passage_from_hit
from ragkit.store.chroma import ChromaStore

__all__ = ["with_neighbours", "with_sections"]


def with_sections(store: ChromaStore, passages: list[Passage]) -> list[Passage]:
    """Each passage with every chunk of its section joined into ``context``."""
    out = []
    for p in passages:
        where = {"$and": [{"source": p.source}, {"headings": _headings(p.heading_path)}]}
        ids = store.collection.get(where=where, include=[])["ids"]
        parts = [passage_from_hit(hit) for hit in store.get(ids)]
        out.append(_joined(p, [p] + [q for q in parts if q.id != p.id]))
    return out


def with_neighbours(store: ChromaStore, passages: list[Passage], expand: int) -> list[Passage]:
    """Each passage with its neighbours' text joined into ``context``."""
    wanted = {
        _neighbour_id(p, p.position + step)
        for p in passages
        for step in range(-expand, expand + 1)
        if step and p.position + step >= 0
    }
    found = {hit.id: passage_from_hit(hit) for hit in store.get(sorted(wanted))}
    out = []
    for p in passages:
        parts = [p] + [
            found[i]
            for step in range(-expand, expand + 1)
            if step and (i := _neighbour_id(p, p.position + step)) in found
        ]
        out.append(_joined(p, [q for q in parts if q.source == p.source]))
    return out


def _headings(path: tuple[str, ...]) -> str:
    """The stored form of a heading path (:func:`ragkit.ingest.indexer.chunk_metadata`)."""
    return json.dumps(list(path), ensure_ascii=False)


def _neighbour_id(passage: Passage, position: int) -> str:
    """Chunk ids are ``<document id>#<position>`` (:mod:`ragkit.ingest.indexer`)."""
    return f"{passage.source}#{position}"


def _joined(passage: Passage, parts: list[Passage]) -> Passage:
    """The parts' texts in document order, overlaps dropped and gaps as one newline."""
    parts = sorted(parts, key=lambda q: q.start)
    text, end = parts[0].text, parts[0].end
    for q in parts[1:]:
        if q.end <= end:
            continue
        text += q.text[end - q.start :] if q.start < end else "\n" * (q.start > end) + q.text
        end = q.end
    return replace(passage, context=text, context_start=parts[0].start, context_end=end)
