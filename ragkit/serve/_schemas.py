"""Request bodies of ``/v1/embeddings`` and ``/v1/rerank``, checked with clear messages."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ragkit.serve._errors import APIError

__all__ = ["EmbeddingRequest", "RerankRequest", "parse"]


class EmbeddingRequest(BaseModel):
    """OpenAI's embeddings request, plus ``input_type`` (``"query"``/``"document"``: add that prompt)."""

    model_config = ConfigDict(extra="ignore")

    model: str
    input: list[str]
    dimensions: int | None = Field(default=None, ge=1)
    encoding_format: Literal["float", "base64"] = "float"
    input_type: Literal["query", "document"] | None = None

    @field_validator("input", mode="before")
    @classmethod
    def _texts(cls, value: Any) -> list[str]:
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list):
            raise ValueError(f"must be a string or a list of strings, not {_kind(value)}")
        if not value:
            raise ValueError("is an empty list: send at least one string")
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise ValueError(
                    f"item {i} is {_kind(item)}, not a string (token arrays are not accepted: "
                    "send text)"
                )
        return value


class RerankRequest(BaseModel):
    """A Cohere/Jina-style rerank request; ``documents`` are strings or ``{"text": ...}``."""

    model_config = ConfigDict(extra="ignore")

    model: str
    query: str = Field(min_length=1)
    documents: list[str]
    top_n: int | None = Field(default=None, ge=1)
    return_documents: bool = False

    @field_validator("documents", mode="before")
    @classmethod
    def _texts(cls, value: Any) -> list[str]:
        if not isinstance(value, list) or not value:
            raise ValueError("must be a non-empty list of strings (or {'text': ...} objects)")
        out = []
        for i, item in enumerate(value):
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                item = item["text"]
            if not isinstance(item, str):
                raise ValueError(f"item {i} is {_kind(item)}, not a string")
            out.append(item)
        return out


def parse(model: type[BaseModel], body: Any) -> Any:
    """``body`` as ``model``, or a 400 naming the first bad field."""
    if not isinstance(body, dict):
        raise APIError(400, f"The request body must be a JSON object, not {_kind(body)}.")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = ".".join(str(p) for p in first["loc"]) or None
        message = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "missing":
            message = "is required"
        raise APIError(400, f"'{param}' {message}.", param=param, code="invalid_value") from None


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
