"""Shared fixtures: tiny generated models, a clean environment, and the real model/data when present."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tiny_models import build_model_folder

_ENV_PREFIXES = ("RAGKIT_", "HF_")


@pytest.fixture(autouse=True)
def clean_environ(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Each test sees no RAGKIT_/HF_ variables except a private cache dir."""
    keep = {"RAGKIT_TEST_MODEL_DIR", "RAGKIT_TEST_SCIFACT_DIR"}
    for name in list(os.environ):
        if name.startswith(_ENV_PREFIXES) and name not in keep:
            monkeypatch.delenv(name)
    monkeypatch.setenv("RAGKIT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    yield


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sentence-transformers style folder holding a tiny mean-pooled, normalised model."""
    return build_model_folder(tmp_path_factory.mktemp("tiny") / "tiny-model")


@pytest.fixture(scope="session")
def tiny_prompt_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Like ``tiny_model_dir`` but its config defines query/document prompts (e5 style)."""
    return build_model_folder(
        tmp_path_factory.mktemp("tiny") / "tiny-prompt-model",
        prompts={"query": "query: ", "document": "passage: "},
    )


def _env_dir(name: str, reason: str) -> Path:
    value = os.environ.get(name)
    if not value or not Path(value).is_dir():
        pytest.skip(f"{reason}: set {name} to its folder (.ci/run does when ../shared exists)")
    return Path(value)


@pytest.fixture(scope="session")
def real_model_dir() -> Path:
    """The real all-MiniLM-L6-v2 folder, or skip."""
    return _env_dir("RAGKIT_TEST_MODEL_DIR", "needs the real all-MiniLM-L6-v2 ONNX model")


@pytest.fixture(scope="session")
def scifact_dir() -> Path:
    """The BEIR SciFact folder, or skip."""
    return _env_dir("RAGKIT_TEST_SCIFACT_DIR", "needs the BEIR SciFact data set")
