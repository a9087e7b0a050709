"""TokenCounter: count tokens exactly as the embedder will see them (prompt and special tokens in).

Usage::

    from tokenizers import Tokenizer
    from ragkit.chunking import TokenCounter

    counter = TokenCounter(Tokenizer.from_file("tokenizer.json"), max_tokens=512, prompt="passage: ")
    counter.count("Binary codes take 32x less memory.")  # [CLS] passage : binary ... [SEP]
"""

from __future__ import annotations

import json
from pathlib import Path

from tokenizers import Tokenizer

from ragkit._tokenize import raise_for_surrogates
from ragkit.chunking._tokens import is_word_edge
from ragkit.errors import ConfigError, InputError, ModelFileError

__all__ = ["TokenCounter"]

_AFFIX_CACHE = 1024  # headers whose affixes are kept


class TokenCounter:
    """An embedder's tokenizer, window and document prompt, for counting and offsets.

    The tokenizer is copied with padding and truncation turned off, so counts are never capped.

    Args:
        tokenizer: A ``tokenizers.Tokenizer`` (the model's ``tokenizer.json``).
        max_tokens: The model's window, special tokens and prompt included.
        prompt: The document prompt the embedder prepends to every text (``"passage: "``).

    Raises:
        ConfigError: ``max_tokens`` is not positive, or the prompt alone fills the window.
    """

    def __init__(self, tokenizer: Tokenizer, *, max_tokens: int, prompt: str = "") -> None:
        if not isinstance(tokenizer, Tokenizer):
            raise ConfigError(
                f"tokenizer must be a tokenizers.Tokenizer, got {type(tokenizer).__name__}; "
                "load one with Tokenizer.from_file('tokenizer.json') or pass an embedder."
            )
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens <= 0:
            raise ConfigError(f"max_tokens must be a positive int, got {max_tokens!r}.")
        if not isinstance(prompt, str):
            raise ConfigError(f"prompt must be a str, got {type(prompt).__name__}.")
        copy = Tokenizer.from_str(tokenizer.to_str())
        copy.no_padding()
        copy.no_truncation()
        self._tokenizer = copy
        self._fast = hasattr(copy, "encode_batch_fast")
        self.max_tokens = max_tokens
        self.prompt = prompt
        self.overhead = self.count("")
        self.sliceable = _sliceable(copy, prompt)
        self._affixes: dict[str, tuple[list[int], list[int]] | None] = {}
        if self.overhead >= max_tokens:
            raise ConfigError(
                f"The prompt {prompt!r} and special tokens take {self.overhead} of the "
                f"{max_tokens}-token window, leaving no room for text; use a larger max_tokens."
            )

    @classmethod
    def from_file(cls, path: str | Path, *, max_tokens: int, prompt: str = "") -> TokenCounter:
        """Load a ``tokenizer.json`` file.

        Raises:
            ModelFileError: The file is missing or not a valid tokenizer.
        """
        path = Path(path)
        if not path.is_file():
            raise ModelFileError(f"Tokenizer file not found: {path}.")
        try:
            tokenizer = Tokenizer.from_file(str(path))
        except Exception as exc:  # tokenizers raises a bare Exception on malformed files
            raise ModelFileError(f"Could not load tokenizer file {path}: {exc}.") from exc
        return cls(tokenizer, max_tokens=max_tokens, prompt=prompt)

    def replace(self, *, max_tokens: int | None = None, prompt: str | None = None) -> TokenCounter:
        """A counter with the same tokenizer and another window or prompt."""
        return TokenCounter(
            self._tokenizer,
            max_tokens=self.max_tokens if max_tokens is None else max_tokens,
            prompt=self.prompt if prompt is None else prompt,
        )

    def count(self, text: str) -> int:
        """Tokens the embedder feeds for ``text``: prompt and special tokens included."""
        return len(self.token_ids([text])[0])

    def counts(self, texts: list[str]) -> list[int]:
        """:meth:`count` of many texts in one tokenizer call."""
        return [len(ids) for ids in self.token_ids(texts)]

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """The ids the embedder feeds for each text (prompt and special tokens included)."""
        batch = [self.prompt + _check_str(text) for text in texts]
        # encode_batch_fast (tokenizers >= 0.20) skips the offsets, which counting never needs.
        try:
            if self._fast:
                encoded = self._tokenizer.encode_batch_fast(batch, add_special_tokens=True)
            else:
                encoded = self._tokenizer.encode_batch(batch, add_special_tokens=True)
        except TypeError:
            raise_for_surrogates(texts)
            raise
        return [e.ids for e in encoded]

    def same_tokens(self, other: TokenCounter) -> bool:
        """Whether ``other`` gives the same ids for every text (tokenizer, prompt, window)."""
        return (self.prompt, self.max_tokens) == (other.prompt, other.max_tokens) and (
            self._tokenizer is other._tokenizer
            or self._tokenizer.to_str() == other._tokenizer.to_str()
        )

    def fits(self, text: str) -> bool:
        """Whether ``text`` (with the prompt) fits the window untruncated."""
        return self.count(text) <= self.max_tokens

    def offsets(self, text: str) -> list[tuple[int, int]]:
        """Character spans of ``text``'s tokens (no prompt, no special tokens), in order."""
        return self.encode_text(text)[1]

    def encode_text(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Ids and character spans of ``text``'s tokens (no prompt, no special tokens)."""
        # encode_batch lets go of the GIL (encode does not), so chunking threads run in parallel.
        try:
            encoding = self._tokenizer.encode_batch([_check_str(text)], add_special_tokens=False)[0]
        except TypeError:
            raise_for_surrogates([text])
            raise
        return encoding.ids, encoding.offsets

    def affixes(self, header: str) -> tuple[list[int], list[int]] | None:
        """The ids around a text's own tokens in ``prompt + header + text``: before, after.

        Only for a :attr:`sliceable` counter: then a word-edge span's ids inside its document,
        wrapped in these, are exactly what :meth:`token_ids` gives for ``header + span``.
        None when the tokenizer does not split that way (the caller tokenises instead).
        """
        if header not in self._affixes:
            if len(self._affixes) >= _AFFIX_CACHE:  # one header a document with titles
                self._affixes.clear()
            lead = self.prompt + header
            # A lone "." is one word of its own: its token marks where the text goes.
            probe = self._tokenizer.encode(lead + ".", add_special_tokens=True)
            plain = self._tokenizer.encode(lead, add_special_tokens=True).ids
            texts = [i for i, seq in enumerate(probe.sequence_ids) if seq == 0]
            found = None
            if texts:
                before, after = probe.ids[: texts[-1]], probe.ids[texts[-1] + 1 :]
                found = (before, after) if before + after == plain else None
            self._affixes[header] = found
        return self._affixes[header]

    def __repr__(self) -> str:
        return f"TokenCounter(max_tokens={self.max_tokens}, prompt={self.prompt!r})"


def _sliceable(tokenizer: Tokenizer, prompt: str) -> bool:
    """Whether a span cut at word edges tokenises, alone, as its ids inside the document.

    So for BERT-style WordPiece tokenizers (the normaliser works character by character, the
    pre-tokenizer splits at whitespace and punctuation, special tokens only at the ends) whose
    prompt ends at a word edge. Not for BPE or Unigram: a word's first piece depends on what
    precedes it.
    """
    config = json.loads(tokenizer.to_str())

    def kind(key: str) -> object:
        part = config.get(key)
        return part.get("type") if isinstance(part, dict) else None

    return (
        kind("model") == "WordPiece"
        and kind("normalizer") in (None, "BertNormalizer")
        and kind("pre_tokenizer") == "BertPreTokenizer"
        and kind("post_processor") in ("TemplateProcessing", "BertProcessing")
        and (not prompt or is_word_edge(prompt[-1]))
    )


def _check_str(text: object) -> str:
    if not isinstance(text, str):
        raise InputError(f"text must be a str, got {type(text).__name__} ({text!r:.60}).")
    return text
