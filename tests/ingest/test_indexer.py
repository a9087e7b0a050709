"""Ingestion: folders to a store, incrementally, surviving interruptions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ragkit import ChromaStore, ConfigError, TextEmbedder
from ragkit.chunking import MarkdownChunker, RecursiveChunker
from ragkit.ingest import Indexer
from ragkit.retrieval import Retriever

PARAGRAPHS = [
    "binary codes keep one bit per dimension and scan fast.",
    "the store rescores candidates with float vectors from chroma.",
    "chunks never exceed the model window, prompt included.",
    "an interrupted run loses nothing that was already written.",
]


@pytest.fixture()
def embedder(tiny_model_dir: Path) -> TextEmbedder:
    return TextEmbedder(tiny_model_dir)


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    (root / "guide").mkdir(parents=True)
    (root / "notes.txt").write_text("\n\n".join(PARAGRAPHS))
    (root / "guide" / "intro.md").write_text(
        "# intro\n\nsome words about the store.\n\n## details\n\n" + PARAGRAPHS[0] + "\n"
    )
    (root / "page.html").write_text(
        "<html><head><title>a page</title></head><body><p>" + PARAGRAPHS[1] + "</p></body></html>"
    )
    lines = [{"_id": f"r{i}", "title": f"t{i}", "text": p} for i, p in enumerate(PARAGRAPHS)]
    (root / "corpus.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    (root / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))  # not UTF-8
    return root


def make_indexer(
    tmp_path: Path, embedder: TextEmbedder, name: str = "docs", **options: Any
) -> Indexer:
    store = ChromaStore(name, embedder=embedder, client=_client(tmp_path))
    return Indexer(
        store, RecursiveChunker(embedder), markdown_chunker=MarkdownChunker(embedder), **options
    )


def _client(tmp_path: Path) -> Any:
    import chromadb
    from chromadb.config import Settings

    return chromadb.PersistentClient(
        path=str(tmp_path / "chroma"), settings=Settings(anonymized_telemetry=False)
    )


def stored(indexer: Indexer) -> dict[str, dict[str, Any]]:
    found = indexer.store.collection.get(include=["documents", "metadatas"])
    return {
        i: {**m, "text": d}
        for i, d, m in zip(found["ids"], found["documents"], found["metadatas"], strict=True)
    }


def test_a_folder_indexes_with_exact_offsets_and_the_bad_file_reported(
    tmp_path: Path, embedder: TextEmbedder, corpus: Path
) -> None:
    indexer = make_indexer(tmp_path, embedder)
    report = indexer.index([corpus])
    assert report.files_seen == 5 and report.files_indexed == 4
    assert [f.path.name for f in report.failures] == ["latin1.txt"]
    records = stored(indexer)
    assert report.chunks_written == len(records) > 4
    for chunk_id, meta in records.items():
        assert chunk_id == f"{meta['source']}#{meta['position']}"
        if meta["format"] in ("txt", "md"):
            text = (corpus / meta["file"]).read_text()
            assert text[meta["start"] : meta["end"]] == meta["text"]
        assert meta["tokens"] <= embedder.max_tokens
    jsonl = {m["source"] for m in records.values() if m["file"] == "corpus.jsonl"}
    assert jsonl == {f"corpus.jsonl#r{i}" for i in range(4)}
    headings = {
        json.dumps(json.loads(m["headings"])) for m in records.values() if m["format"] == "md"
    }
    assert '["intro", "details"]' in headings


def test_a_second_run_skips_unchanged_files_without_embedding(
    tmp_path: Path, embedder: TextEmbedder, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_indexer(tmp_path, embedder).index([corpus])
    again = make_indexer(tmp_path, embedder)  # the same collection, opened afresh
    monkeypatch.setattr(embedder, "embed_documents", _forbidden)
    os.utime(corpus / "notes.txt", ns=(1, 1))  # touched: new mtime, same bytes (hashed)
    report = again.index([corpus])
    assert (report.files_indexed, report.files_unchanged, report.chunks_written) == (0, 4, 0)
    assert again.manifest.load()["notes.txt"].mtime_ns == 1  # the new mtime is remembered


def _forbidden(*args: object, **kwargs: object) -> None:
    raise AssertionError("an unchanged file was embedded again")


def test_a_changed_file_is_replaced_and_its_stale_chunks_dropped(
    tmp_path: Path, embedder: TextEmbedder, corpus: Path
) -> None:
    indexer = make_indexer(tmp_path, embedder)
    indexer.index([corpus])
    before = {i for i, m in stored(indexer).items() if m["file"] == "notes.txt"}
    (corpus / "notes.txt").write_text("short.")  # one chunk, even in a 16-token window
    report = indexer.index([corpus])
    assert (report.files_indexed, report.files_unchanged) == (1, 3)
    after = {i: m for i, m in stored(indexer).items() if m["file"] == "notes.txt"}
    assert list(after) == ["notes.txt#0"] and len(before) > 1
    assert after["notes.txt#0"]["text"] == "short."


def test_prune_removes_files_that_are_gone_and_only_with_prune(
    tmp_path: Path, embedder: TextEmbedder, corpus: Path
) -> None:
    indexer = make_indexer(tmp_path, embedder)
    indexer.index([corpus])
    (corpus / "page.html").unlink()
    assert indexer.index([corpus]).files_pruned == 0
    assert any(m["file"] == "page.html" for m in stored(indexer).values())
    report = indexer.index([corpus], prune=True)
    assert report.files_pruned == 1
    assert not any(m["file"] == "page.html" for m in stored(indexer).values())
    assert "page.html" not in indexer.manifest.load()


def test_an_interrupted_run_is_completed_by_the_next_without_duplicates(
    tmp_path: Path, embedder: TextEmbedder, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = make_indexer(tmp_path / "ref", embedder)
    reference.index([corpus])
    indexer = make_indexer(tmp_path, embedder, batch_chunks=1)  # one file per batch
    real_save = indexer.manifest.save
    saves = []

    def save_or_stop(states: Any) -> None:
        saves.append(1)
        if len(saves) == 4:  # the second file: chunks written, its state still "pending"
            raise KeyboardInterrupt
        real_save(states)

    monkeypatch.setattr(indexer.manifest, "save", save_or_stop)
    with pytest.raises(KeyboardInterrupt):
        indexer.index([corpus])
    assert any(not s.done for s in indexer.manifest.load().values())
    monkeypatch.setattr(indexer.manifest, "save", real_save)
    report = indexer.index([corpus])
    assert report.files_indexed == 3  # the pending file is redone, with the two never started
    assert stored(indexer).keys() == stored(reference).keys()
    assert all(s.done for s in indexer.manifest.load().values())


def test_two_paths_giving_the_same_file_id_are_refused(
    tmp_path: Path, embedder: TextEmbedder
) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "same.txt").write_text("text")
    with pytest.raises(ConfigError, match="same.txt"):
        make_indexer(tmp_path, embedder).index([tmp_path / "a", tmp_path / "b"])


def test_retrieval_returns_offsets_and_expands_to_neighbours(
    tmp_path: Path, embedder: TextEmbedder, corpus: Path
) -> None:
    indexer = make_indexer(tmp_path, embedder)
    indexer.index([corpus])
    records = stored(indexer)
    target = records["notes.txt#1"]
    retriever = Retriever(indexer.store, k=3, expand=1)
    passages = retriever.retrieve(target["text"], where={"file": "notes.txt"})  # jsonl repeats it
    best = passages[0]
    assert best.id == "notes.txt#1" and best.score == pytest.approx(1.0, abs=1e-4)
    text = (corpus / "notes.txt").read_text()
    assert text[best.start : best.end] == best.text
    assert best.context_start == records["notes.txt#0"]["start"]
    assert best.context_end == records["notes.txt#2"]["end"]
    assert records["notes.txt#0"]["text"] in best.context and best.text in best.context


def test_a_killed_indexer_leaves_a_store_the_next_run_completes(
    tmp_path: Path, tiny_model_dir: Path, corpus: Path
) -> None:
    store = tmp_path / "store"
    # The process dies (os._exit: no cleanup, like kill -9) at the worst moment: its chunks
    # are in the store and the manifest still says "pending".
    script = f"""
import os, sys
from ragkit.ingest import manifest
real_save, saves = manifest.Manifest.save, []
def save_then_die(self, states):
    saves.append(1)
    if len(saves) == 2:
        os._exit(9)
    real_save(self, states)
manifest.Manifest.save = save_then_die
from ragkit.cli import main
sys.exit(main(["index", {str(corpus)!r}, "--store", {str(store)!r}, "--model", {str(tiny_model_dir)!r}]))
"""
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert killed.returncode == 9, killed.stderr
    assert _ids(store)  # it died with chunks written
    from ragkit.cli import main

    assert main(["index", str(corpus), "--store", str(store), "--model", str(tiny_model_dir)]) == 1
    reference = tmp_path / "reference"
    main(["index", str(corpus), "--store", str(reference), "--model", str(tiny_model_dir)])
    assert _ids(store) == _ids(reference)


def _ids(folder: Path) -> set[str]:
    import chromadb
    from chromadb.config import Settings

    client = chromadb.PersistentClient(
        path=str(folder), settings=Settings(anonymized_telemetry=False)
    )
    return set(client.get_collection("ragkit").get(include=[])["ids"])


def test_a_large_file_is_embedded_and_written_in_bounded_slices(
    tmp_path: Path, embedder: TextEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "big"
    root.mkdir()
    lines = [json.dumps({"_id": f"r{i}", "text": f"record {i}."}) for i in range(30)]
    (root / "corpus.jsonl").write_text("\n".join(lines))
    indexer = make_indexer(tmp_path, embedder, batch_chunks=8)
    sizes: list[int] = []
    real_add = indexer.store.add
    monkeypatch.setattr(
        indexer.store, "add", lambda ids, **kw: (sizes.append(len(ids)), real_add(ids, **kw))
    )
    report = indexer.index([root])
    assert sizes == [8, 8, 8, 6] and report.chunks_written == 30 == len(stored(indexer))


def test_retrieval_can_return_the_whole_section_of_a_passage(
    tmp_path: Path, embedder: TextEmbedder, corpus: Path
) -> None:
    text = "# guide\n\n## setup\n\n" + "\n\n".join(PARAGRAPHS) + "\n\n## other\n\nnot this part.\n"
    (corpus / "guide" / "intro.md").write_text(text)
    indexer = make_indexer(tmp_path, embedder)
    indexer.index([corpus])
    setup = sorted(
        (m for m in stored(indexer).values() if m["file"] == "guide/intro.md"),
        key=lambda m: m["start"],
    )
    in_setup = [m for m in setup if json.loads(m["headings"]) == ["guide", "setup"]]
    assert len(in_setup) > 2  # the section spans several chunks in a 16-token window
    middle = in_setup[len(in_setup) // 2]
    retriever = Retriever(indexer.store, k=1, section=True)
    (best,) = retriever.retrieve(middle["text"], where={"file": "guide/intro.md"})
    assert best.id == f"guide/intro.md#{middle['position']}"
    assert (best.context_start, best.context_end) == (in_setup[0]["start"], in_setup[-1]["end"])
    assert all(m["text"] in best.context for m in in_setup)
    assert "not this part" not in best.context and best.text == middle["text"]


@pytest.mark.parametrize("same_tokenizer", [True, False])
def test_chunks_embed_from_the_chunkers_token_ids_only_when_the_tokenizers_match(
    tmp_path: Path,
    embedder: TextEmbedder,
    corpus: Path,
    monkeypatch: pytest.MonkeyPatch,
    same_tokenizer: bool,
) -> None:
    store = ChromaStore("docs", embedder=embedder, client=_client(tmp_path))
    # Another prompt tokenises differently: its ids must not reach the model.
    chunker = RecursiveChunker(embedder, prompt=None if same_tokenizer else "passage: ")
    calls = {"ids": 0, "texts": 0}
    for name in ("embed_token_ids", "embed_documents"):
        original = getattr(embedder, name)

        def counted(*args: Any, _original: Any = original, _name: str = name, **kw: Any) -> Any:
            calls["ids" if _name == "embed_token_ids" else "texts"] += 1
            return _original(*args, **kw)

        monkeypatch.setattr(embedder, name, counted)
    Indexer(store, chunker).index([corpus / "notes.txt"])
    assert (calls["ids"] > 0, calls["texts"] > 0) == (same_tokenizer, not same_tokenizer)
    found = store.collection.get(include=["embeddings", "documents"])
    expected = embedder.embed_documents(found["documents"])  # the chunks' text, no header
    np.testing.assert_allclose(np.asarray(found["embeddings"]), expected, atol=1e-5)
