"""A catalogue model end to end through a local stand-in for the hub: download, embed, go offline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ragkit import ModelSpec, OfflineError, add_custom_model
from ragkit import catalog as catalog_module
from ragkit.embed import TextEmbedder
from tests.hub_server import HubServer

REPO = "tiny-org/tiny-e5"


@pytest.fixture()
def hub(tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    catalog_module.list_supported_models()  # load built-ins before copying the registry
    monkeypatch.setattr(catalog_module, "_REGISTRY", dict(catalog_module._REGISTRY))
    add_custom_model(
        ModelSpec(
            model_id=REPO,
            dim=32,
            pooling="mean",
            max_tokens=16,
            onnx_files={"fp32": "onnx/model.onnx"},
            query_prompt="query: ",
            document_prompt="passage: ",
        )
    )
    with HubServer() as server:
        server.add_file(REPO, "onnx/model.onnx", (tiny_model_dir / "model.onnx").read_bytes())
        for name in ("tokenizer.json", "tokenizer_config.json", "config.json"):
            server.add_file(REPO, name, (tiny_model_dir / name).read_bytes(), lfs=False)
        monkeypatch.setenv("RAGKIT_HF_ENDPOINT", server.url)
        yield server


def test_catalogue_model_downloads_once_then_works_offline(
    hub: HubServer, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    online = TextEmbedder(REPO).embed_query("the cat")
    local = TextEmbedder(tiny_model_dir).embed_query("query: the cat")
    np.testing.assert_allclose(online, local, atol=1e-6)
    fetched = {r.path.rsplit("/", 1)[-1] for r in hub.requests()}
    assert {"model.onnx", "tokenizer.json"} <= fetched
    assert "special_tokens_map.json" in fetched  # optional: asked for, 404, skipped

    count = len(hub.requests())
    monkeypatch.setenv("RAGKIT_OFFLINE", "1")
    np.testing.assert_allclose(TextEmbedder(REPO).embed_query("the cat"), online, atol=1e-6)
    assert len(hub.requests()) == count


def test_offline_without_cache_names_the_missing_file(
    hub: HubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(OfflineError, match="tokenizer.json|model.onnx"):
        TextEmbedder(REPO).embed_query("x")
    assert hub.requests() == []
