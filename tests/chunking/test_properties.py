"""Property tests: whatever the text, no chunk exceeds the window and offsets are exact."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer

from ragkit import InputError, MarkdownChunker, RecursiveChunker, TokenChunker
from ragkit.chunking import BaseChunker
from tests.chunking.conftest import raw_count, raw_ids

PIECES = st.one_of(
    st.text(max_size=12),  # any unicode
    st.sampled_from(
        [
            " ",
            "\n",
            "\n\n",
            "\t",
            "\u3000",
            ". ",
            "! ",
            "。",
            "# ",
            "\n## the cat\n",
            "\n```\n",
            "\n---\n",
            "😀",
            "👩‍👩‍👧",
            "日本語の文",
            "e\u0301\u0301",  # combining marks
            "\u0301",
            "\x00",
            "the cat and the dog",
            "Binary codes take 32x less memory.",
        ]
    ),
    st.text(alphabet="abcdefghijk", min_size=30, max_size=150),  # long words, no whitespace
)
TEXTS = st.lists(PIECES, max_size=40).map("".join)
TITLES = st.one_of(st.none(), st.text(max_size=20), st.just("the cat and the dog"))


def _check(chunker: BaseChunker, tokenizer: Tokenizer, text: str, title: str | None) -> None:
    prompt = chunker.counter.prompt
    window = chunker.max_tokens
    titled = bool(chunker.header and title and title.strip() and text.strip())
    header = " ".join(title.split()) + "\n\n" if titled and title else ""
    if titled and raw_count(tokenizer, prompt + header) >= window:
        with pytest.raises(InputError, match="filling"):
            chunker.chunk(text, title=title)
        return
    try:
        chunks = chunker.chunk(text, source_id="doc", title=title)
    except InputError:
        # Only a title can leave less room than one character takes (4 byte-level tokens).
        assert titled and raw_count(tokenizer, prompt + header) + 4 > window
        return
    covered = bytearray(len(text))
    previous_start = -1
    for position, chunk in enumerate(chunks):
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.text and chunk.text == chunk.text.strip()
        assert chunk.embed_text.endswith(chunk.text)
        assert chunk.position == position and chunk.source_id == "doc"
        # Counted independently: the real tokenizer, prompt, header and special tokens.
        assert chunk.token_count == raw_count(tokenizer, prompt + chunk.embed_text) <= window
        # The ids recorded for the embedder are exactly what it would tokenise.
        assert chunk.token_ids is not None
        assert chunk.token_ids.tolist() == raw_ids(tokenizer, prompt + chunk.embed_text)
        assert chunk.start > previous_start  # in document order
        previous_start = chunk.start
        covered[chunk.start : chunk.end] = b"\x01" * (chunk.end - chunk.start)
    missing = [i for i, ch in enumerate(text) if not ch.isspace() and not covered[i]]
    assert not missing, f"uncovered characters at {missing[:5]}"
    if not isinstance(chunker, TokenChunker) or not chunker.chunk_overlap:
        assert all(a.end <= b.start for a, b in zip(chunks, chunks[1:], strict=False))
    if not text.strip():
        assert chunks == []


_BUILT: dict[tuple[int, int], list[BaseChunker]] = {}


def _chunkers(tokenizer: Tokenizer, window: int) -> list[BaseChunker]:
    key = (id(tokenizer), window)
    if key not in _BUILT:  # session fixtures: the tokenizer outlives the cache entry's use
        _BUILT[key] = _build(tokenizer, window)
    return _BUILT[key]


def _build(tokenizer: Tokenizer, window: int) -> list[BaseChunker]:
    common = {"max_tokens": window, "prompt": "passage: "}
    return [
        TokenChunker(tokenizer, **common, chunk_overlap=3),
        TokenChunker(tokenizer, **common, header="title"),
        RecursiveChunker(tokenizer, **common),
        RecursiveChunker(tokenizer, max_tokens=window, chunk_size=6, header="title"),
        MarkdownChunker(tokenizer, **common, header="both"),
    ]


_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize("name", ["wordpiece", "byte_bpe"])
@_SETTINGS
@given(text=TEXTS, title=TITLES)
@example(text=" \u3000\u30000", title=None)  # whitespace that byte-level BPE makes tokens of
def test_chunks_fit_the_window_and_cover_the_text(
    request: pytest.FixtureRequest, name: str, text: str, title: str | None
) -> None:
    tokenizer: Tokenizer = request.getfixturevalue(name)
    for chunker in _chunkers(tokenizer, window=24):
        _check(chunker, tokenizer, text, title)


@pytest.mark.real_model
@_SETTINGS
@given(text=TEXTS, title=TITLES)
def test_real_tokenizer_chunks_fit_the_window(
    real_tokenizer: Tokenizer, text: str, title: str | None
) -> None:
    for chunker in _chunkers(real_tokenizer, window=32):
        _check(chunker, real_tokenizer, text, title)
