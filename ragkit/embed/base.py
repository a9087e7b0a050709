"""The embedder protocol every ragkit embedder follows, and the checks they share."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, overload, runtime_checkable

from ragkit.errors import InputError
from ragkit.types import Matrix, Vector

__all__ = ["EmbedStats", "Embedder", "check_texts"]


@runtime_checkable
class Embedder(Protocol):
    """Anything that embeds documents and queries into one vector space.

    ``embed_documents`` and ``embed_query`` apply the model's own document and query prompts.
    """

    @property
    def dim(self) -> int:
        """Dimension of the vectors returned."""
        ...

    def embed_documents(self, texts: Sequence[str]) -> Matrix:
        """Embed documents (with the document prompt) into an ``(n, dim)`` float32 array."""
        ...

    @overload
    def embed_query(self, text: str) -> Vector: ...

    @overload
    def embed_query(self, text: Sequence[str]) -> Matrix: ...

    def embed_query(self, text: str | Sequence[str]) -> Vector | Matrix:
        """Embed a query into ``(dim,)``, or a list of queries into ``(n, dim)``, with the query prompt."""
        ...

    def fingerprint(self) -> dict[str, Any]:
        """What determines the vectors: two embedders with equal fingerprints agree."""
        ...


@dataclass(frozen=True)
class EmbedStats:
    """What one embedding call did.

    Attributes:
        texts: Number of texts embedded.
        tokens: Tokens fed to the model (prompt and special tokens included, padding excluded).
        truncated: Texts cut at the model's window.
        truncated_indices: Indices (in the call's input) of the truncated texts, first 100.
    """

    texts: int
    tokens: int
    truncated: int
    truncated_indices: tuple[int, ...] = ()


def check_texts(texts: Iterable[object], *, what: str = "texts") -> list[str]:
    """Return ``texts`` as a list of str, or raise naming the first bad item.

    Raises:
        InputError: ``texts`` is a single string, or an item is not a string.
    """
    if isinstance(texts, (str, bytes)):
        raise InputError(
            f"{what} must be a list of strings, not a single {type(texts).__name__}; wrap it in []."
        )
    items = list(texts)
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise InputError(
                f"{what}[{index}] is {type(item).__name__} ({item!r:.60}), not str; "
                "convert or drop it before embedding."
            )
    return items  # type: ignore[return-value]
