"""The Document record every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias

__all__ = ["Document", "MetadataValue"]

MetadataValue: TypeAlias = "str | int | float | bool"
"""A metadata value a store (Chroma) can hold."""


@dataclass(frozen=True)
class Document:
    """One document, ready to chunk.

    Attributes:
        id: Stable id: the file's path relative to the folder loaded (``guide/intro.md``), with
            ``#`` and the record's id for a JSONL line (``corpus.jsonl#4983``).
        text: The text to chunk (for HTML and PDF, the extracted text).
        title: A title for contextual headers: the record's title, the HTML ``<title>`` or first
            ``<h1>``, the Markdown first ``#`` heading, the PDF's title, else the file name stem.
        metadata: ``path`` (the file), ``sha256`` (of the file's bytes), ``mtime`` (seconds
            since the epoch), ``format`` (``txt``, ``md``, ``html``, ``pdf``, ``jsonl``), and
            per format: ``record_id`` and ``line`` (JSONL), ``pages`` (PDF).
    """

    id: str
    text: str
    title: str | None = None
    metadata: dict[str, MetadataValue] = field(default_factory=dict)
