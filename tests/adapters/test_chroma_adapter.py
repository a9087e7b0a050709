"""The Chroma EmbeddingFunction adapter (adapters/chroma-ragkit), on the tiny generated models."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import chromadb
import numpy as np
import pytest
from chroma_ragkit import RagkitEmbeddingFunction
from chromadb.config import Settings
from chromadb.utils.embedding_functions import (
    config_to_embedding_function,
    known_embedding_functions,
)

from ragkit import ConfigError, TextEmbedder

DOCS = {
    "cat": "the cat sat on the mat",
    "dog": "a dog barked at the moon",
    "code": "a binary vector is a claim of science",
}
QUESTION = "where did the cat sit"


def _client(path: Path) -> Any:
    return chromadb.PersistentClient(path=str(path), settings=Settings(anonymized_telemetry=False))


@pytest.fixture()
def ef(tiny_prompt_model_dir: Path) -> RagkitEmbeddingFunction:
    return RagkitEmbeddingFunction(str(tiny_prompt_model_dir))


@pytest.fixture()
def plain(tiny_model_dir: Path) -> TextEmbedder:
    """Same weights as the prompt model, no prompts: prompts can be added by hand."""
    return TextEmbedder(tiny_model_dir)


@pytest.fixture()
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "chroma"


@pytest.fixture()
def collection(ef: RagkitEmbeddingFunction, store_path: Path) -> Iterator[Any]:
    client = _client(store_path)
    docs = client.create_collection("docs", embedding_function=ef)
    docs.add(ids=list(DOCS), documents=list(DOCS.values()))
    yield docs
    client.close()


def test_documents_get_the_document_prompt_as_float32_vectors(
    ef: RagkitEmbeddingFunction, plain: TextEmbedder
) -> None:
    vectors = ef(["the cat"])
    assert len(vectors) == 1 and vectors[0].dtype == np.float32 and vectors[0].shape == (ef.dim,)
    np.testing.assert_allclose(
        vectors[0], plain.embed_documents(["passage: the cat"])[0], atol=1e-6
    )


def test_embed_query_gets_the_query_prompt(
    ef: RagkitEmbeddingFunction, plain: TextEmbedder
) -> None:
    queries = ef.embed_query(["the cat", "a dog"])
    assert [q.dtype for q in queries] == [np.float32, np.float32]
    np.testing.assert_allclose(
        np.stack(queries), plain.embed_query(["query: the cat", "query: a dog"]), atol=1e-6
    )
    assert not np.allclose(queries[0], ef(["the cat"])[0])


def test_collection_query_texts_are_embedded_with_the_query_prompt(
    collection: Any, plain: TextEmbedder
) -> None:
    result = collection.query(query_texts=[QUESTION], n_results=3, include=["distances"])
    ids, distances = result["ids"][0], result["distances"][0]
    docs = plain.embed_documents([f"passage: {DOCS[i]}" for i in ids])
    with_query_prompt = 1.0 - docs @ plain.embed_query(f"query: {QUESTION}")
    with_document_prompt = 1.0 - docs @ plain.embed_documents([f"passage: {QUESTION}"])[0]
    np.testing.assert_allclose(distances, with_query_prompt, atol=1e-5)
    assert not np.allclose(distances, with_document_prompt, atol=1e-5)


def test_collection_space_is_cosine_by_default(collection: Any) -> None:
    assert collection.configuration_json["hnsw"]["space"] == "cosine"
    stored = collection.get(ids=["cat"], include=["embeddings"])["embeddings"][0]
    result = collection.query(query_embeddings=[stored], n_results=1, include=["distances"])
    assert result["ids"][0] == ["cat"]
    assert result["distances"][0][0] == pytest.approx(0.0, abs=1e-5)


_REOPEN = textwrap.dedent(
    """
    import json, sys
    import chromadb
    from chromadb.config import Settings
    import chroma_ragkit

    client = chromadb.PersistentClient(path=sys.argv[1], settings=Settings(anonymized_telemetry=False))
    docs = client.get_collection(sys.argv[2])
    rebuilt = docs.configuration["embedding_function"]
    result = docs.query(query_texts=[sys.argv[3]], n_results=3, include=["distances"])
    docs.add(ids=["new"], documents=["added after reopening"])
    print(json.dumps({
        "type": type(rebuilt).__name__,
        "config": rebuilt.get_config(),
        "ids": result["ids"][0],
        "distances": result["distances"][0],
        "count": docs.count(),
    }))
    client.close()
    """
)


def _reopen_elsewhere(store_path: Path, name: str, question: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _REOPEN, str(store_path), name, question],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    output: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return output


def test_a_new_process_rebuilds_the_function_from_the_persisted_config(
    ef: RagkitEmbeddingFunction, store_path: Path
) -> None:
    client = _client(store_path)
    docs = client.create_collection("docs", embedding_function=ef)
    docs.add(ids=list(DOCS), documents=list(DOCS.values()))
    here = docs.query(query_texts=[QUESTION], n_results=3, include=["distances"])
    client.close()
    there = _reopen_elsewhere(store_path, "docs", QUESTION)
    assert there["type"] == "RagkitEmbeddingFunction"
    assert there["config"] == ef.get_config()
    assert there["ids"] == here["ids"][0]
    np.testing.assert_allclose(there["distances"], here["distances"][0], atol=1e-5)
    assert there["count"] == len(DOCS) + 1  # documents added there are embedded too


@pytest.mark.filterwarnings("ignore:.*not trained for Matryoshka")
def test_matryoshka_dim_survives_reopening(tiny_prompt_model_dir: Path, tmp_path: Path) -> None:
    ef = RagkitEmbeddingFunction(tiny_prompt_model_dir, dim=8)
    assert ef.dim == 8 and ef.get_config()["dim"] == 8
    client = _client(tmp_path / "chroma")
    short = client.create_collection("short", embedding_function=ef)
    short.add(ids=list(DOCS), documents=list(DOCS.values()))
    assert len(short.get(ids=["cat"], include=["embeddings"])["embeddings"][0]) == 8
    here = short.query(query_texts=[QUESTION], n_results=3, include=["distances"])
    client.close()
    there = _reopen_elsewhere(tmp_path / "chroma", "short", QUESTION)
    assert there["config"]["dim"] == 8
    np.testing.assert_allclose(there["distances"], here["distances"][0], atol=1e-5)


def test_importing_the_package_registers_the_function_with_chroma() -> None:
    # A fresh process: Chroma also registers a function's class when a collection is created
    # with it, which would hide a missing decorator from in-process checks.
    check = (
        "import chroma_ragkit\n"
        "from chromadb.utils.embedding_functions import known_embedding_functions as known\n"
        "assert known['ragkit'] is chroma_ragkit.RagkitEmbeddingFunction, known.get('ragkit')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr


def test_config_round_trips_through_chroma_registry(tiny_prompt_model_dir: Path) -> None:
    ef = RagkitEmbeddingFunction(
        tiny_prompt_model_dir, precision="fp32", query_prompt="q: ", max_tokens=12
    )
    config = ef.get_config()
    assert json.loads(json.dumps(config)) == config  # Chroma stores it as JSON
    assert config == {
        "model_name": str(tiny_prompt_model_dir.resolve()),
        "precision": "fp32",
        "dim": None,
        "max_tokens": 12,
        "query_prompt": "q: ",
        "document_prompt": None,
    }
    assert RagkitEmbeddingFunction.name() == "ragkit"
    assert known_embedding_functions["ragkit"] is RagkitEmbeddingFunction
    rebuilt = config_to_embedding_function({"name": "ragkit", "config": config})
    assert isinstance(rebuilt, RagkitEmbeddingFunction)
    assert rebuilt.get_config() == config
    assert rebuilt.fingerprint() == ef.fingerprint()
    np.testing.assert_allclose(rebuilt.embed_query(["x"])[0], ef.embed_query(["x"])[0], atol=1e-6)


def test_rebuilt_functions_share_one_embedder(ef: RagkitEmbeddingFunction) -> None:
    # Chroma rebuilds the function from its config on every add and query.
    first = RagkitEmbeddingFunction.build_from_config(ef.get_config())
    second = RagkitEmbeddingFunction.build_from_config(ef.get_config())
    assert first.embedder is second.embedder


def test_relative_model_folder_is_persisted_absolute(
    tiny_prompt_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tiny_prompt_model_dir.parent)
    ef = RagkitEmbeddingFunction(tiny_prompt_model_dir.name)
    assert ef.get_config()["model_name"] == str(tiny_prompt_model_dir.resolve())


def test_spaces_and_window(ef: RagkitEmbeddingFunction) -> None:
    assert ef.default_space() == "cosine"
    assert ef.supported_spaces()[0] == "cosine" and set(ef.supported_spaces()) == {
        "cosine",
        "ip",
        "l2",
    }
    assert ef.max_tokens() == ef.embedder.max_tokens == 16


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "needs 'model_name'"),
        ({"model_name": ""}, "needs 'model_name'"),
        ({"model_name": "m", "precision": "fp16"}, "'precision' must be 'fp32' or 'int8'"),
        ({"model_name": "m", "dim": 0}, "'dim' must be a positive integer"),
        ({"model_name": "m", "dim": "8"}, "'dim' must be a positive integer"),
        ({"model_name": "m", "dim": True}, "'dim' must be a positive integer"),
        ({"model_name": "m", "max_tokens": -1}, "'max_tokens' must be a positive integer"),
        ({"model_name": "m", "query_prompt": 3}, "'query_prompt' must be a string"),
        ({"model_name": "m", "device": "cpu"}, r"unknown keys \['device'\]"),
    ],
)
def test_bad_config_is_refused_naming_the_key(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RagkitEmbeddingFunction.validate_config(config)
    with pytest.raises(ValueError, match=message):
        RagkitEmbeddingFunction.build_from_config(config)


def test_bad_constructor_argument_is_refused(tiny_model_dir: Path) -> None:
    with pytest.raises(ConfigError, match="'precision'"):
        RagkitEmbeddingFunction(tiny_model_dir, precision="bf16")  # type: ignore[arg-type]


def test_config_update_that_changes_the_vectors_is_refused(
    ef: RagkitEmbeddingFunction, collection: Any, tiny_prompt_model_dir: Path
) -> None:
    same = RagkitEmbeddingFunction(tiny_prompt_model_dir)
    ef.validate_config_update(ef.get_config(), same.get_config())  # no change: accepted
    other = RagkitEmbeddingFunction(tiny_prompt_model_dir, query_prompt="search: ")
    with pytest.raises(ConfigError, match="query_prompt: None -> 'search: '"):
        ef.validate_config_update(ef.get_config(), other.get_config())
    with pytest.raises(ValueError, match="Cannot change query_prompt"):
        collection.modify(configuration={"embedding_function": other})
    assert collection.configuration["embedding_function"].get_config() == ef.get_config()
