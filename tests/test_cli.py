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


@pytest.fixture()
def indexed(capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_model_dir: Path) -> str:
    """A store holding four one-paragraph files, indexed with the tiny model."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in {
        "a.txt": "binary codes keep one bit per dimension.",
        "b.txt": "binary codes keep one bit per dimension and scan fast.",
        "c.txt": "the store rescores candidates with float vectors.",
        "d.txt": "chunks never exceed the model window.",
    }.items():
        (folder / name).write_text(text)
    store = str(tmp_path / "store")
    status, _, _ = run(
        capsys, "index", str(folder), "--store", store, "--model", str(tiny_model_dir)
    )
    assert status == 0
    return store


@pytest.fixture(scope="module")
def tiny_reranker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.rerank.cross_encoder_models import build_cross_encoder_folder

    folder = tmp_path_factory.mktemp("tiny-ce") / "ce"
    build_cross_encoder_folder(folder)
    return folder


def _passages(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, object]]:
    status, out, err = run(capsys, "query", *argv, "--json")
    assert status == 0, err
    passages: list[dict[str, object]] = json.loads(out)["passages"]
    return passages


def test_query_reranks_with_a_cross_encoder_and_reports_each_stage(
    capsys: pytest.CaptureFixture[str], indexed: str, tiny_reranker: Path
) -> None:
    question = ("binary codes", "--store", indexed, "-k", "3")
    passages = _passages(capsys, *question, "--rerank", str(tiny_reranker), "--fetch-k", "4")
    assert len(passages) == 3
    for p in passages:
        scores = p["scores"]
        assert isinstance(scores, dict) and {"cosine", "rerank"} <= set(scores)
        assert p["score"] == scores["rerank"] and 0.0 <= scores["rerank"] <= 1.0
    ranked = [p["scores"]["rerank"] for p in passages]  # type: ignore[index]
    assert ranked == sorted(ranked, reverse=True)
    above = _passages(capsys, *question, "--rerank", str(tiny_reranker), "--min-score", "1.01")
    assert above == []


def test_query_hybrid_mmr_and_relevance_options_reach_the_retriever(
    capsys: pytest.CaptureFixture[str], indexed: str
) -> None:
    question = ("binary codes keep one bit per dimension.", "--store", indexed, "-k", "2")
    hybrid = _passages(capsys, *question, "--hybrid", "--hybrid-weights", "1,2")
    assert {"cosine", "fusion"} <= set(hybrid[0]["scores"])  # type: ignore[arg-type]
    assert hybrid[0]["score"] == hybrid[0]["scores"]["fusion"]  # type: ignore[index]
    plain = [p["id"] for p in _passages(capsys, *question)]
    assert plain == ["a.txt#0", "b.txt#0"]  # the same first chunk twice (the tiny model's window)
    diverse = [p["id"] for p in _passages(capsys, *question, "--mmr", "0.1")]
    assert diverse[0] == "a.txt#0" and diverse[1] != "b.txt#0"
    relevant = _passages(capsys, *question, "--min-relevance")  # alone: the default threshold
    assert all("relevance" in p["scores"] for p in relevant)  # type: ignore[operator]
    status, out, _ = run(capsys, "query", *question, "--min-score", "2")
    assert status == 0 and "no passages found" in out


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--hybrid-weights", "1,1"], "add --hybrid"),
        (["--rerank-k", "5"], "--rerank MODEL"),
        (["--mmr", "1.5"], "lambda_mult"),
        (["--min-relevance", "2"], "min_relevance"),
        (["--fetch-k", "0"], "fetch_k"),
    ],
)
def test_bad_pipeline_options_are_one_line_errors(
    capsys: pytest.CaptureFixture[str], indexed: str, options: list[str], message: str
) -> None:
    status, _, err = run(capsys, "query", "binary codes", "--store", indexed, *options)
    assert status == 2 and message in err and "Traceback" not in err


def test_hybrid_weights_must_be_two_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["query", "q", "--store", "x", "--hybrid", "--hybrid-weights", "1"])
    assert "DENSE,BM25" in capsys.readouterr().err


@pytest.mark.parametrize(
    "options", [["--hybrid"], ["--rerank", "RERANKER"], ["--mmr", "0.5", "--fetch-k", "3"]]
)
def test_eval_runs_the_pipeline_and_reports_ndcg_at_10(
    capsys: pytest.CaptureFixture[str],
    tiny_model_dir: Path,
    tiny_reranker: Path,
    tmp_path: Path,
    options: list[str],
) -> None:
    data = write_beir(tmp_path / "beir")
    options = [str(tiny_reranker) if o == "RERANKER" else o for o in options]
    base = ["eval", str(data), "--model", str(tiny_model_dir)]
    status, out, _ = run(capsys, *base, "--json", *options)
    report = json.loads(out)
    assert status == 0 and 0.0 <= report["ndcg@10"] <= 1.0
    assert report["recall@10"] == 1.0 and "recall@100" not in report  # 3 docs: all found
    status, out, _ = run(capsys, *base, *options)
    assert status == 0 and "pipeline" in out and "ndcg@10" in out
