"""The catalogue's prompts for a model a server names (``nomic-embed-text:latest`` included)."""

from __future__ import annotations

from ragkit.catalog import ModelSpec, find_model_spec, list_supported_models

__all__ = ["catalogue_spec"]


def catalogue_spec(model: str) -> ModelSpec | None:
    """The catalogue entry of a served model name, or None.

    Tries the name as given (full id, or the part after ``/``), then without an Ollama tag
    (``:latest``), then the one catalogue id that starts with it (Ollama's ``nomic-embed-text``
    is ``nomic-ai/nomic-embed-text-v1.5``).
    """
    spec = find_model_spec(model)
    if spec is not None:
        return spec
    base = model.split(":", 1)[0].rsplit("/", 1)[-1].lower()
    if not base:
        return None
    spec = find_model_spec(base)
    if spec is not None:
        return spec
    starts = [
        s for s in list_supported_models() if s.model_id.rsplit("/", 1)[-1].lower().startswith(base)
    ]
    return starts[0] if len(starts) == 1 else None
