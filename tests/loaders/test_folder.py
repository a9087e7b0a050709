from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ragkit import (
    ConfigError,
    FolderLoader,
    LoaderError,
    RecursiveChunker,
    UndecodableFileError,
)
from tests.loaders.pdf_builder import build_pdf
from tests.tiny_models import build_tokenizer_json


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    files: dict[str, bytes] = {
        "b.txt": b"the cat",
        "a.md": b"# Title\n\nthe dog",
        "sub/c.html": b"<p>the claim</p>",
        "sub/deeper/d.pdf": build_pdf(["the vector"]),
        "sub/corpus.jsonl": b'{"_id": "1", "text": "one"}\n{"_id": "2", "text": "two"}',
        "sub/bad.txt": "caf\u00e9".encode("cp1252"),
        "sub/broken.jsonl": b"{oops",
        "notes.docx": b"PK",
        ".hidden.txt": b"secret",
        ".git/config.txt": b"secret",
    }
    for name, data in files.items():
        path = tmp_path / "root" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return tmp_path / "root"


def test_walks_sorted_skips_bad_files_and_reports_them(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    loader = FolderLoader(folder)
    with caplog.at_level(logging.WARNING, logger="ragkit.loaders.folder"):
        docs = loader.load()
    assert [d.id for d in docs] == [
        "a.md",
        "b.txt",
        "sub/c.html",
        "sub/corpus.jsonl#1",
        "sub/corpus.jsonl#2",
        "sub/deeper/d.pdf",
    ]
    assert [d.text for d in docs] == [
        "# Title\n\nthe dog",
        "the cat",
        "the claim",
        "one",
        "two",
        "the vector",
    ]
    assert [(f.path.name, type(f.error)) for f in loader.failures] == [
        ("bad.txt", UndecodableFileError),
        ("broken.jsonl", LoaderError),
    ]
    assert "bad.txt" in caplog.text and "broken.jsonl" in caplog.text


def test_raise_on_error_stops_at_the_first_bad_file(folder: Path) -> None:
    with pytest.raises(UndecodableFileError, match=r"bad\.txt"):
        FolderLoader(folder, raise_on_error=True).load()


def test_options_filter_what_is_walked(folder: Path) -> None:
    assert [d.id for d in FolderLoader(folder, suffixes=["md", ".TXT"]).load()] == ["a.md", "b.txt"]
    assert [d.id for d in FolderLoader(folder, recursive=False).load()] == ["a.md", "b.txt"]
    hidden = FolderLoader(folder, include_hidden=True, suffixes=[".txt"]).load()
    assert [d.id for d in hidden] == [".hidden.txt", "b.txt", ".git/config.txt"]
    assert [d.id for d in FolderLoader(folder / "b.txt").load()] == ["b.txt"]


def test_bad_options_raise_config_errors(folder: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        FolderLoader(folder / "nope")
    with pytest.raises(ConfigError, match=r"No loader for \.docx"):
        FolderLoader(folder, suffixes=[".docx"])


def test_loaded_documents_chunk_with_ids_and_titles(folder: Path, tmp_path: Path) -> None:
    build_tokenizer_json(tmp_path / "tokenizer.json")
    from tokenizers import Tokenizer

    chunker = RecursiveChunker(
        Tokenizer.from_file(str(tmp_path / "tokenizer.json")), max_tokens=16, header="title"
    )
    loader = FolderLoader(folder, suffixes=[".md", ".txt"])
    chunks = list(chunker.chunk_documents(loader))
    assert [(c.source_id, c.embed_text) for c in chunks] == [
        ("a.md", "Title\n\n# Title\n\nthe dog"),
        ("b.txt", "b\n\nthe cat"),
    ]
