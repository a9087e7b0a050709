from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ragkit import CrossEncoderReranker, TextEmbedder
from ragkit.serve import create_app
from tests.rerank.cross_encoder_models import build_cross_encoder_folder
from tests.serve.live import live_server

KEY = "sk-test-serve-key"
NAME = "intfloat/e5-small-v2"  # the tiny prompt model, served under e5's name (same prompts)


@pytest.fixture(scope="session")
def tiny_ce_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("serve-ce") / "ce"
    build_cross_encoder_folder(folder)
    return folder


@pytest.fixture(scope="session")
def embedder(tiny_prompt_model_dir: Path) -> TextEmbedder:
    return TextEmbedder(tiny_prompt_model_dir, truncation="silent")


@pytest.fixture(scope="session")
def cross_encoder(tiny_ce_dir: Path) -> CrossEncoderReranker:
    return CrossEncoderReranker(tiny_ce_dir)


@pytest.fixture(scope="module", params=[True, False], ids=["batching", "no-batching"])
def base_url(
    request: pytest.FixtureRequest, embedder: TextEmbedder, cross_encoder: CrossEncoderReranker
) -> Iterator[str]:
    app = create_app(
        {NAME: embedder},
        {"tiny-ce": cross_encoder},
        api_key=KEY,
        max_batch=8,
        max_body_bytes=4096,
        batching=request.param,
    )
    with live_server(app) as url:
        yield url
