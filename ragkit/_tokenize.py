"""Tokenisation with `tokenizers`: explicit truncation, no preset padding, dynamic batch padding.

Hub ``tokenizer.json`` files often carry a fixed padding length and a truncation length that is not
the model's window (all-MiniLM-L6-v2 ships with both at 128). We clear both and truncate to the
window ourselves, so the prompt's tokens count against it and nothing is cut silently.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from tokenizers import Encoding, Tokenizer

from ragkit.errors import InputError, ModelFileError

__all__ = ["EncodedBatch", "TextTokenizer", "was_truncated"]

logger = logging.getLogger(__name__)

IdArray = npt.NDArray[np.int64]
IdRow = Sequence[int] | npt.NDArray[np.integer[Any]]
"""One text's token ids: a list, or an integer array such as ``Chunk.token_ids``."""


@dataclass(frozen=True)
class EncodedBatch:
    """One padded batch, ready for the ONNX session.

    Attributes:
        input_ids: Token ids, shape ``(batch, seq)``, padded on the right.
        attention_mask: 1 for real tokens, 0 for padding.
        token_type_ids: Segment ids (all 0 for single texts).
    """

    input_ids: IdArray
    attention_mask: IdArray
    token_type_ids: IdArray

    def feed(self, names: Sequence[str]) -> dict[str, IdArray]:
        """The arrays for the graph inputs ``names`` (``position_ids`` counted 0.. per row)."""
        arrays = {
            "input_ids": self.input_ids,
            "attention_mask": self.attention_mask,
            "token_type_ids": self.token_type_ids,
        }
        positions = np.arange(self.input_ids.shape[1], dtype=np.int64)
        return {
            name: arrays[name] if name in arrays else np.tile(positions, (len(self.input_ids), 1))
            for name in names
        }


class TextTokenizer:
    """A ``tokenizer.json`` with truncation at ``max_tokens`` and padding done per batch."""

    def __init__(self, path: Path, *, max_tokens: int) -> None:
        """Load ``path`` and set truncation to ``max_tokens`` (special tokens included).

        Raises:
            ModelFileError: The file is missing or is not a valid tokenizer.json.
        """
        if not path.is_file():
            raise ModelFileError(
                f"Tokenizer file not found: {path}. The model folder needs tokenizer.json."
            )
        try:
            tokenizer = Tokenizer.from_file(str(path))
        except Exception as exc:  # tokenizers raises a bare Exception on malformed files
            raise ModelFileError(
                f"Could not load tokenizer file {path}: {exc}. Re-download it or check the folder."
            ) from exc
        self.pad_id = _pad_id(tokenizer)  # read before clearing the preset padding
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=max_tokens)
        self._tokenizer = tokenizer
        self._fast = hasattr(tokenizer, "encode_batch_fast")
        self._untruncated: Tokenizer | None = None
        self.path = path
        self.max_tokens = max_tokens

    @cached_property
    def id_limit(self) -> int:
        """One past the largest token id the tokenizer can give (ids may have gaps)."""
        return max(self._tokenizer.get_vocab(with_added_tokens=True).values(), default=-1) + 1

    @property
    def tokenizer(self) -> Tokenizer:
        """The underlying ``tokenizers.Tokenizer`` (truncating at the window; copy to change it)."""
        return self._tokenizer

    def encode(self, texts: Sequence[str]) -> list[Encoding]:
        """Tokenise ``texts`` (special tokens added, truncated to the window, not padded).

        Raises:
            InputError: A text holds a lone surrogate (not valid Unicode).
        """
        batch = list(texts)
        try:
            if self._fast:  # tokenizers >= 0.20: no character offsets, which embedding never reads
                return self._tokenizer.encode_batch_fast(batch, add_special_tokens=True)
            return self._tokenizer.encode_batch(batch, add_special_tokens=True)
        except TypeError:
            raise_for_surrogates(batch)
            raise

    def encode_untruncated(self, texts: Sequence[str]) -> list[Encoding]:
        """Tokenise ``texts`` whole: no special tokens, no truncation (for macro-windows)."""
        if self._untruncated is None:
            untruncated = Tokenizer.from_str(self._tokenizer.to_str())
            untruncated.no_truncation()
            self._untruncated = untruncated
        batch = list(texts)
        try:
            return self._untruncated.encode_batch(batch, add_special_tokens=False)
        except TypeError:
            raise_for_surrogates(batch)
            raise

    def special_template(self) -> tuple[list[int], list[int]]:
        """The special token ids the tokenizer puts before and after a single text.

        ``([101], [102])`` for BERT's ``[CLS] $A [SEP]``; read from a probe text, so any
        single-sequence template works.
        """
        probe = self._tokenizer.encode("a", add_special_tokens=True)
        content = [i for i, special in enumerate(probe.special_tokens_mask) if not special]
        if not content:
            return list(probe.ids), []
        return list(probe.ids[: content[0]]), list(probe.ids[content[-1] + 1 :])

    def pad_ids(self, rows: Sequence[IdRow]) -> EncodedBatch:
        """Pad token id lists (all real tokens, one segment) to the longest (dynamic padding)."""
        width = max((len(r) for r in rows), default=0)
        shape = (len(rows), width)
        input_ids = np.full(shape, self.pad_id, dtype=np.int64)
        attention_mask = np.zeros(shape, dtype=np.int64)
        for row, ids in enumerate(rows):
            input_ids[row, : len(ids)] = ids
            attention_mask[row, : len(ids)] = 1
        return EncodedBatch(input_ids, attention_mask, np.zeros(shape, dtype=np.int64))

    def pad(self, encodings: Sequence[Encoding]) -> EncodedBatch:
        """Pad ``encodings`` to the longest one in the batch (dynamic padding)."""
        width = max((len(e.ids) for e in encodings), default=0)
        shape = (len(encodings), width)
        input_ids = np.full(shape, self.pad_id, dtype=np.int64)
        attention_mask = np.zeros(shape, dtype=np.int64)
        token_type_ids = np.zeros(shape, dtype=np.int64)
        for row, enc in enumerate(encodings):
            n = len(enc.ids)
            input_ids[row, :n] = enc.ids
            attention_mask[row, :n] = enc.attention_mask
            token_type_ids[row, :n] = enc.type_ids
        return EncodedBatch(input_ids, attention_mask, token_type_ids)


def _pad_id(tokenizer: Tokenizer) -> int:
    """The padding token id the tokenizer declares, else [PAD]/<pad>, else 0."""
    padding = tokenizer.padding
    if padding and "pad_id" in padding:
        return int(padding["pad_id"])
    for token in ("[PAD]", "<pad>", "<|endoftext|>"):
        token_id = tokenizer.token_to_id(token)
        if token_id is not None:
            return int(token_id)
    return 0


def was_truncated(encoding: Encoding) -> bool:
    """Whether tokenising cut text off (the tokenizer keeps the overflow)."""
    return bool(encoding.overflowing)


def raise_for_surrogates(texts: Sequence[str]) -> None:
    """Raise InputError naming the first text with a lone surrogate (tokenizers cannot take it).

    Called when the tokenizer fails, so valid texts pay nothing for the check.
    """
    for index, text in enumerate(texts):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InputError(
                f"Text {index} holds a lone surrogate at offset {exc.start} "
                f"({text[exc.start]!r}), which is not valid Unicode; decode the source with "
                "errors='replace'."
            ) from None
