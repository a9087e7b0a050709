"""Catalogue rerankers: registry, download through a local stand-in hub, the real ms-marco tokenizer."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ragkit import catalog
from ragkit.catalog import RerankerSpec, add_custom_reranker, get_model_spec, get_reranker_spec
from ragkit.errors import ConfigError, ModelNotFoundError, OfflineError
from ragkit.rerank._pairs import PairTokenizer
from ragkit.rerank.cross_encoder import DEFAULT_RERANKER, CrossEncoderReranker
from tests.hub_server import HubServer
from tests.rerank.cross_encoder_models import build_cross_encoder_folder

REPO = "tiny-org/tiny-reranker"
CATALOGUE = (
    "cross-encoder/ms-marco-MiniLM-L-6-v2",
    "cross-encoder/ms-marco-MiniLM-L-12-v2",
    "cross-encoder/ms-marco-TinyBERT-L-2-v2",
    "BAAI/bge-reranker-base",
    "BAAI/bge-reranker-v2-m3",
    "jinaai/jina-reranker-v1-tiny-en",
)


def test_the_catalogue_holds_the_rerankers_with_their_windows() -> None:
    assert DEFAULT_RERANKER in CATALOGUE
    windows = {name: get_reranker_spec(name).max_tokens for name in CATALOGUE}
    assert windows["cross-encoder/ms-marco-MiniLM-L-6-v2"] == 512
    assert windows["BAAI/bge-reranker-v2-m3"] == 1024
    assert get_reranker_spec("BAAI/bge-reranker-v2-m3").trained_max_tokens == 8192
    assert all(get_reranker_spec(n).num_labels == 1 for n in CATALOGUE)
    assert get_reranker_spec("ms-marco-MiniLM-L-6-v2").model_id == CATALOGUE[0]  # short name


def test_a_reranker_id_given_to_the_embedder_catalogue_says_what_to_use() -> None:
    with pytest.raises(ModelNotFoundError, match="CrossEncoderReranker"):
        get_model_spec("BAAI/bge-reranker-base")


def test_an_unknown_reranker_lists_close_matches() -> None:
    with pytest.raises(ModelNotFoundError, match="Did you mean.*ms-marco-MiniLM-L-6-v2"):
        CrossEncoderReranker("cross-encoder/ms-marco-MiniLM-L6")


@pytest.mark.parametrize(
    "kwargs", [{"num_labels": 3}, {"max_tokens": 4}, {"onnx_files": {"fp16": "m.onnx"}}]
)
def test_reranker_specs_are_validated(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        RerankerSpec(model_id="x/y", **{"max_tokens": 512, **kwargs})  # type: ignore[arg-type]


@pytest.fixture()
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[HubServer, Path]]:
    catalog.list_supported_rerankers()  # load built-ins before copying the registry
    monkeypatch.setattr(catalog, "_RERANKERS", dict(catalog._RERANKERS))
    add_custom_reranker(RerankerSpec(model_id=REPO, max_tokens=32, num_labels=2))
    folder = tmp_path / "local"
    build_cross_encoder_folder(folder, labels=2)
    with HubServer() as server:
        server.add_file(REPO, "onnx/model.onnx", (folder / "model.onnx").read_bytes())
        for name in ("tokenizer.json", "tokenizer_config.json", "config.json"):
            server.add_file(REPO, name, (folder / name).read_bytes(), lfs=False)
        monkeypatch.setenv("RAGKIT_HF_ENDPOINT", server.url)
        yield server, folder


def test_a_catalogue_reranker_downloads_once_then_works_offline(
    hub: tuple[HubServer, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, folder = hub
    passages = ["the cat is small", "hello world"]
    online = CrossEncoderReranker(REPO).score("a cat", passages)
    np.testing.assert_allclose(online, CrossEncoderReranker(folder).score("a cat", passages))
    fetched = {r.path.rsplit("/", 1)[-1] for r in server.requests()}
    assert {"model.onnx", "tokenizer.json"} <= fetched
    count = len(server.requests())
    monkeypatch.setenv("RAGKIT_OFFLINE", "1")
    np.testing.assert_allclose(CrossEncoderReranker(REPO).score("a cat", passages), online)
    assert len(server.requests()) == count


def test_int8_of_a_catalogue_reranker_without_a_published_file_is_built_from_fp32(
    hub: tuple[HubServer, Path],
) -> None:
    reranker = CrossEncoderReranker(REPO, precision="int8")
    reranker.score("a cat", ["the cat"])
    assert reranker._load()[0].built_locally


def test_offline_without_cache_names_the_missing_file(
    hub: tuple[HubServer, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, _ = hub
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(OfflineError, match="tokenizer.json|model.onnx"):
        CrossEncoderReranker(REPO).score("q", ["x"])
    assert server.requests() == []


# --- the real ms-marco tokenizer ------------------------------------------------------------------


@pytest.fixture(scope="module")
def ms_marco() -> PairTokenizer:
    root = os.environ.get("RAGKIT_TEST_TOKENIZERS_DIR")
    folder = Path(root or "/nonexistent") / "ms-marco-MiniLM-L-12-v2"
    if not (folder / "tokenizer.json").is_file():
        pytest.skip(
            "needs the ms-marco-MiniLM-L-12-v2 tokenizer: set RAGKIT_TEST_TOKENIZERS_DIR to the "
            "folder holding it (.ci/run does when ../shared exists)"
        )
    return PairTokenizer(folder / "tokenizer.json", max_tokens=32)


def test_real_pairs_are_cls_query_sep_passage_sep_with_token_types(ms_marco: PairTokenizer) -> None:
    enc = ms_marco.encode("What is a cat?", ["A cat is a small animal."]).encodings[0]
    assert enc.tokens == [
        "[CLS]", "what", "is", "a", "cat", "?", "[SEP]",
        "a", "cat", "is", "a", "small", "animal", ".", "[SEP]",
    ]  # fmt: skip
    assert enc.type_ids == [0] * 7 + [1] * 8
    assert enc.ids[0] == 101 and enc.ids[6] == 102 and enc.ids[-1] == 102


def test_real_pairs_cut_the_passage_and_keep_the_whole_query(ms_marco: PairTokenizer) -> None:
    query = "how many people live in berlin"
    pairs = ms_marco.encode(query, ["berlin has a population of " + "many people " * 40])
    enc = pairs.encodings[0]
    assert len(enc.ids) == 32 and pairs.truncated == [0] and not pairs.query_truncated
    assert enc.tokens[1:8] == query.split() + ["[SEP]"]
    assert enc.tokens[-1] == "[SEP]" and enc.type_ids[-1] == 1


# --- ragkit models ----------------------------------------------------------------------------


def test_models_list_and_info_show_the_rerankers(capsys: pytest.CaptureFixture[str]) -> None:
    from ragkit.cli import main

    assert main(["models", "list"]) == 0
    listing = capsys.readouterr().out
    assert "CrossEncoderReranker" in listing
    assert all(name in listing for name in CATALOGUE)
    assert main(["models", "info", "BAAI/bge-reranker-v2-m3"]) == 0
    assert '"trained_max_tokens": 8192' in capsys.readouterr().out


def test_models_pull_fetches_a_reranker_for_offline_use(
    hub: tuple[HubServer, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ragkit.cli import main

    assert main(["models", "pull", REPO, "--precision", "fp32"]) == 0
    assert "model.onnx" in capsys.readouterr().out
    monkeypatch.setenv("RAGKIT_OFFLINE", "1")
    assert CrossEncoderReranker(REPO).score("a cat", ["the cat"]).shape == (1,)
