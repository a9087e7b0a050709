"""CrossEncoderReranker: score (query, passage) pairs with an ONNX cross-encoder, best first.

Each pair is tokenised as ``[CLS] query [SEP] passage [SEP]`` (the model's own pair template;
token types only where the graph takes them), the passage cut to the window, never the query
unless it alone takes more than ``max_query_tokens``. Pairs run in length-sorted batches with
dynamic padding; scores come back in input order as probabilities in [0, 1]: the sigmoid of
the logit (one-label heads) or the softmax's relevant class (two-label heads).

Usage::

    from ragkit.rerank.cross_encoder import CrossEncoderReranker
    reranker = CrossEncoderReranker("cross-encoder/ms-marco-MiniLM-L-6-v2", precision="int8")
    reranker.score("what do binary codes save?", ["Memory: 32x less.", "Bananas are yellow."])
    # array([0.93, 0.0001], dtype=float32)
    passages = reranker.rerank(question, retriever.retrieve(question, k=40), top_k=5)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from ragkit._batching import length_batches
from ragkit._onnx import create_session, resolve_providers
from ragkit._resolve import ModelPaths, resolve_files
from ragkit.catalog import RerankerSpec
from ragkit.config import get_settings
from ragkit.errors import ConfigError, InputError
from ragkit.rerank._head import (
    FloatArray,
    ScorerIO,
    inspect_scorer_io,
    relevance_logits,
    resolve_reranker,
    sigmoid,
)
from ragkit.rerank._pairs import PairTokenizer
from ragkit.retrieval import Passage
from ragkit.types import Precision

__all__ = ["DEFAULT_RERANKER", "CrossEncoderReranker", "RerankStats"]

logger = logging.getLogger(__name__)

DEFAULT_RERANKER = "cross-encoder/ms-marco-MiniLM-L-6-v2"


@dataclass(frozen=True)
class RerankStats:
    """What the last call did.

    Attributes:
        pairs: Pairs run through the model.
        tokens: Tokens in those pairs (special tokens included, padding not).
        truncated: Indices of passages cut to fit the window.
        query_truncated: Whether the query was cut to ``max_query_tokens``.
        empty: Indices of passages with no text, scored 0 without running the model.
    """

    pairs: int = 0
    tokens: int = 0
    truncated: tuple[int, ...] = ()
    query_truncated: bool = False
    empty: tuple[int, ...] = ()


class CrossEncoderReranker:
    """A local ONNX cross-encoder that reorders candidate passages for a query.

    Passages with no text (``None``, ``""`` or only whitespace) score 0.0 (raw logit ``-inf``)
    without running the model, so they rank last; anything else that is not a string is an
    :class:`~ragkit.errors.InputError`.

    Args:
        model: A catalogue id (``"cross-encoder/ms-marco-MiniLM-L-6-v2"``), a local folder
            holding ``model.onnx`` (or ``onnx/model.onnx``), ``tokenizer.json`` and
            ``config.json``, or a :class:`~ragkit.catalog.RerankerSpec`.
        precision: ``"fp32"`` or ``"int8"`` (the repo's quantized file, or one built and cached).
        batch_size: Most pairs per ONNX run.
        max_batch_tokens: Most padded tokens per ONNX run (long pairs go in smaller batches).
        threads: ONNX Runtime intra-op threads (default: ONNX Runtime's choice, all cores).
        providers: ONNX Runtime providers, e.g. ``["CUDAExecutionProvider", "CPUExecutionProvider"]``.
        cuda: Shortcut for CUDA then CPU; fails clearly if CUDA does not attach.
        max_length: Window of one pair in tokens, special tokens included (default: the model's).
        max_query_tokens: Most query tokens kept (default: half the window); longer queries
            are cut and reported.
        cache_dir: Model cache (default ``RAGKIT_CACHE_DIR``).
        offline: Never use the network (default ``RAGKIT_OFFLINE`` / ``HF_HUB_OFFLINE``).
        lazy_load: Load files and the session at first use rather than now.
        enable_cpu_mem_arena: ONNX Runtime's CPU arena (faster; turn off to cap memory).
        show_progress_bar: Show download bars (``None``: when ragkit logs at INFO or lower).

    Raises:
        ConfigError: A size argument is out of range.
        ModelNotFoundError: Unknown reranker id.
    """

    def __init__(
        self,
        model: str | Path | RerankerSpec = DEFAULT_RERANKER,
        *,
        precision: Precision = "fp32",
        batch_size: int = 32,
        max_batch_tokens: int = 4096,
        threads: int | None = None,
        providers: Sequence[str] | None = None,
        cuda: bool = False,
        max_length: int | None = None,
        max_query_tokens: int | None = None,
        cache_dir: str | Path | None = None,
        offline: bool | None = None,
        lazy_load: bool = True,
        enable_cpu_mem_arena: bool = True,
        show_progress_bar: bool | None = None,
    ) -> None:
        if batch_size < 1 or max_batch_tokens < 1:
            raise ConfigError(
                f"batch_size and max_batch_tokens must be at least 1, got {batch_size} and {max_batch_tokens}."
            )
        update: dict[str, Any] = {"cache_dir": Path(cache_dir).expanduser()} if cache_dir else {}
        if offline is not None:
            update["offline"] = offline
        self._settings = get_settings().model_copy(update=update)
        spec, self._folder = resolve_reranker(model)
        self.spec = spec.with_overrides(max_tokens=max_length) if max_length else spec
        self.precision: Precision = precision
        self.batch_size, self.max_batch_tokens = batch_size, max_batch_tokens
        self.threads, self.max_query_tokens = threads, max_query_tokens
        self.providers = resolve_providers(providers, cuda=cuda)
        self.enable_cpu_mem_arena = enable_cpu_mem_arena
        self.show_progress_bar = show_progress_bar
        self.last_stats = RerankStats()
        self._lock = threading.Lock()
        self._loaded: tuple[ModelPaths, PairTokenizer, Any, ScorerIO] | None = None
        if not lazy_load:
            self._load()

    @property
    def max_length(self) -> int:
        """Window of one (query, passage) pair in tokens, special tokens included."""
        return self.spec.max_tokens

    def __repr__(self) -> str:
        return f"CrossEncoderReranker({self.spec.model_id!r}, precision={self.precision!r})"

    def _load(self) -> tuple[ModelPaths, PairTokenizer, Any, ScorerIO]:
        with self._lock:
            if self._loaded is None:
                paths = resolve_files(
                    self.spec,
                    self._folder,
                    precision=self.precision,
                    settings=self._settings,
                    show_progress_bar=self.show_progress_bar,
                )
                tokenizer = PairTokenizer(
                    paths.tokenizer_path,
                    max_tokens=self.spec.max_tokens,
                    max_query_tokens=self.max_query_tokens,
                )
                session = create_session(
                    paths.onnx_path,
                    providers=self.providers,
                    threads=self.threads,
                    enable_cpu_mem_arena=self.enable_cpu_mem_arena,
                )
                io = inspect_scorer_io(session, paths.onnx_path, num_labels=self.spec.num_labels)
                self._loaded = (paths, tokenizer, session, io)
            return self._loaded

    def providers_in_use(self) -> list[str]:
        """Providers ONNX Runtime actually attached (loads the model)."""
        return list(self._load()[2].get_providers())

    # -- scoring ---------------------------------------------------------------------------

    def score(self, query: str, passages: Sequence[str | None], *, raw: bool = False) -> FloatArray:
        """Relevance of each passage to ``query``, in input order.

        Args:
            query: The question.
            passages: Candidate texts; ``None`` or blank ones score 0.0 without running.
            raw: Return relevance logits instead of probabilities: the logit of one-label
                models, relevant minus irrelevant logit for two-label ones (``sigmoid`` of
                it is the probability either way).

        Returns:
            float32 array ``(len(passages),)``: probabilities in [0, 1], or logits.

        Raises:
            InputError: An empty query, or a passage that is not a string or None.
            ModelGraphError: The model's output has an unexpected shape.
        """
        logits = self._logits(_check_query(query), _check_passages(passages))
        return logits if raw else sigmoid(logits)

    def rank(
        self, query: str, passages: Sequence[str | None], *, top_k: int | None = None
    ) -> list[tuple[int, float]]:
        """``(index, probability)`` of the passages, best first (ties keep input order).

        Raises:
            ConfigError: ``top_k`` below 1.
            InputError: As for :meth:`score`.
        """
        scores = self.score(query, passages)
        order = np.argsort(-scores, kind="stable")[: _check_top_k(top_k)]
        return [(int(i), float(scores[i])) for i in order]

    def rerank(
        self, query: str, passages: Sequence[Passage], *, top_k: int | None = None
    ) -> list[Passage]:
        """The passages best first, ``score`` set to the cross-encoder's probability.

        The first-stage score stays available where :class:`~ragkit.retrieval.Passage`
        records each stage's score (``scores``), under ``"rerank"`` for this one. Satisfies
        :class:`~ragkit.retrieval.Reranker`, so it plugs into ``Retriever(reranker=...)``.

        Raises:
            ConfigError: ``top_k`` below 1.
            InputError: An empty query, or an item that is not a Passage.
        """
        bad = next((i for i, p in enumerate(passages) if not isinstance(p, Passage)), None)
        if bad is not None:
            raise InputError(
                f"rerank() takes Passage objects; item {bad} is {type(passages[bad]).__name__}. "
                "Use rank() or score() for plain strings."
            )
        ranked = self.rank(query, [p.text for p in passages], top_k=top_k)
        staged = "scores" in {f.name for f in fields(Passage)}
        return [_with_score(passages[i], score, staged) for i, score in ranked]

    def _logits(self, query: str, passages: list[str | None]) -> FloatArray:
        out = np.full(len(passages), -np.inf, dtype=np.float32)
        present = [i for i, p in enumerate(passages) if p is not None and p.strip()]
        empty = tuple(i for i in range(len(passages)) if i not in set(present))
        if not present:
            self.last_stats = RerankStats(empty=empty)
            return out
        paths, tokenizer, session, io = self._load()
        pairs = tokenizer.encode(query, [passages[i] or "" for i in present])
        lengths = [len(e.ids) for e in pairs.encodings]
        for rows in length_batches(
            lengths, batch_size=self.batch_size, max_batch_tokens=self.max_batch_tokens
        ):
            batch = tokenizer.pad([pairs.encodings[r] for r in rows])
            output = session.run([io.output], batch.feed(io.inputs))[0]
            logits = relevance_logits(output, paths.onnx_path.name, io.output, len(rows))
            out[[present[r] for r in rows]] = logits
        if pairs.query_truncated:
            logger.warning(
                "The query is longer than max_query_tokens=%d of %s and was cut to it; "
                "pass a shorter query or raise max_query_tokens.",
                tokenizer.max_query_tokens,
                self.spec.model_id,
            )
        logger.debug("%d of %d passages cut to the window", len(pairs.truncated), len(present))
        self.last_stats = RerankStats(
            pairs=len(present),
            tokens=sum(lengths),
            truncated=tuple(present[i] for i in pairs.truncated),
            query_truncated=pairs.query_truncated,
            empty=empty,
        )
        return out


def _check_query(query: object) -> str:
    if not isinstance(query, str) or not query.strip():
        raise InputError("The query is empty: pass the question as text.")
    return query


def _check_passages(passages: Sequence[str | None]) -> list[str | None]:
    if isinstance(passages, str):
        raise InputError("passages must be a list of strings, not one string.")
    items = list(passages)
    bad = next((i for i, p in enumerate(items) if p is not None and not isinstance(p, str)), None)
    if bad is not None:
        raise InputError(
            f"Passage {bad} is {type(items[bad]).__name__}; passages must be strings (or None)."
        )
    return items


def _check_top_k(top_k: int | None) -> int | None:
    if top_k is not None and top_k < 1:
        raise ConfigError(f"top_k must be at least 1 (or None for all), got {top_k}.")
    return top_k


def _with_score(passage: Passage, score: float, staged: bool) -> Passage:
    if not staged:
        return replace(passage, score=score)
    scores = {**(getattr(passage, "scores", None) or {}), "rerank": score}
    return replace(passage, score=score, scores=scores)
