from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from ragkit.errors import DatasetError
from ragkit.eval import BeirDataset, load_beir

CORPUS = [
    {"_id": "007", "title": "Title A", "text": "Text A."},
    {"_id": "12", "title": "", "text": "  Text B."},
    {"_id": "d3", "text": "No title."},
    {"_id": "d4", "title": "Only title", "text": ""},
]
QUERIES = [
    {"_id": "2", "text": "unjudged query"},
    {"_id": "10", "text": "second judged"},
    {"_id": "1", "text": "first judged"},
]
QRELS = "query-id\tcorpus-id\tscore\n1\t007\t1\n1\t12\t2\n10\td3\t0\n"


def _jsonl(records: Sequence[Mapping[str, object]]) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


def _write(
    folder: Path,
    corpus: str | None = None,
    queries: str | None = None,
    qrels: str | None = None,
    split: str = "test",
) -> Path:
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    (folder / "corpus.jsonl").write_text(_jsonl(CORPUS) if corpus is None else corpus, "utf-8")
    (folder / "queries.jsonl").write_text(_jsonl(QUERIES) if queries is None else queries, "utf-8")
    (folder / "qrels" / f"{split}.tsv").write_text(QRELS if qrels is None else qrels, "utf-8")
    return folder


def test_happy_path(tmp_path: Path) -> None:
    data = load_beir(_write(tmp_path))
    assert data.corpus_ids == ["007", "12", "d3", "d4"]
    # (title + " " + text).strip(), as BEIR/MTEB join them
    assert data.corpus_texts == ["Title A Text A.", "Text B.", "No title.", "Only title"]
    # only judged queries, in file order; numeric-looking ids stay strings
    assert data.query_ids == ["10", "1"]
    assert data.query_texts == ["second judged", "first judged"]
    assert data.qrels == {"1": {"007": 1, "12": 2}, "10": {"d3": 0}}
    assert repr(data) == "BeirDataset(docs=4, queries=2, judgements=3)"
    with pytest.raises(AttributeError):
        data.corpus_ids = []  # type: ignore[misc]


def test_bom_blank_lines_crlf_and_other_split(tmp_path: Path) -> None:
    corpus = "\ufeff" + _jsonl(CORPUS[:2]).replace("\n", "\r\n\r\n") + "\n   \n"
    qrels = "\ufeffquery-id\tcorpus-id\tscore\r\n\r\n1\t007\t1\r\n"
    data = load_beir(_write(tmp_path, corpus=corpus, qrels=qrels, split="dev"), split="dev")
    assert data.corpus_ids == ["007", "12"]
    assert data.qrels == {"1": {"007": 1}}


def test_integer_ids_and_missing_header(tmp_path: Path) -> None:
    corpus = _jsonl([{"_id": 5, "text": "five"}])
    data = load_beir(_write(tmp_path, corpus=corpus, qrels="1\t5\t1\n"))
    assert data.corpus_ids == ["5"]
    assert data.qrels == {"1": {"5": 1}}


def test_unknown_ids_warn(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    qrels = QRELS + "1\tghost\t1\nnobody\t007\t1\n"
    with caplog.at_level(logging.WARNING, logger="ragkit.eval.beir"):
        data = load_beir(_write(tmp_path, qrels=qrels))
    # unknown query dropped, unknown doc kept (it stays relevant, as in BEIR)
    assert data.qrels == {"1": {"007": 1, "12": 2, "ghost": 1}, "10": {"d3": 0}}
    messages = " ".join(record.getMessage() for record in caplog.records)
    assert "1 query id(s) not in" in messages and "'nobody'" in messages
    assert "1 corpus id(s) not in" in messages and "'ghost'" in messages


def test_missing_files_spell_out_layout(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="is not a folder") as info:
        load_beir(tmp_path / "nope")
    assert "corpus.jsonl" in str(info.value) and "qrels/test.tsv" in str(info.value)
    folder = _write(tmp_path / "data", split="train")
    with pytest.raises(DatasetError, match=r"test\.tsv not found \(qrels splits found: train\)"):
        load_beir(folder)
    (folder / "corpus.jsonl").unlink()
    with pytest.raises(DatasetError, match=r"corpus\.jsonl not found"):
        load_beir(folder, split="train")


@pytest.mark.parametrize(
    ("file", "content", "message"),
    [
        (
            "corpus.jsonl",
            '{"_id": "a", "text": "x"}\n\n{"_id": "b", "text": \n',
            r":3: invalid JSON",
        ),
        ("corpus.jsonl", '{"_id": "a"}\n{"title": "t", "text": "x"}\n', r':2: missing "_id"'),
        ("corpus.jsonl", '{"_id": "a"}\n{"_id": "a"}\n', r":2: _id 'a' repeats line 1"),
        ("corpus.jsonl", '{"_id": "a"}\n["a"]\n', r":2: expected a JSON object"),
        ("corpus.jsonl", '{"_id": "a", "text": 3}\n', r':1: "text" must be a string'),
        ("queries.jsonl", '{"_id": "1", "text": "q"}\n{"_id": ""}\n', r':2: missing "_id"'),
        ("qrels/test.tsv", "query-id\tcorpus-id\tscore\n1\t007\n", r":2: expected 3 tab-separated"),
        ("qrels/test.tsv", "1\t007\t1\t0\n", r":1: expected 3 tab-separated columns .* got 4"),
        ("qrels/test.tsv", "1\t007\t1\n1\t12\t0.5\n", r":2: score '0.5' is not an integer"),
        ("qrels/test.tsv", "1\t\t1\n", r":1: empty query-id or corpus-id"),
    ],
)
def test_malformed_lines_name_file_and_line(
    tmp_path: Path, file: str, content: str, message: str
) -> None:
    folder = _write(tmp_path)
    (folder / file).write_text(content, "utf-8")
    with pytest.raises(DatasetError, match=Path(file).name.replace(".", r"\.") + message):
        load_beir(folder)


def test_invalid_utf8_names_line(tmp_path: Path) -> None:
    folder = _write(tmp_path)
    (folder / "corpus.jsonl").write_bytes(b'{"_id": "a"}\n{"_id": "b\xff"}\n')
    with pytest.raises(DatasetError, match=r"corpus\.jsonl:2: not valid UTF-8"):
        load_beir(folder)


@pytest.mark.parametrize(
    ("corpus", "qrels", "message"),
    [
        ("\n", None, "holds no documents"),
        (None, "query-id\tcorpus-id\tscore\n", "holds no judgements"),
        (None, "nobody\t007\t1\n", "no query in .* has a judgement"),
    ],
)
def test_empty_data(tmp_path: Path, corpus: str | None, qrels: str | None, message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        load_beir(_write(tmp_path, corpus=corpus, qrels=qrels))


@pytest.mark.real_data
def test_scifact_official_counts(scifact_dir: Path) -> None:
    data = load_beir(scifact_dir)
    assert isinstance(data, BeirDataset)
    assert len(data.corpus_ids) == len(set(data.corpus_ids)) == 5183
    assert len(data.query_ids) == 300
    assert sum(len(docs) for docs in data.qrels.values()) == 339
    assert set(data.qrels) == set(data.query_ids)
