"""JSON Lines corpora, BEIR's ``corpus.jsonl`` included: one ``{"_id", "title", "text"}`` a line."""

from __future__ import annotations

import json

from ragkit.errors import LoaderError
from ragkit.loaders._read import RawFile, decode
from ragkit.loaders.document import Document
from ragkit.loaders.text import file_metadata

__all__ = ["load_jsonl"]


def load_jsonl(raw: RawFile, doc_id: str, *, encoding: str | None = None) -> list[Document]:
    """One document per non-blank line, with id ``"<doc_id>#<_id>"``.

    Each line is a JSON object with ``_id`` (or ``id``) and ``text`` strings, and optionally
    a ``title``; other string, number and boolean fields join the metadata.

    Raises:
        LoaderError: A line is not such an object, or two lines share an id (names the file
            and the line).
        UndecodableFileError: The file is not valid UTF-8 (or ``encoding``).
    """
    text = decode(raw, encoding)
    documents: list[Document] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        record = _record(raw, number, line)
        record_id = record["_id"] if "_id" in record else record.get("id")
        if isinstance(record_id, int) and not isinstance(record_id, bool):
            record_id = str(record_id)
        body, title = record.get("text"), record.get("title")
        if not isinstance(record_id, str) or not isinstance(body, str):
            raise _error(raw, number, 'needs string "_id" (or "id") and "text" fields')
        if title is not None and not isinstance(title, str):
            raise _error(raw, number, '"title" must be a string')
        if record_id in seen:
            raise _error(raw, number, f"repeats the id {record_id!r} of line {seen[record_id]}")
        seen[record_id] = number
        metadata = file_metadata(raw, "jsonl")
        for key, value in record.items():
            if key not in ("_id", "id", "text", "title") and isinstance(value, (str, int, float)):
                metadata.setdefault(key, value)
        metadata.update(record_id=record_id, line=number)
        documents.append(Document(f"{doc_id}#{record_id}", body, title or None, metadata))
    return documents


def _record(raw: RawFile, number: int, line: str) -> dict[str, object]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise _error(raw, number, f"is not valid JSON ({exc.msg})") from exc
    if not isinstance(record, dict):
        raise _error(raw, number, f"is a JSON {type(record).__name__}, not an object")
    return record


def _error(raw: RawFile, number: int, problem: str) -> LoaderError:
    return LoaderError(
        f"{raw.path}, line {number}: the line {problem}. Each line must be one JSON object "
        'such as {"_id": "1", "title": "...", "text": "..."}.',
        path=str(raw.path),
    )
