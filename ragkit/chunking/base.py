"""What every chunker shares: the token budget, the contextual header and exact checks.

A chunker finds candidate spans cheaply (token offsets of the whole document), then counts
every chunk for real, ``prompt + header + text`` through the embedder's tokenizer, and splits
any that would not fit. So no chunk exceeds the window, whatever the text. For BERT-style
WordPiece tokenizers a span cut at word edges takes its ids from the document's tokens
instead, which are exactly what tokenising it alone gives (and half the work).
"""

from __future__ import annotations

import os
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol, TypeAlias, get_args, runtime_checkable

import numpy as np
from tokenizers import Tokenizer

from ragkit.chunking._tokens import DocTokens
from ragkit.chunking.chunk import Chunk, HeaderMode
from ragkit.chunking.counter import TokenCounter
from ragkit.errors import ConfigError, InputError

__all__ = ["BaseChunker", "DocumentLike", "SupportsTokenCounter", "TokenizerSource"]

_MAX_CHARS_PER_TOKEN = 4  # a longer section is cut from token offsets without a whole count
_MIN_DOCS_PER_WORKER = 8  # fewer documents than this per thread chunk in the caller's thread

Span = tuple[int, int, int]
"""``(start, end, token_count)`` of a checked chunk."""


@runtime_checkable
class SupportsTokenCounter(Protocol):
    """Anything that hands out its tokenizer, window and document prompt (a TextEmbedder)."""

    def token_counter(self) -> TokenCounter:
        """The counter chunks for this embedder are measured with."""
        ...


class DocumentLike(Protocol):
    """What :meth:`BaseChunker.chunk_documents` reads from a document (a loader's Document)."""

    @property
    def id(self) -> str:
        """The document id, used as each chunk's ``source_id``."""
        ...

    @property
    def text(self) -> str:
        """The document text."""
        ...

    @property
    def title(self) -> str | None:
        """The title, for a contextual header."""
        ...


TokenizerSource: TypeAlias = "TokenCounter | SupportsTokenCounter | Tokenizer"
"""An embedder, a :class:`TokenCounter`, or a ``tokenizers.Tokenizer`` (with ``max_tokens``)."""


@dataclass(frozen=True)
class Section:
    """A run of the document chunked on its own, under one heading path."""

    start: int
    end: int
    heading_path: tuple[str, ...] = ()


@dataclass(frozen=True)
class Budget:
    """Room for one section's chunks.

    Attributes:
        header: The contextual header put before each chunk's text ("" for none).
        size: Tokens of chunk text allowed (``chunk_size``, or what the window leaves).
        limit: Tokens allowed for ``prompt + header + text`` with special tokens.
    """

    header: str
    size: int
    limit: int


def as_counter(
    source: TokenizerSource, *, max_tokens: int | None = None, prompt: str | None = None
) -> TokenCounter:
    """The :class:`TokenCounter` for an embedder, a counter or a raw tokenizer.

    Raises:
        ConfigError: ``source`` is none of these, or a raw tokenizer comes without ``max_tokens``.
    """
    if isinstance(source, TokenCounter):
        counter = source
    elif isinstance(source, Tokenizer):
        if max_tokens is None:
            raise ConfigError(
                "A plain tokenizers.Tokenizer needs max_tokens= (the model's window, special "
                "tokens and prompt included); or pass the embedder itself."
            )
        return TokenCounter(source, max_tokens=max_tokens, prompt=prompt or "")
    elif isinstance(source, SupportsTokenCounter):
        counter = source.token_counter()
    else:
        raise ConfigError(
            f"Chunkers need an embedder, a TokenCounter or a tokenizers.Tokenizer, got "
            f"{type(source).__name__}."
        )
    if max_tokens is None and prompt is None:
        return counter
    return counter.replace(max_tokens=max_tokens, prompt=prompt)


class BaseChunker:
    """Base of the chunkers: see :class:`TokenChunker`, :class:`RecursiveChunker`.

    Args:
        tokenizer: The embedder (its tokenizer, window and document prompt are used), a
            :class:`TokenCounter`, or a ``tokenizers.Tokenizer`` with ``max_tokens``.
        max_tokens: Override the window (required with a plain tokenizer).
        prompt: Override the document prompt counted against the window.
        chunk_size: Most tokens of chunk text (default: all the window leaves after the
            prompt, special tokens and header).
        header: Put a contextual header before each chunk's ``embed_text``: the ``"title"``,
            the ``"headings"`` path, or ``"both"``, joined with ``" > "`` (offsets and ``text``
            stay exact). Outer headings are left out of a header that would take more than
            half the room; a title that leaves no room raises.

    Raises:
        ConfigError: A bad ``chunk_size`` or ``header``, or ``chunk_size`` over the window.
    """

    def __init__(
        self,
        tokenizer: TokenizerSource,
        *,
        max_tokens: int | None = None,
        prompt: str | None = None,
        chunk_size: int | None = None,
        header: HeaderMode | None = None,
    ) -> None:
        self.counter = as_counter(tokenizer, max_tokens=max_tokens, prompt=prompt)
        room = self.counter.max_tokens - self.counter.overhead
        if chunk_size is not None:
            if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size <= 0:
                raise ConfigError(f"chunk_size must be a positive int, got {chunk_size!r}.")
            if chunk_size > room:
                raise ConfigError(
                    f"chunk_size={chunk_size} does not fit the {self.counter.max_tokens}-token "
                    f"window: the prompt and special tokens take {self.counter.overhead}, so "
                    f"use chunk_size <= {room} (or leave it unset)."
                )
        if header is not None and header not in get_args(HeaderMode):
            raise ConfigError(
                f"header must be one of {', '.join(get_args(HeaderMode))} or None, got {header!r}."
            )
        self.chunk_size = chunk_size
        self.header: HeaderMode | None = header
        self.chunk_overlap = 0

    @property
    def max_tokens(self) -> int:
        """The window every chunk fits, prompt, header and special tokens included."""
        return self.counter.max_tokens

    # -- public ----------------------------------------------------------------------------

    def chunk(self, text: str, *, source_id: str = "", title: str | None = None) -> list[Chunk]:
        """Split ``text`` into chunks that each fit the window.

        Args:
            text: The document.
            source_id: Copied to every chunk's ``source_id``.
            title: The document title, for ``header="title"`` or ``"both"``.

        Returns:
            Chunks in document order (none for an empty or all-whitespace text).

        Raises:
            InputError: ``text`` is not a str, or the contextual header alone fills the window.
        """
        if not isinstance(text, str):
            raise InputError(f"text must be a str, got {type(text).__name__} ({text!r:.60}).")
        if not isinstance(source_id, str):
            raise InputError(f"source_id must be a str, got {type(source_id).__name__}.")
        if title is not None and not isinstance(title, str):
            raise InputError(f"title must be a str or None, got {type(title).__name__}.")
        if not text.strip():
            return []
        doc: DocTokens | None = None  # token offsets, computed only if a section needs cutting
        measured: dict[tuple[int, int], list[int]] = {}  # span -> the ids the embedder feeds
        budgets: dict[tuple[str, ...], Budget] = {}
        chunks: list[Chunk] = []
        for section in self._sections(text):
            path = section.heading_path
            if path not in budgets:
                budgets[path] = self._budget(title, path)
            budget = budgets[path]
            spans = self._whole(text, section, budget, measured)
            if spans is None:
                doc = doc or self._doc_tokens(text, measured)
                spans = list(self._checked(doc, section, budget))
            for start, end, count in spans:
                chunk_text = text[start:end]
                ids = measured.get((start, end))
                chunks.append(
                    Chunk(
                        source_id=source_id,
                        text=chunk_text,
                        start=start,
                        end=end,
                        token_count=count,
                        position=len(chunks),
                        heading_path=path,
                        embed_text=budget.header + chunk_text,
                        token_ids=None if ids is None else np.array(ids, dtype=np.int32),
                    )
                )
        return chunks

    def chunk_documents(self, documents: Iterable[DocumentLike]) -> Iterator[Chunk]:
        """Chunk each document (its ``id``, ``text`` and ``title``), lazily, in order."""
        for document in documents:
            yield from self.chunk(document.text, source_id=document.id, title=document.title)

    def chunk_many(
        self, documents: Sequence[DocumentLike], *, workers: int | None = None
    ) -> list[list[Chunk]]:
        """:meth:`chunk` each document, in threads; one list of chunks per document, in order.

        The tokenizer releases the GIL, so on a multi-core machine a corpus of many documents
        (a JSONL file) chunks about ``workers`` times faster than one :meth:`chunk` after another.

        Args:
            documents: Each with ``id``, ``text`` and ``title``.
            workers: Threads (default: the CPU count, at most 4; 1 chunks in this thread).

        Raises:
            InputError: As :meth:`chunk`, for the first bad document.
        """
        workers = _default_workers() if workers is None else workers
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ConfigError(f"workers must be a positive int, got {workers!r}.")

        def one(document: DocumentLike) -> list[Chunk]:
            return self.chunk(document.text, source_id=document.id, title=document.title)

        if workers == 1 or len(documents) < _MIN_DOCS_PER_WORKER * 2:
            return [one(document) for document in documents]
        workers = min(workers, len(documents) // _MIN_DOCS_PER_WORKER)
        with ThreadPoolExecutor(workers, thread_name_prefix="ragkit-chunk") as pool:
            return list(pool.map(one, documents))

    # -- for subclasses ----------------------------------------------------------------------

    def _sections(self, text: str) -> list[Section]:
        """The runs chunked separately; one section for the whole text by default."""
        return [Section(0, len(text))]

    def _split(self, doc: DocTokens, section: Section, budget: Budget) -> Sequence[Span]:
        """Candidate spans of a section; a count of -1 means not checked yet."""
        return self._windows(doc, section.start, section.end, budget)

    # -- shared machinery ------------------------------------------------------------------

    def _budget(self, title: str | None, path: tuple[str, ...]) -> Budget:
        titles: list[str] = []
        if self.header in ("title", "both") and title and title.strip():
            titles.append(" ".join(title.split()))
        headings: list[str] = []
        if self.header in ("headings", "both"):
            headings = [" ".join(h.split()) for h in path if h.strip()]
        if titles and headings and headings[0].casefold() == titles[0].casefold():
            headings = headings[1:]  # a Markdown file's title is usually its first heading
        # Headings come from the document: drop the outermost ones while the header would
        # take more than half of the room. The title is the caller's: it is kept or refused.
        half = (self.counter.max_tokens - self.counter.overhead) // 2
        while True:
            parts = titles + headings
            header = " > ".join(parts) + "\n\n" if parts else ""
            overhead = self.counter.count(header) if header else self.counter.overhead
            if not headings or overhead - self.counter.overhead <= half:
                break
            headings = headings[1:]
        room = self.counter.max_tokens - overhead
        if room <= 0:
            raise InputError(
                f"The title {header.strip()!r:.80} takes {overhead} tokens with the prompt, "
                f"filling the {self.counter.max_tokens}-token window; shorten the title or "
                "pass header=None or header='headings'."
            )
        size = min(self.chunk_size, room) if self.chunk_size else room
        if self.chunk_overlap >= size:
            raise InputError(
                f"The contextual header {header.strip()!r:.80} leaves room for {size} tokens, "
                f"not more than chunk_overlap={self.chunk_overlap}; lower the overlap."
            )
        return Budget(header=header, size=size, limit=overhead + size)

    def _whole(
        self,
        text: str,
        section: Section,
        budget: Budget,
        measured: dict[tuple[int, int], list[int]],
    ) -> list[Span] | None:
        """The section as one chunk if it fits (one count, no offsets), else None."""
        start, end = _strip(text, section.start, section.end)
        if start == end:
            return []
        if end - start > _MAX_CHARS_PER_TOKEN * budget.size:
            return None  # surely too long: not worth a count
        ids = self.counter.token_ids([budget.header + text[start:end]])[0]
        if len(ids) > budget.limit:
            return None
        measured[start, end] = ids
        return [(start, end, len(ids))]

    def _checked(self, doc: DocTokens, section: Section, budget: Budget) -> Iterator[Span]:
        spans = [
            _strip(doc.text, start, end) + (count,)
            for start, end, count in self._split(doc, section, budget)
        ]
        spans = [span for span in spans if span[0] != span[1]]
        unmeasured = []
        for i, (start, end, count) in enumerate(spans):
            if count < 0 and (ids := self._sliced(doc, start, end, budget)) is not None:
                spans[i] = (start, end, len(ids))
                doc.measured[start, end] = ids
            elif count < 0:
                unmeasured.append(i)
        if unmeasured:  # one tokenizer call for all the candidates
            texts = [budget.header + doc.text[spans[i][0] : spans[i][1]] for i in unmeasured]
            for i, ids in zip(unmeasured, self.counter.token_ids(texts), strict=True):
                spans[i] = (spans[i][0], spans[i][1], len(ids))
                doc.measured[spans[i][0], spans[i][1]] = ids
        for start, end, count in spans:
            if count <= budget.limit:
                yield start, end, count
            else:
                yield from self._windows(doc, start, end, budget)

    def _measure(self, doc: DocTokens, start: int, end: int, budget: Budget) -> int:
        ids = self._sliced(doc, start, end, budget)
        if ids is None:
            ids = self.counter.token_ids([budget.header + doc.text[start:end]])[0]
        doc.measured[start, end] = ids
        return len(ids)

    def _doc_tokens(self, text: str, measured: dict[tuple[int, int], list[int]]) -> DocTokens:
        ids, offsets = self.counter.encode_text(text)
        return DocTokens(text, offsets, measured, ids if self.counter.sliceable else None)

    def _sliced(self, doc: DocTokens, start: int, end: int, budget: Budget) -> list[int] | None:
        """A span's ids taken from its document's tokens, where that is exact (else None).

        Saves tokenising every candidate chunk a second time (see :meth:`DocTokens.slice_ids`).
        """
        affixes = self.counter.affixes(budget.header) if self.counter.sliceable else None
        inner = doc.slice_ids(start, end) if affixes is not None else None
        return None if inner is None or affixes is None else [*affixes[0], *inner, *affixes[1]]

    def _windows(
        self, doc: DocTokens, start: int, end: int, budget: Budget, overlap: int = 0
    ) -> list[Span]:
        """Checked token windows over ``[start, end)``, ``overlap`` tokens shared by neighbours."""
        positions, tokens = doc.bounds(start, end)
        out: list[Span] = []
        k, last = 0, len(positions) - 1
        while k < last:
            j = max(k + 1, bisect_right(tokens, tokens[k] + budget.size) - 1)
            while True:
                a, b = _strip(doc.text, positions[k], positions[j])
                if a == b:
                    break
                count = self._measure(doc, a, b, budget)
                if count <= budget.limit:
                    out.append((a, b, count))
                    break
                if j == k + 1:
                    out.extend(self._characters(doc, a, b, budget))
                    break
                # Retokenised on its own the piece came out longer: drop at least the excess.
                shorter = bisect_right(tokens, tokens[j] - (count - budget.limit)) - 1
                j = max(k + 1, min(j - 1, shorter))
            if j >= last:
                break
            k = max(k + 1, bisect_left(tokens, tokens[j] - overlap)) if overlap else j
        return out

    def _characters(self, doc: DocTokens, start: int, end: int, budget: Budget) -> list[Span]:
        """Last resort for a span between two token cuts that does not fit: longest prefixes."""
        out: list[Span] = []
        pos = start
        while pos < end:
            pos, _ = _strip(doc.text, pos, end)
            if pos == end:
                break
            first = self._measure(doc, pos, pos + 1, budget)
            if first > budget.limit:
                raise InputError(
                    f"{doc.text[pos]!r} (offset {pos}) alone takes {first - (budget.limit - budget.size)} "
                    f"tokens, more than the {budget.size} the prompt and header leave; use a "
                    "larger chunk_size, a shorter title, or no header."
                )
            good, good_count, bad = pos + 1, first, end + 1
            while bad - good > 1:
                mid = (good + bad) // 2
                a, b = _strip(doc.text, pos, mid)
                count = self._measure(doc, a, b, budget)
                if count <= budget.limit:
                    good, good_count = mid, count
                else:
                    bad = mid
            a, b = _strip(doc.text, pos, good)
            out.append((a, b, good_count))
            pos = good
        return out


def _default_workers() -> int:
    """CPUs this process may run on (not the host's count, in a container), at most 4."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(4, cpus or 1))


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    """``[start, end)`` without leading and trailing whitespace (``str.isspace``)."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
