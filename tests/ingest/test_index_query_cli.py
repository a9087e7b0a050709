"""``ragkit index`` and ``ragkit query`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragkit.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    root.mkdir()
    (root / "a.md").write_text("# alpha\n\nthe first document talks about binary codes.\n")
    (root / "b.txt").write_text("the second document is about chunking.\n\nand a second paragraph.")
    return root


def test_index_then_query_uses_the_model_the_store_was_indexed_with(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_model_dir: Path, folder: Path
) -> None:
    store = str(tmp_path / "store")
    status, out, _ = run(
        capsys, "index", str(folder), "--store", store, "--model", str(tiny_model_dir), "--json"
    )
    report = json.loads(out)
    assert status == 0 and report["files_indexed"] == 2 and report["chunks_written"] >= 2
    status, out, _ = run(  # no --model: the store's own
        capsys, "query", "the second document is about chunking.", "--store", store, "--json"
    )
    passages = json.loads(out)["passages"]
    assert status == 0 and passages[0]["source"] == "b.txt"
    assert passages[0]["score"] == pytest.approx(1.0, abs=1e-4)
    text = (folder / "b.txt").read_text()
    assert text[passages[0]["start"] : passages[0]["end"]] == passages[0]["text"]
    status, out, _ = run(
        capsys, "index", str(folder), "--store", store, "--model", str(tiny_model_dir)
    )
    assert status == 0 and "indexed 0 files" in out and "2 unchanged" in out


def test_query_filters_by_metadata_and_prints_readable_passages(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_model_dir: Path, folder: Path
) -> None:
    store = str(tmp_path / "store")
    run(capsys, "index", str(folder), "--store", store, "--model", str(tiny_model_dir))
    status, out, _ = run(
        capsys, "query", "binary codes", "--store", store, "--where", '{"format": "md"}', "-k", "3"
    )
    assert status == 0 and out.startswith("1. ") and "a.md [" in out and "b.txt" not in out


def test_bad_store_options_are_clear_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_model_dir: Path
) -> None:
    missing = str(tmp_path / "nowhere")
    status, _, err = run(capsys, "query", "q", "--store", missing, "--model", str(tiny_model_dir))
    assert status == 2 and "ragkit index" in err
    status, _, err = run(capsys, "query", "q", "--model", str(tiny_model_dir))
    assert status == 2 and "--store" in err
    status, _, err = run(
        capsys, "query", "q", "--store", missing, "--where", "{not json", "--model", "x"
    )
    assert status == 2 and "--where" in err


def test_a_folder_with_an_undecodable_file_exits_1_and_names_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_model_dir: Path, folder: Path
) -> None:
    (folder / "bad.txt").write_bytes(b"\xff\xfe\x00bad")
    status, out, err = run(
        capsys, "index", str(folder), "--store", str(tmp_path / "s"), "--model", str(tiny_model_dir)
    )
    assert status == 1 and "indexed 2 files" in out and "bad.txt" in err


def test_index_and_query_against_a_chroma_server(
    capsys: pytest.CaptureFixture[str],
    tiny_model_dir: Path,
    folder: Path,
    chroma_server: tuple[str, int],
) -> None:
    host, port = chroma_server
    url = f"http://{host}:{port}"
    base = ["--chroma-url", url, "--collection", "cli-server-test"]
    status, out, _ = run(
        capsys, "index", str(folder), *base, "--model", str(tiny_model_dir), "--json"
    )
    assert status == 0 and json.loads(out)["files_indexed"] == 2
    status, out, _ = run(
        capsys, "index", str(folder), *base, "--model", str(tiny_model_dir), "--json"
    )
    assert json.loads(out)["files_unchanged"] == 2  # the manifest lives in the server too
    status, out, _ = run(capsys, "query", "binary codes", *base, "--json")  # recorded model
    assert status == 0 and {p["source"] for p in json.loads(out)["passages"]} <= {"a.md", "b.txt"}
    status, _, err = run(capsys, "query", "q", "--chroma-url", "ftp://x", "--model", "m")
    assert status == 2 and "http://host:port" in err
