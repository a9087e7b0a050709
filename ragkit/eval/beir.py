"""Load a retrieval data set in the BEIR folder layout (corpus, queries, qrels)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragkit.errors import DatasetError

__all__ = ["BeirDataset", "load_beir"]

logger = logging.getLogger(__name__)

_QRELS_HEADER = ["query-id", "corpus-id", "score"]


@dataclass(frozen=True, repr=False)
class BeirDataset:
    """A BEIR data set split, ready to embed and score.

    Attributes:
        corpus_ids: Document ids, in file order.
        corpus_texts: Document texts, ``(title + " " + text).strip()`` as BEIR and MTEB build them.
        query_ids: Ids of the queries judged in the split, in file order.
        query_texts: Their texts.
        qrels: Query id -> corpus id -> relevance grade, for the queries in ``query_ids``.
    """

    corpus_ids: list[str]
    corpus_texts: list[str]
    query_ids: list[str]
    query_texts: list[str]
    qrels: dict[str, dict[str, int]]

    def __repr__(self) -> str:
        judgements = sum(len(docs) for docs in self.qrels.values())
        return (
            f"BeirDataset(docs={len(self.corpus_ids)}, queries={len(self.query_ids)}, "
            f"judgements={judgements})"
        )


def load_beir(folder: Path, split: str = "test") -> BeirDataset:
    """Read ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/<split>.tsv`` from a BEIR folder.

    The JSONL files are streamed line by line; a UTF-8 BOM and blank lines are accepted.
    Ids stay strings, even when they look like numbers. Judgements naming a query that is
    not in ``queries.jsonl`` are dropped, and judgements naming an unknown document are
    kept (it counts as relevant but can never be retrieved, as in BEIR); both are logged
    as warnings.

    Args:
        folder: The data set folder, e.g. an unzipped BEIR download such as ``scifact/``.
        split: Which ``qrels/<split>.tsv`` to read: ``"test"``, ``"dev"`` or ``"train"``.

    Returns:
        The corpus, the judged queries and their relevance grades.

    Raises:
        DatasetError: If a file is missing, or a line is malformed (the message names the
            file and the line number).

    Example:
        >>> load_beir(Path("scifact"))  # doctest: +SKIP
        BeirDataset(docs=5183, queries=300, judgements=339)
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder} is not a folder. {_layout(folder, split)}")
    paths = [folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels" / f"{split}.tsv"]
    for path in paths:
        if not path.is_file():
            splits = sorted(tsv.stem for tsv in (folder / "qrels").glob("*.tsv"))
            found = f" (qrels splits found: {', '.join(splits)})" if splits else ""
            raise DatasetError(f"{path} not found{found}. {_layout(folder, split)}")
    corpus_path, queries_path, qrels_path = paths

    qrels = _read_qrels(qrels_path)
    corpus_ids: list[str] = []
    corpus_texts: list[str] = []
    for record in _read_records(corpus_path):
        corpus_ids.append(record["_id"])
        corpus_texts.append(f"{record['title']} {record['text']}".strip())
    if not corpus_ids:
        raise DatasetError(f"{corpus_path} holds no documents")
    query_ids: list[str] = []
    query_texts: list[str] = []
    for record in _read_records(queries_path):
        if record["_id"] in qrels:
            query_ids.append(record["_id"])
            query_texts.append(record["text"])

    unknown_queries = qrels.keys() - set(query_ids)
    if unknown_queries:
        _warn_unknown(qrels_path, unknown_queries, f"query id(s) not in {queries_path}; dropped")
        qrels = {query_id: qrels[query_id] for query_id in query_ids}
    if not qrels:
        raise DatasetError(f"no query in {queries_path} has a judgement in {qrels_path}")
    unknown_docs = {doc for docs in qrels.values() for doc in docs} - set(corpus_ids)
    if unknown_docs:
        _warn_unknown(qrels_path, unknown_docs, f"corpus id(s) not in {corpus_path}")
    logger.debug("loaded %s: %d docs, %d queries", folder, len(corpus_ids), len(query_ids))
    return BeirDataset(corpus_ids, corpus_texts, query_ids, query_texts, qrels)


def _layout(folder: Path, split: str) -> str:
    return (
        f"Expected a BEIR data set folder:\n"
        f"  {folder}/corpus.jsonl        one JSON object a line: "
        f'{{"_id": ..., "title": ..., "text": ...}}\n'
        f"  {folder}/queries.jsonl       one JSON object a line: "
        f'{{"_id": ..., "text": ...}}\n'
        f"  {folder}/qrels/{split}.tsv   header 'query-id<TAB>corpus-id<TAB>score', "
        f"then one judgement a line"
    )


def _read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line number, line)`` for each non-blank line, without BOM or line ending."""
    with path.open("rb") as file:
        for lineno, raw in enumerate(file, 1):
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8").strip()
            except UnicodeDecodeError as error:
                raise DatasetError(f"{path}:{lineno}: not valid UTF-8 ({error.reason})") from None
            if line:
                yield lineno, line


def _read_records(path: Path) -> Iterator[dict[str, str]]:
    """Yield each JSONL record as ``{"_id", "title", "text"}`` strings; ids must be unique."""
    seen: dict[str, int] = {}
    for lineno, line in _read_lines(path):
        try:
            record: Any = json.loads(line)
        except json.JSONDecodeError as error:
            raise DatasetError(f"{path}:{lineno}: invalid JSON ({error.msg})") from None
        if not isinstance(record, dict):
            raise DatasetError(f"{path}:{lineno}: expected a JSON object, got {line[:40]!r}")
        doc_id = record.get("_id")
        if isinstance(doc_id, int) and not isinstance(doc_id, bool):
            doc_id = str(doc_id)
        if not isinstance(doc_id, str) or not doc_id:
            raise DatasetError(f'{path}:{lineno}: missing "_id" (a non-empty string)')
        if doc_id in seen:
            raise DatasetError(f"{path}:{lineno}: _id {doc_id!r} repeats line {seen[doc_id]}")
        seen[doc_id] = lineno
        fields = {"_id": doc_id}
        for key in ("title", "text"):
            value = record.get(key)
            if value is not None and not isinstance(value, str):
                raise DatasetError(f'{path}:{lineno}: "{key}" must be a string')
            fields[key] = value or ""
        yield fields


def _read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """Read a BEIR qrels TSV: an optional ``query-id corpus-id score`` header, then judgements."""
    qrels: dict[str, dict[str, int]] = {}
    for lineno, line in _read_lines(path):
        columns = [column.strip() for column in line.split("\t")]
        if not qrels and columns == _QRELS_HEADER:
            continue
        if len(columns) != 3:
            raise DatasetError(
                f"{path}:{lineno}: expected 3 tab-separated columns "
                f"(query-id, corpus-id, score), got {len(columns)}"
            )
        query_id, doc_id, score = columns
        if not query_id or not doc_id:
            raise DatasetError(f"{path}:{lineno}: empty query-id or corpus-id")
        try:
            grade = int(score)
        except ValueError:
            raise DatasetError(f"{path}:{lineno}: score {score!r} is not an integer") from None
        qrels.setdefault(query_id, {})[doc_id] = grade
    if not qrels:
        raise DatasetError(f"{path} holds no judgements")
    return qrels


def _warn_unknown(qrels_path: Path, ids: set[str], what: str) -> None:
    examples = ", ".join(repr(item) for item in sorted(ids)[:5])
    logger.warning("%s names %d %s (e.g. %s)", qrels_path, len(ids), what, examples)
