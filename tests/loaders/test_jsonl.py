from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragkit import LoaderError, UndecodableFileError, load_file

RECORDS = [
    {"_id": "4983", "title": "Microstructural development", "text": "Alterations of the..."},
    {"_id": "5836", "title": "", "text": "Myelodysplastic syndromes", "metadata": {"x": 1}},
    {"id": 7, "text": "numeric ids become strings", "year": 2020},
]


def _corpus(path: Path, lines: list[str], *, bom: bool = False) -> Path:
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + "\n".join(lines).encode())
    return path


def test_beir_corpus_lines_become_documents(tmp_path: Path) -> None:
    lines = [json.dumps(r) for r in RECORDS]
    path = _corpus(tmp_path / "corpus.jsonl", [lines[0], "", lines[1], "  ", lines[2]], bom=True)
    docs = load_file(path)
    assert [d.id for d in docs] == ["corpus.jsonl#4983", "corpus.jsonl#5836", "corpus.jsonl#7"]
    assert [d.metadata["record_id"] for d in docs] == ["4983", "5836", "7"]
    assert [d.metadata["line"] for d in docs] == [1, 3, 5]
    assert docs[0].title == "Microstructural development" and docs[1].title is None
    assert docs[0].text == "Alterations of the..."
    assert docs[2].metadata["year"] == 2020 and "metadata" not in docs[1].metadata
    assert len({d.metadata["sha256"] for d in docs}) == 1  # the file's hash


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "is a JSON list"),
        ('{"_id": "1"}', 'needs string "_id"'),
        ('{"text": "no id"}', 'needs string "_id"'),
        ('{"_id": "1", "text": "t", "title": 3}', '"title" must be a string'),
        ('{"_id": "4983", "text": "again"}', "repeats the id '4983' of line 1"),
    ],
)
def test_malformed_lines_name_the_file_and_line(tmp_path: Path, line: str, problem: str) -> None:
    path = _corpus(tmp_path / "bad.jsonl", [json.dumps(RECORDS[0]), line])
    with pytest.raises(LoaderError, match=r"bad\.jsonl, line 2") as err:
        load_file(path)
    assert problem in str(err.value)


def test_undecodable_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(b'{"_id": "1", "text": "caf\xe9"}')
    with pytest.raises(UndecodableFileError, match=r"c\.jsonl"):
        load_file(path)


@pytest.mark.real_data
def test_scifact_corpus(scifact_dir: Path) -> None:
    docs = load_file(scifact_dir / "corpus.jsonl")
    assert len(docs) == 5183
    assert all(d.id.startswith("corpus.jsonl#") and d.text for d in docs)
    assert len({d.id for d in docs}) == 5183
