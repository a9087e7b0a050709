from __future__ import annotations

from pathlib import Path

import pytest

from ragkit.config import DEFAULT_HF_ENDPOINT, DEFAULT_MODEL, get_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("RAGKIT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    settings = get_settings()
    assert settings.cache_dir == tmp_path / "ragkit"
    assert settings.offline is False
    assert settings.model == DEFAULT_MODEL
    assert settings.hf_endpoint == DEFAULT_HF_ENDPOINT
    assert settings.hf_token is None


@pytest.mark.parametrize("name", ["RAGKIT_OFFLINE", "HF_HUB_OFFLINE"])
@pytest.mark.parametrize(
    ("value", "expected"), [("1", True), ("true", True), ("0", False), ("no", False)]
)
def test_offline_from_either_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: bool
) -> None:
    monkeypatch.setenv(name, value)
    assert get_settings().offline is expected


def test_hugging_face_variables_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "https://mirror.example/hf")
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    settings = get_settings()
    assert settings.hf_endpoint == "https://mirror.example/hf"
    assert settings.hf_token is not None and settings.hf_token.get_secret_value() == "hf_secret"
    assert "hf_secret" not in repr(settings)


def test_ragkit_variables_win_over_hugging_face_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "https://a.example")
    monkeypatch.setenv("RAGKIT_HF_ENDPOINT", "https://b.example")
    monkeypatch.setenv("RAGKIT_MODEL", "intfloat/e5-small-v2")
    settings = get_settings()
    assert settings.hf_endpoint == "https://b.example"
    assert settings.model == "intfloat/e5-small-v2"


def test_cache_dir_expands_the_home_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGKIT_CACHE_DIR", "~/models")
    assert get_settings().cache_dir == Path.home() / "models"
