"""Settings read from the environment (``RAGKIT_*``, plus the Hugging Face variables users already set).

Settings only supply defaults for constructor arguments; compute code never reads the environment.

Usage::

    from ragkit.config import get_settings
    settings = get_settings()          # reads the environment now
    settings.cache_dir, settings.offline
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_HF_ENDPOINT", "DEFAULT_MODEL", "RagkitSettings", "get_settings"]

DEFAULT_MODEL = "BAAI/bge-small-en-v1.5"
DEFAULT_HF_ENDPOINT = "https://huggingface.co"


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ragkit"


def _truthy(value: object) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


class RagkitSettings(BaseSettings):
    """Environment settings. Every field can be set as ``RAGKIT_<FIELD>``.

    ``offline`` is also switched on by ``HF_HUB_OFFLINE=1``; the hub endpoint and token honour
    ``HF_ENDPOINT`` and ``HF_TOKEN`` so existing Hugging Face setups (mirrors, gated repos) just work.
    """

    model_config = SettingsConfigDict(
        env_prefix="RAGKIT_", env_nested_delimiter="__", extra="ignore", frozen=True
    )

    cache_dir: Path = Field(
        default_factory=_default_cache_dir,
        description="Where downloaded and quantized models are kept.",
    )
    index_dir: Path | None = Field(
        default=None,
        description=(
            "Folder for the binary index's memory-mapped temporary files "
            "(default: <cache_dir>/index)."
        ),
    )
    offline: bool = Field(
        default=False,
        validation_alias=AliasChoices("RAGKIT_OFFLINE", "HF_HUB_OFFLINE"),
        description="Never touch the network; fail with the name of any missing file.",
    )
    model: str = Field(
        default=DEFAULT_MODEL,
        description="Default embedding model: a catalogue id or a local folder.",
    )
    hf_endpoint: str = Field(
        default=DEFAULT_HF_ENDPOINT,
        validation_alias=AliasChoices("RAGKIT_HF_ENDPOINT", "HF_ENDPOINT"),
        description="Base URL of the model hub or a mirror of it.",
    )
    hf_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("RAGKIT_HF_TOKEN", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"),
        description="Token for gated or private repos; sent only to the hub endpoint.",
    )
    download_timeout: float = Field(default=30.0, gt=0, description="Seconds per network read.")
    download_retries: int = Field(default=5, ge=0, description="Retries for transient failures.")
    serve_api_key: SecretStr | None = Field(
        default=None,
        description="Bearer token `ragkit serve` requires (when --api-key is not given).",
    )

    @field_validator("offline", mode="before")
    @classmethod
    def _parse_offline(cls, value: object) -> bool:
        return _truthy(value)

    @field_validator("cache_dir", mode="after")
    @classmethod
    def _expand_cache_dir(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def index_folder(self) -> Path:
        """Where stores keep memory-mapped index files: ``index_dir``, or ``<cache_dir>/index``."""
        return (self.index_dir or self.cache_dir / "index").expanduser()


def get_settings() -> RagkitSettings:
    """Read the settings from the environment as it is now."""
    return RagkitSettings()
