"""Analyzer: text to BM25 terms with bm25s's tokenizer (lowercase, stopwords, Snowball stems).

The same analyzer must turn documents and queries into terms, so its settings are persisted
with a lexical index (:meth:`Analyzer.describe`) and a changed setting re-tokenizes the store.

Usage::

    analyzer = Analyzer()  # English stopwords, Snowball English stems (PyStemmer)
    analyzer.terms(["The cats are running"])  # [["cat", "run"]]
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from ragkit.errors import ConfigError, DependencyError

__all__ = ["Analyzer", "import_bm25s"]


class Analyzer:
    """Splits text into terms: bm25s's word pattern, lowercased, stopwords out, then stemmed.

    Args:
        stopwords: A language bm25s knows (``"en"``, ``"de"``...), a list of words, or None.
        stemmer: A Snowball algorithm name for PyStemmer (``"english"``, ``"porter"``...), or
            None for no stemming. Stemming raised SciFact BM25 NDCG@10 from 0.662 to 0.686
            (docs/benchmarks.md).
        lower: Lowercase before splitting.

    Raises:
        DependencyError: bm25s (or PyStemmer, with a stemmer) is not installed.
        ConfigError: PyStemmer has no such algorithm.
    """

    def __init__(
        self,
        *,
        stopwords: str | Sequence[str] | None = "en",
        stemmer: str | None = "english",
        lower: bool = True,
    ) -> None:
        self._bm25s = import_bm25s()
        self.stopwords = (
            stopwords if isinstance(stopwords, str) or stopwords is None else list(stopwords)
        )
        self.stemmer = stemmer
        self.lower = lower
        self._stem: Any = _snowball(stemmer) if stemmer is not None else None

    def describe(self) -> dict[str, Any]:
        """The settings, as JSON-ready values (persisted beside the terms)."""
        return {"stopwords": self.stopwords, "stemmer": self.stemmer, "lower": self.lower}

    def terms(self, texts: Sequence[str]) -> list[list[str]]:
        """The terms of each text, in order (a text of stopwords only has none)."""
        if not texts:
            return []
        split = self._bm25s.tokenize(
            list(texts),
            lower=self.lower,
            stopwords=self.stopwords or [],
            stemmer=self._stem,
            return_ids=False,
            show_progress=False,
            allow_empty=False,
        )
        return [[term for term in text if term] for text in split]  # bm25s gives "" for ""


def import_bm25s() -> Any:
    """The bm25s module.

    Raises:
        DependencyError: It is not installed.
    """
    try:
        return importlib.import_module("bm25s")
    except ImportError as exc:
        raise DependencyError(
            "BM25 search needs bm25s: install the lexical extra, pip install 'ragkit[lexical]'."
        ) from exc


def _snowball(name: str) -> Any:
    try:
        stemmer = importlib.import_module("Stemmer")
    except ImportError as exc:
        raise DependencyError(
            f"Stemming ({name!r}) needs PyStemmer: pip install 'ragkit[lexical]', "
            "or pass stemmer=None."
        ) from exc
    if name not in stemmer.algorithms():
        raise ConfigError(
            f"Unknown stemmer {name!r}; PyStemmer has {', '.join(sorted(stemmer.algorithms()))}."
        )
    return stemmer.Stemmer(name)
