"""Pair tokenisation for cross-encoders: ``[CLS] query [SEP] passage [SEP]``, passage cut first.

The query is tokenised once per call and joined to every passage by the tokenizer's own pair
template (BERT's ``[CLS] A [SEP] B [SEP]`` with token types 0/1, XLM-R's ``<s> A </s></s> B </s>``),
so any ``tokenizer.json`` works. Only the passage is truncated; a query longer than
``max_query_tokens`` is cut to it first, so every passage keeps the rest of the window.
Very long passages are clipped (at a space) before tokenising, so a megabyte of text costs
no more than the window needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Encoding, Tokenizer

from ragkit._tokenize import EncodedBatch, TextTokenizer
from ragkit.errors import ConfigError

__all__ = ["EncodedPairs", "PairTokenizer"]

# Characters kept per token of room before tokenising a long passage: far above any real
# tokenizer's characters per token, so a clipped passage still fills the window.
_CLIP_CHARS_PER_TOKEN = 16
# Extra tokens a clipped passage must have beyond the room, so the word cut at the clip point
# can never reach the part that is kept.
_CLIP_MARGIN = 16


@dataclass(frozen=True)
class EncodedPairs:
    """The pairs of one query with its passages, unpadded.

    Attributes:
        encodings: One pair encoding per passage, in the order given.
        truncated: Indices of passages cut to fit the window.
        query_truncated: Whether the query itself was cut to ``max_query_tokens``.
    """

    encodings: list[Encoding]
    truncated: list[int]
    query_truncated: bool


class PairTokenizer:
    """A ``tokenizer.json`` used for (query, passage) pairs within a window of ``max_tokens``.

    Args:
        path: The model's ``tokenizer.json``.
        max_tokens: Window of one pair, special tokens included.
        max_query_tokens: Most query tokens kept (default: half the window).

    Raises:
        ModelFileError: The file is missing or is not a valid tokenizer.json.
        ConfigError: ``max_query_tokens`` leaves no room for a passage.
    """

    def __init__(self, path: Path, *, max_tokens: int, max_query_tokens: int | None = None) -> None:
        self._padder = TextTokenizer(path, max_tokens=max_tokens)
        pieces = Tokenizer.from_str(self._padder.tokenizer.to_str())
        pieces.no_truncation()
        pair = Tokenizer.from_str(pieces.to_str())
        pair.enable_truncation(max_length=max_tokens, strategy="only_second")
        self._pieces, self._pair = pieces, pair
        self.max_tokens = max_tokens
        self.specials = pieces.num_special_tokens_to_add(is_pair=True)
        limit = max_tokens - self.specials - 1
        self.max_query_tokens = max_query_tokens or max(1, max_tokens // 2)
        if not 0 < self.max_query_tokens <= limit:
            raise ConfigError(
                f"max_query_tokens must be between 1 and {limit} for a {max_tokens}-token window "
                f"({self.specials} special tokens, at least 1 passage token), "
                f"got {self.max_query_tokens}."
            )

    def encode(self, query: str, passages: Sequence[str]) -> EncodedPairs:
        """Encode ``query`` with each passage (special tokens added, passages cut to fit)."""
        q = self._pieces.encode(query, add_special_tokens=False)
        query_truncated = len(q.ids) > self.max_query_tokens
        if query_truncated:
            q.truncate(self.max_query_tokens)
        room = self.max_tokens - self.specials - len(q.ids)
        pieces = self._encode_passages(passages, room)
        truncated = [i for i, p in enumerate(pieces) if len(p.ids) > room]
        encodings = [self._pair.post_process(q, p, add_special_tokens=True) for p in pieces]
        return EncodedPairs(encodings, truncated, query_truncated)

    def _encode_passages(self, passages: Sequence[str], room: int) -> list[Encoding]:
        limit = _CLIP_CHARS_PER_TOKEN * (room + _CLIP_MARGIN)
        clipped = [_clip(p, limit) for p in passages]
        pieces: list[Encoding] = self._pieces.encode_batch(clipped, add_special_tokens=False)
        # A clipped passage with few tokens (long words, runs of spaces) is tokenised whole.
        short = [
            i
            for i, (p, c) in enumerate(zip(passages, clipped, strict=True))
            if len(c) < len(p) and len(pieces[i].ids) < room + _CLIP_MARGIN
        ]
        if short:
            whole = self._pieces.encode_batch(
                [passages[i] for i in short], add_special_tokens=False
            )
            for i, encoding in zip(short, whole, strict=True):
                pieces[i] = encoding
        return pieces

    def pad(self, encodings: Sequence[Encoding]) -> EncodedBatch:
        """Pad pair encodings to the longest in the batch (ids, mask and token types)."""
        return self._padder.pad(encodings)


def _clip(text: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters, at the last space before it when there is one."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", limit // 2, limit)
    return text[: cut if cut > 0 else limit]
