"""The Chunk record every chunker returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = ["Chunk", "HeaderMode"]

HeaderMode = Literal["title", "headings", "both"]
"""What a contextual header holds: the document title, its heading path, or both."""


@dataclass(frozen=True)
class Chunk:
    """A piece of a document, with exact offsets for citations.

    Attributes:
        source_id: Id of the document the chunk comes from.
        text: The chunk's text: always ``document[start:end]``.
        start: Character offset of the first character in the document.
        end: Character offset one past the last character.
        token_count: Tokens the embedder feeds for ``embed_text``: the document prompt,
            the contextual header and special tokens included. Never over the window.
        position: Index of the chunk within its document (0, 1, 2, ...).
        heading_path: Headings above the chunk, outermost first (empty if none).
        embed_text: What to embed: ``text``, with the contextual header in front when one is on.
        token_ids: The ids the chunker counted for ``embed_text`` (prompt, header and special
            tokens included), so an embedder with the same tokenizer need not tokenise again
            (:meth:`ragkit.TextEmbedder.embed_token_ids`); None when not measured.
    """

    source_id: str
    text: str
    start: int
    end: int
    token_count: int
    position: int
    heading_path: tuple[str, ...] = ()
    embed_text: str = ""
    token_ids: npt.NDArray[np.int32] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.embed_text:
            object.__setattr__(self, "embed_text", self.text)
