"""Plain text and Markdown files: the text as it is, so chunk offsets point into the file."""

from __future__ import annotations

from ragkit.chunking.markdown import markdown_headings
from ragkit.loaders._read import RawFile, decode
from ragkit.loaders.document import Document

__all__ = ["load_markdown", "load_text"]


def file_metadata(raw: RawFile, fmt: str) -> dict[str, str | int | float | bool]:
    """The metadata every file's documents carry."""
    return {"path": str(raw.path), "sha256": raw.sha256, "mtime": raw.mtime, "format": fmt}


def load_text(raw: RawFile, doc_id: str, *, encoding: str | None = None) -> list[Document]:
    """A ``.txt`` file as one document titled with the file name's stem."""
    text = decode(raw, encoding)
    return [Document(doc_id, text, raw.path.stem, file_metadata(raw, "txt"))]


def load_markdown(raw: RawFile, doc_id: str, *, encoding: str | None = None) -> list[Document]:
    """A Markdown file as one document, titled with its first level-1 heading (else the stem)."""
    text = decode(raw, encoding)
    title = next((h.title for h in markdown_headings(text) if h.level == 1 and h.title), None)
    return [Document(doc_id, text, title or raw.path.stem, file_metadata(raw, "md"))]
