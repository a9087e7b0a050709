from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ragkit.cli import main
from ragkit.embed import TextEmbedder


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def write_beir(folder: Path) -> Path:
    folder.mkdir()
    docs = [("d1", "cat", "the cat"), ("d2", "dog", "the dog"), ("d3", "", "binary vector science")]
    (folder / "corpus.jsonl").write_text(
        "\n".join(json.dumps({"_id": i, "title": t, "text": x}) for i, t, x in docs) + "\n"
    )
    (folder / "queries.jsonl").write_text(
        json.dumps({"_id": "q1", "text": "the cat"})
        + "\n"
        + json.dumps({"_id": "q2", "text": "a dog"})
        + "\n"
    )
    (folder / "qrels").mkdir()
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n")
    return folder


def test_models_list_shows_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "models", "list")
    assert status == 0
    assert "intfloat/e5-small-v2" in out and "nomic-ai/nomic-embed-text-v1.5" in out
    status, out, _ = run(capsys, "models", "list", "--json")
    assert any(m["model_id"] == "BAAI/bge-small-en-v1.5" for m in json.loads(out))


def test_models_info_of_a_local_folder_reads_its_config(
    capsys: pytest.CaptureFixture[str], tiny_prompt_model_dir: Path
) -> None:
    status, out, _ = run(capsys, "models", "info", str(tiny_prompt_model_dir))
    info = json.loads(out)
    assert status == 0
    assert (info["query_prompt"], info["document_prompt"], info["max_tokens"]) == (
        "query: ",
        "passage: ",
        16,
    )


def test_embed_prints_json_vectors_with_the_right_prompt(
    capsys: pytest.CaptureFixture[str], tiny_prompt_model_dir: Path
) -> None:
    status, out, _ = run(
        capsys, "embed", "--model", str(tiny_prompt_model_dir), "--query", "the cat", "dog"
    )
    report = json.loads(out)
    assert status == 0 and report["kind"] == "query" and report["dim"] == 32
    expected = TextEmbedder(tiny_prompt_model_dir).embed_query(["the cat", "dog"])
    np.testing.assert_allclose(np.array(report["embeddings"]), expected, atol=1e-6)


def test_embed_reads_standard_input(
    capsys: pytest.CaptureFixture[str], tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("first line\n\nsecond line\n"))
    with pytest.warns(UserWarning, match="Matryoshka"):
        status, out, _ = run(capsys, "embed", "--model", str(tiny_model_dir), "--dim", "8")
    report = json.loads(out)
    assert len(report["embeddings"]) == 2 and len(report["embeddings"][0]) == 8


def test_eval_prints_the_metric_keys(
    capsys: pytest.CaptureFixture[str], tiny_model_dir: Path, tmp_path: Path
) -> None:
    data = write_beir(tmp_path / "beir")
    status, out, _ = run(capsys, "eval", str(data), "--model", str(tiny_model_dir), "--json")
    report = json.loads(out)
    assert status == 0
    assert {"ndcg@10", "recall@100", "docs_per_s"} <= set(report)
    assert 0.0 <= report["ndcg@10"] <= 1.0 and report["recall@100"] == 1.0  # 3 docs: all retrieved
    assert report["docs"] == 3 and report["queries"] == 2


def test_errors_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, _, err = run(capsys, "embed", "--model", "bge-smal-en", "x")
    assert status == 2 and "Did you mean" in err and "BAAI/bge-small-en-v1.5" in err
    assert "Traceback" not in err
    status, _, err = run(capsys, "eval", str(tmp_path / "missing"), "--model", "bge-small-en-v1.5")
    assert status == 2 and "missing" in err


def test_pull_offline_names_the_missing_file(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGKIT_OFFLINE", "1")
    status, _, err = run(capsys, "models", "pull", "BAAI/bge-small-en-v1.5", "--precision", "fp32")
    assert status == 2 and "offline" in err.lower() and "BAAI/bge-small-en-v1.5" in err


@pytest.mark.parametrize("search", ["binary", "float"])
def test_eval_through_the_store_matches_exact_search(
    capsys: pytest.CaptureFixture[str], tiny_model_dir: Path, tmp_path: Path, search: str
) -> None:
    data = write_beir(tmp_path / "beir")
    base = ["eval", str(data), "--model", str(tiny_model_dir), "--json"]
    _, exact, _ = run(capsys, *base)
    status, out, _ = run(capsys, *base, "--search", search, "--oversample", "3")
    report = json.loads(out)
    assert status == 0 and report["store_seconds"] > 0
    # 3 documents and oversampling covers them all: rescored results equal exact search.
    assert report["ndcg@10"] == pytest.approx(json.loads(exact)["ndcg@10"], abs=1e-6)


def test_eval_rotates_and_reduces_inside_the_store(
    capsys: pytest.CaptureFixture[str], tiny_model_dir: Path, tmp_path: Path
) -> None:
    data = write_beir(tmp_path / "beir")
    base = ["eval", str(data), "--model", str(tiny_model_dir), "--json", "--search", "binary"]
    status, out, _ = run(
        capsys, *base, "--rescore", "int8", "--candidates", "50", "--rotate", "pca", "--dim", "4"
    )
    report = json.loads(out)
    assert status == 0 and report["recall@100"] == 1.0
    assert report["model"]["dim"] == 32  # the embedder ran at full size; the store cut to 4


def test_eval_store_options_without_a_store_are_an_error(
    capsys: pytest.CaptureFixture[str], tiny_model_dir: Path, tmp_path: Path
) -> None:
    data = write_beir(tmp_path / "beir")
    status, _, err = run(
        capsys, "eval", str(data), "--model", str(tiny_model_dir), "--rotate", "pca"
    )
    assert status == 2 and "--search binary" in err
    status, _, err = run(
        capsys, "eval", str(data), "--model", str(tiny_model_dir), "--whiten", "0.2"
    )
    assert status == 2 and "--rotate pca" in err
