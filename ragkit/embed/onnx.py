"""TextEmbedder: tokenize -> run ONNX -> pool -> (Matryoshka) -> normalise, with the model's prompts.

Usage::

    from ragkit import TextEmbedder
    embedder = TextEmbedder("intfloat/e5-small-v2", precision="int8")
    docs = embedder.embed_documents(["Binary codes take 32x less memory."])  # "passage: " added
    query = embedder.embed_query("how much memory do binary codes save?")  # "query: " added
    scores = docs @ query  # cosine similarities: vectors are unit length
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt
from tqdm.auto import tqdm

from ragkit._batching import length_batches
from ragkit._onnx import EncoderIO, create_session, inspect_encoder_io, resolve_providers
from ragkit._resolve import ResolvedModel, resolve_model, resolve_spec
from ragkit._tokenize import EncodedBatch, IdRow, TextTokenizer, was_truncated
from ragkit.catalog import ModelSpec
from ragkit.chunking.counter import TokenCounter
from ragkit.config import get_settings
from ragkit.embed._windows import TextLayout
from ragkit.embed.base import EmbedStats, check_texts
from ragkit.embed.pooling import l2_normalize, layer_norm, pool, truncate_dim
from ragkit.embed.tokens import TokenStates
from ragkit.errors import ConfigError, InputError, ModelGraphError
from ragkit.types import Matrix, Precision, Vector

__all__ = ["TextEmbedder", "Truncation"]

logger = logging.getLogger(__name__)

Truncation = Literal["warn", "error", "silent"]
"""What to do when a text is longer than the model's window: log a warning, raise, or nothing."""

_SORT_WINDOW = 2048  # texts are tokenised and length-sorted this many at a time (bounds memory)
_MAX_REPORTED = 100


class TextEmbedder:
    """A local ONNX text embedder that applies each model's query and document prompts.

    Args:
        model: A catalogue id (``"BAAI/bge-small-en-v1.5"``), a local folder in the
            sentence-transformers layout, or a :class:`ModelSpec`. Defaults to ``RAGKIT_MODEL``.
        precision: ``"fp32"`` or ``"int8"`` (the repo's quantized file, or one built and cached).
        dim: Matryoshka dimension: keep the first ``dim`` dimensions, then renormalise.
        batch_size: Most texts per ONNX run.
        max_batch_tokens: Most padded tokens per ONNX run: long texts go in smaller batches,
            which measured faster on CPU (see docs/benchmarks.md).
        threads: ONNX Runtime intra-op threads (default: ONNX Runtime's choice, all cores).
        providers: ONNX Runtime providers, e.g. ``["CUDAExecutionProvider", "CPUExecutionProvider"]``.
        cuda: Shortcut for CUDA then CPU; fails clearly if CUDA does not attach.
        cache_dir: Model cache (default ``RAGKIT_CACHE_DIR``).
        offline: Never use the network (default ``RAGKIT_OFFLINE`` / ``HF_HUB_OFFLINE``).
        max_tokens: Window in tokens, prompt and special tokens included (default: the model's).
        query_prompt: Replace the model's query prompt.
        document_prompt: Replace the model's document prompt.
        truncation: ``"warn"`` (default), ``"error"`` or ``"silent"`` for texts over the window.
        lazy_load: Load files and the session at first use rather than now.
        enable_cpu_mem_arena: ONNX Runtime's CPU arena (faster; turn off to cap memory).
        show_progress_bar: Show a bar (``None``: when ragkit logs at INFO or lower).
    """

    def __init__(
        self,
        model: str | Path | ModelSpec | None = None,
        *,
        precision: Precision = "fp32",
        dim: int | None = None,
        batch_size: int = 32,
        max_batch_tokens: int = 1024,
        threads: int | None = None,
        providers: Sequence[str] | None = None,
        cuda: bool = False,
        cache_dir: str | Path | None = None,
        offline: bool | None = None,
        max_tokens: int | None = None,
        query_prompt: str | None = None,
        document_prompt: str | None = None,
        truncation: Truncation = "warn",
        lazy_load: bool = True,
        enable_cpu_mem_arena: bool = True,
        show_progress_bar: bool | None = None,
    ) -> None:
        settings = get_settings()
        overrides: dict[str, Any] = {"cache_dir": Path(cache_dir).expanduser()} if cache_dir else {}
        if offline is not None:
            overrides["offline"] = offline
        self._settings = settings.model_copy(update=overrides)
        spec, _ = resolve_spec(model if model is not None else settings.model)
        changes: dict[str, object] = {}
        if query_prompt is not None:
            changes["query_prompt"] = query_prompt
        if document_prompt is not None:
            changes["document_prompt"] = document_prompt
        if max_tokens is not None:
            changes["max_tokens"] = max_tokens
        self.spec = spec.with_overrides(**changes) if changes else spec
        self._model_arg = model if model is not None else settings.model
        self.precision: Precision = precision
        self._dim = self._check_dim(dim)
        if batch_size < 1 or max_batch_tokens < 1:
            raise ConfigError(
                f"batch_size and max_batch_tokens must be at least 1, got {batch_size} and {max_batch_tokens}."
            )
        if truncation not in ("warn", "error", "silent"):
            raise ConfigError(
                f"truncation must be 'warn', 'error' or 'silent', got {truncation!r}."
            )
        self.batch_size = batch_size
        self.max_batch_tokens = max_batch_tokens
        self.threads = threads
        self.providers = resolve_providers(providers, cuda=cuda)
        self.truncation: Truncation = truncation
        self.enable_cpu_mem_arena = enable_cpu_mem_arena
        self.show_progress_bar = show_progress_bar
        self.last_stats = EmbedStats(texts=0, tokens=0, truncated=0)
        self._lock = threading.Lock()
        self._loaded: tuple[ResolvedModel, TextTokenizer, Any, EncoderIO] | None = None
        if not lazy_load:
            self._load()

    # -- configuration -------------------------------------------------------------------

    def _check_dim(self, dim: int | None) -> int | None:
        if dim is None or dim == self.spec.dim:
            return None
        if not 0 < dim < self.spec.dim:
            raise ConfigError(
                f"dim must be between 1 and {self.spec.dim} for {self.spec.model_id}, got {dim}."
            )
        if not self.spec.matryoshka_dims:
            warnings.warn(
                f"{self.spec.model_id} was not trained for Matryoshka truncation; dim={dim} loses "
                "quality. Prefer a Matryoshka model or a rotation fitted on your corpus.",
                UserWarning,
                stacklevel=3,
            )
        return dim

    @property
    def dim(self) -> int:
        """Dimension of the returned vectors (the Matryoshka ``dim`` when set)."""
        return self._dim or self.spec.dim

    @property
    def max_tokens(self) -> int:
        """The window in tokens, prompt and special tokens included."""
        return self.spec.max_tokens

    def token_counter(self) -> TokenCounter:
        """This model's tokenizer, window and document prompt, for chunkers (loads the model).

        Chunks measured with it fit :meth:`embed_documents` untruncated.
        """
        _, tokenizer, _, _ = self._load()
        return TokenCounter(
            tokenizer.tokenizer,
            max_tokens=self.spec.max_tokens,
            prompt=self.spec.prompt_for("document"),
        )

    def fingerprint(self) -> dict[str, Any]:
        """What determines the vectors; stores compare it to detect a mismatched embedder."""
        return {
            "model": self.spec.model_id,
            "revision": self.spec.revision,
            "precision": self.precision,
            "dim": self.dim,
            "pooling": self.spec.pooling,
            "normalize": self.spec.normalize,
            "max_tokens": self.spec.max_tokens,
            "query_prompt": self.spec.query_prompt,
            "document_prompt": self.spec.document_prompt,
        }

    def __repr__(self) -> str:
        dim = f", dim={self._dim}" if self._dim else ""
        return f"TextEmbedder({self.spec.model_id!r}, precision={self.precision!r}{dim})"

    # -- loading ---------------------------------------------------------------------------

    def _load(self) -> tuple[ResolvedModel, TextTokenizer, Any, EncoderIO]:
        with self._lock:
            if self._loaded is None:
                resolved = resolve_model(
                    self.spec if not isinstance(self._model_arg, (str, Path)) else self._model_arg,
                    precision=self.precision,
                    settings=self._settings,
                    show_progress_bar=self.show_progress_bar,
                )
                tokenizer = TextTokenizer(resolved.tokenizer_path, max_tokens=self.spec.max_tokens)
                session = create_session(
                    resolved.onnx_path,
                    providers=self.providers,
                    threads=self.threads,
                    enable_cpu_mem_arena=self.enable_cpu_mem_arena,
                )
                io = inspect_encoder_io(session, resolved.onnx_path)
                if io.output_dim is not None and io.output_dim != self.spec.dim:
                    raise ModelGraphError(
                        f"{resolved.onnx_path.name} outputs {io.output_dim}-d vectors but the model's "
                        f"config says {self.spec.dim}; the folder mixes files of different models."
                    )
                self._loaded = (resolved, tokenizer, session, io)
            return self._loaded

    def providers_in_use(self) -> list[str]:
        """Providers ONNX Runtime actually attached (loads the model)."""
        return list(self._load()[2].get_providers())

    # -- embedding -------------------------------------------------------------------------

    def embed_documents(
        self,
        texts: Sequence[str],
        *,
        prompt: str | None = None,
        prompt_name: str | None = None,
        batch_size: int | None = None,
        show_progress_bar: bool | None = None,
    ) -> Matrix:
        """Embed documents with the model's document prompt.

        Args:
            texts: The documents.
            prompt: Literal text to prepend instead of the document prompt.
            prompt_name: A named instruction of the model (``"query"``, ``"document"``, a task).
            batch_size: Override the embedder's batch size for this call.
            show_progress_bar: Override the embedder's setting for this call.

        Returns:
            float32 array ``(len(texts), dim)``; L2-normalised when the model is.

        Raises:
            InputError: ``texts`` is not a list of strings, or a text is over the window
                and ``truncation="error"``.
        """
        items = check_texts(texts)
        chosen = self._choose_prompt(prompt, prompt_name, default="document")
        return self._embed(items, chosen, batch_size or self.batch_size, show_progress_bar)

    def embed_token_ids(self, rows: Sequence[IdRow], *, batch_size: int | None = None) -> Matrix:
        """Embed documents tokenised already, e.g. :attr:`ragkit.Chunk.token_ids`.

        Each row is what :meth:`token_counter` gives for a document: prompt and special tokens
        included, so this is :meth:`embed_documents` without tokenising again.

        Raises:
            InputError: A row is empty, longer than the window, or holds an id outside the
                tokenizer's vocabulary (ids from another tokenizer).
        """
        _, tokenizer, _, _ = self._load()
        lengths = [len(row) for row in rows]
        bad = [i for i, n in enumerate(lengths) if not 0 < n <= self.spec.max_tokens]
        if bad:
            raise InputError(
                f"Token row {bad[0]} has {lengths[bad[0]]} ids; each row needs 1 to "
                f"{self.spec.max_tokens} (the window): chunk the text, or use embed_documents."
            )
        vocab = tokenizer.id_limit
        for i, row in enumerate(rows):
            ids = np.asarray(row)
            if ids.dtype.kind not in "iu" or ids.min() < 0 or ids.max() >= vocab:
                raise InputError(
                    f"Token row {i} holds ids outside this model's vocabulary (0 to {vocab - 1}) "
                    "(or ids that are not integers): tokenise with this embedder's "
                    "token_counter(), or use embed_documents."
                )
        out = np.empty((len(rows), self.dim), dtype=np.float32)
        for batch in length_batches(
            lengths,
            batch_size=batch_size or self.batch_size,
            max_batch_tokens=self.max_batch_tokens,
        ):
            out[batch] = self._run(tokenizer.pad_ids([rows[r] for r in batch]))
        self.last_stats = EmbedStats(texts=len(rows), tokens=sum(lengths), truncated=0)
        return out

    @overload
    def embed_query(
        self, text: str, *, prompt: str | None = ..., prompt_name: str | None = ...
    ) -> Vector: ...

    @overload
    def embed_query(
        self, text: Sequence[str], *, prompt: str | None = ..., prompt_name: str | None = ...
    ) -> Matrix: ...

    def embed_query(
        self,
        text: str | Sequence[str],
        *,
        prompt: str | None = None,
        prompt_name: str | None = None,
    ) -> Vector | Matrix:
        """Embed a query (``(dim,)``) or a list of queries (``(n, dim)``) with the query prompt.

        Raises:
            InputError: An item is not a string.
        """
        chosen = self._choose_prompt(prompt, prompt_name, default="query")
        if isinstance(text, str):
            single: Vector = self._embed([text], chosen, self.batch_size, False)[0]
            return single
        return self._embed(check_texts(text, what="queries"), chosen, self.batch_size, None)

    def _choose_prompt(self, prompt: str | None, prompt_name: str | None, *, default: str) -> str:
        if prompt is not None and prompt_name is not None:
            raise ConfigError("Pass either prompt= or prompt_name=, not both.")
        if prompt is not None:
            return prompt
        return self.spec.prompt_for(prompt_name or default)

    def _embed(self, texts: list[str], prompt: str, batch_size: int, show: bool | None) -> Matrix:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            self.last_stats = EmbedStats(texts=0, tokens=0, truncated=0)
            return out
        _, tokenizer, _, _ = self._load()
        tokens = 0
        truncated: list[int] = []
        window = max(_SORT_WINDOW, batch_size)
        with tqdm(
            total=len(texts), unit="text", disable=not _show_bar(show, self.show_progress_bar)
        ) as bar:
            for start in range(0, len(texts), window):
                encodings = tokenizer.encode([prompt + t for t in texts[start : start + window]])
                cut = [start + i for i, e in enumerate(encodings) if was_truncated(e)]
                self._handle_truncation(cut, len(texts))
                truncated += cut
                tokens += sum(len(e.ids) for e in encodings)
                # Longest first: the first batch is the largest, so ONNX Runtime's arena
                # does not keep growing.
                lengths = [len(e.ids) for e in encodings]
                for rows in length_batches(
                    lengths, batch_size=batch_size, max_batch_tokens=self.max_batch_tokens
                ):
                    out[[start + r for r in rows]] = self._run(
                        tokenizer.pad([encodings[r] for r in rows])
                    )
                    bar.update(len(rows))
        if truncated and self.truncation == "warn":
            logger.warning(
                "%d of %d texts were longer than %s's window of %d tokens (prompt included) and "
                "were truncated; split long texts into chunks to embed all of them.",
                len(truncated),
                len(texts),
                self.spec.model_id,
                self.spec.max_tokens,
            )
        self.last_stats = EmbedStats(
            len(texts), tokens, len(truncated), tuple(truncated[:_MAX_REPORTED])
        )
        return out

    def _handle_truncation(self, cut: list[int], total: int) -> None:
        if cut and self.truncation == "error":
            raise InputError(
                f"{len(cut)} of {total} texts exceed the {self.spec.max_tokens}-token window "
                f"(prompt included), e.g. index {cut[0]}; chunk them, or pass truncation='warn'."
            )

    def _run(self, batch: EncodedBatch) -> Matrix:
        _, _, _, io = self._load()
        states = self._run_states(batch)
        vectors = states if io.pooled else pool(states, batch.attention_mask, self.spec.pooling)
        return self.postprocess(np.asarray(vectors, dtype=np.float32))

    def _run_states(self, batch: EncodedBatch) -> npt.NDArray[np.float32]:
        _, _, session, io = self._load()
        states: npt.NDArray[np.float32] = session.run([io.output], batch.feed(io.inputs))[0]
        return states

    def postprocess(self, vectors: Matrix) -> Matrix:
        """The steps after pooling: Matryoshka ``dim``, then L2 normalisation.

        The layer norm goes first where the model wants it (nomic); normalisation only
        when the model normalises.

        Args:
            vectors: Pooled vectors ``(n, H)`` at the model's full width.

        Returns:
            ``(n, dim)`` float32, as :meth:`embed_documents` returns them.
        """
        if self._dim is not None:
            if self.spec.layer_norm_before_truncate:
                vectors = layer_norm(vectors)
            vectors = truncate_dim(vectors, self._dim)
        return l2_normalize(vectors) if self.spec.normalize else vectors

    # -- token states (late chunking) ------------------------------------------------------

    @overload
    def token_states(  # type: ignore[overload-overlap]  # str is a Sequence[str]
        self,
        text: str,
        *,
        prompt: str | None = ...,
        prompt_name: str | None = ...,
        overlap: int | None = ...,
    ) -> TokenStates: ...

    @overload
    def token_states(
        self,
        text: Sequence[str],
        *,
        prompt: str | None = ...,
        prompt_name: str | None = ...,
        overlap: int | None = ...,
    ) -> list[TokenStates]: ...

    def token_states(
        self,
        text: str | Sequence[str],
        *,
        prompt: str | None = None,
        prompt_name: str | None = None,
        overlap: int | None = None,
    ) -> TokenStates | list[TokenStates]:
        """Per-token hidden states of whole texts, with the document prompt, never truncated.

        A text longer than the window runs as macro-windows of the window's size overlapping
        by ``overlap`` tokens (each with the prompt and special tokens); every token's state
        comes from the window where it has the most context on both sides (see
        :mod:`ragkit.embed._windows`). Windows of many texts share batches. This is what late
        chunking pools (:func:`ragkit.embed.late.late_chunk`).

        Args:
            text: One text, or a list of texts.
            prompt: Literal text to prepend instead of the document prompt.
            prompt_name: A named instruction of the model.
            overlap: Text tokens shared by neighbouring windows (default: a quarter of
                ``max_tokens``, capped below the text tokens a window holds).

        Returns:
            A :class:`TokenStates` per text (prompt and special tokens left out).

        Raises:
            ModelGraphError: The ONNX graph only outputs pooled vectors (no token states).
            ConfigError: ``overlap`` is out of range, or the prompt fills the window.
            InputError: An item is not a string.
        """
        chosen = self._choose_prompt(prompt, prompt_name, default="document")
        if isinstance(text, str):
            return self._token_states([text], chosen, overlap)[0]
        return self._token_states(check_texts(text), chosen, overlap)

    def _token_states(
        self, texts: list[str], prompt: str, overlap: int | None
    ) -> list[TokenStates]:
        resolved, tokenizer, _, io = self._load()
        if io.pooled:
            raise ModelGraphError(
                f"Late chunking needs per-token outputs, but {resolved.onnx_path.name} only "
                f"gives pooled vectors ({io.output!r}). Export the model with its token states "
                "(last_hidden_state), e.g. optimum-cli export onnx --task feature-extraction."
            )
        before, after = tokenizer.special_template()
        layouts = [
            TextLayout.build(e, len(prompt), self.spec.max_tokens - len(before) - len(after))
            for e in tokenizer.encode_untruncated([prompt + t for t in texts])
        ]
        runs = [
            (i, window, layout.window_ids(window, before, after))
            for i, layout in enumerate(layouts)
            for window in layout.plan(overlap, self.spec.max_tokens)
        ]
        out = [np.empty((len(layout.ids), self.spec.dim), dtype=np.float32) for layout in layouts]
        for rows in length_batches(
            [len(ids) for _, _, ids in runs],
            batch_size=self.batch_size,
            max_batch_tokens=self.max_batch_tokens,
        ):
            states = self._run_states(tokenizer.pad_ids([runs[r][2] for r in rows]))
            for row, r in enumerate(rows):
                i, window, _ = runs[r]
                first = len(before) + len(layouts[i].lead) + window.keep_start - window.start
                kept = states[row, first : first + window.keep_end - window.keep_start]
                out[i][window.keep_start : window.keep_end] = kept
        self.last_stats = EmbedStats(len(texts), sum(len(ids) for _, _, ids in runs), 0)
        return [
            TokenStates(
                states, layout.offsets, np.asarray(layout.ids, dtype=np.int64), layout.windows
            )
            for states, layout in zip(out, layouts, strict=True)
        ]


def _show_bar(call: bool | None, default: bool | None) -> bool:
    choice = call if call is not None else default
    if choice is not None:
        return choice
    return logger.isEnabledFor(logging.INFO)
