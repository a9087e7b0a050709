from __future__ import annotations

import pytest
from tokenizers import Tokenizer

from ragkit import ConfigError, InputError, TokenChunker, TokenCounter
from tests.chunking.conftest import raw_count

WORDS = "the cat and a dog is in the world of science and the claim of a vector".split()
TEXT = " ".join(WORDS)  # 17 words, one token each in the tiny vocabulary


def test_windows_overlap_by_exactly_chunk_overlap_tokens(wordpiece: Tokenizer) -> None:
    chunker = TokenChunker(wordpiece, max_tokens=64, chunk_size=5, chunk_overlap=2)
    chunks = chunker.chunk(TEXT, source_id="doc")
    assert [c.text.split() for c in chunks] == [WORDS[i : i + 5] for i in (0, 3, 6, 9, 12)][:-1] + [
        WORDS[12:]
    ]
    for chunk in chunks:
        assert TEXT[chunk.start : chunk.end] == chunk.text
        assert chunk.token_count == len(chunk.text.split()) + 2  # [CLS] ... [SEP]
        assert chunk.source_id == "doc" and chunk.heading_path == ()
    assert [c.position for c in chunks] == list(range(len(chunks)))


def test_default_size_is_the_window_minus_prompt_and_special_tokens(wordpiece: Tokenizer) -> None:
    chunker = TokenChunker(wordpiece, max_tokens=12, prompt="passage: ")  # 4 tokens overhead
    chunks = chunker.chunk(" ".join([TEXT] * 3))
    assert [len(c.text.split()) for c in chunks[:-1]] == [8] * (len(chunks) - 1)
    assert all(c.token_count == raw_count(wordpiece, "passage: " + c.text) <= 12 for c in chunks)


def test_offsets_survive_irregular_whitespace_and_accents(wordpiece: Tokenizer) -> None:
    text = "  Héllo\t\twörld,\n\n  çat   dog!  \n"
    chunks = TokenChunker(wordpiece, max_tokens=5).chunk(text)  # 3 tokens a chunk
    assert [c.text for c in chunks] == ["Héllo\t\twörld,", "çat   dog!"]
    assert all(text[c.start : c.end] == c.text for c in chunks)


def test_word_longer_than_the_window_is_split_inside(wordpiece: Tokenizer) -> None:
    word = "abcdefghij" * 9  # 90 WordPiece tokens (a ##b ##c ...), no whitespace
    chunks = TokenChunker(wordpiece, max_tokens=10).chunk(word)
    assert "".join(c.text for c in chunks) == word
    assert all(c.token_count <= 10 for c in chunks)
    # A piece starting mid-word retokenises as "b" rather than "##b": still counted for real.
    assert all(c.token_count == raw_count(wordpiece, c.text) for c in chunks)


def test_byte_level_tokens_are_never_cut_inside_a_character(byte_bpe: Tokenizer) -> None:
    text = "😀🎉 日本語のテキスト " * 4  # several byte-level tokens per character
    chunks = TokenChunker(byte_bpe, max_tokens=8).chunk(text)
    assert len(chunks) > 4
    assert all(text[c.start : c.end] == c.text and c.token_count <= 8 for c in chunks)
    assert "".join(c.text for c in chunks) == text.replace(" ", "")


def test_empty_and_whitespace_documents_give_no_chunks(wordpiece: Tokenizer) -> None:
    chunker = TokenChunker(wordpiece, max_tokens=16)
    assert chunker.chunk("") == []
    assert chunker.chunk(" \n\t\u3000 ") == []


def test_text_the_tokenizer_drops_still_gets_a_chunk(wordpiece: Tokenizer) -> None:
    text = "\u0301\u0301 \x00"  # combining marks and NUL: no tokens at all
    (chunk,) = TokenChunker(wordpiece, max_tokens=16).chunk(text)
    assert chunk.text == text.strip() and chunk.token_count == 2


def test_title_header_is_embedded_but_offsets_stay_exact(wordpiece: Tokenizer) -> None:
    chunker = TokenChunker(wordpiece, max_tokens=12, header="title")
    chunks = chunker.chunk(TEXT, title="  Cat\n science  ")
    assert chunks[0].embed_text.startswith("Cat science\n\n")
    assert all(c.embed_text == "Cat science\n\n" + c.text for c in chunks)
    assert all(TEXT[c.start : c.end] == c.text for c in chunks)
    # [CLS] cat science [SEP] leaves 8 of 12 tokens for text
    assert [len(c.text.split()) for c in chunks] == [8, 8, 1]  # 17 words
    assert all(c.token_count == raw_count(wordpiece, c.embed_text) <= 12 for c in chunks)
    assert chunker.chunk(TEXT) == TokenChunker(wordpiece, max_tokens=12).chunk(TEXT)  # no title


def test_bad_settings_raise_config_errors(wordpiece: Tokenizer) -> None:
    with pytest.raises(ConfigError, match="less than the chunk size"):
        TokenChunker(wordpiece, max_tokens=64, chunk_size=8, chunk_overlap=8)
    with pytest.raises(ConfigError, match="less than the chunk size"):
        TokenChunker(wordpiece, max_tokens=10, chunk_overlap=8)  # 8 of 10 left after specials
    with pytest.raises(ConfigError, match="at least 0"):
        TokenChunker(wordpiece, max_tokens=64, chunk_overlap=-1)
    with pytest.raises(ConfigError, match="positive"):
        TokenChunker(wordpiece, max_tokens=64, chunk_size=0)
    with pytest.raises(ConfigError, match="chunk_size <= 62"):
        TokenChunker(wordpiece, max_tokens=64, chunk_size=63)
    with pytest.raises(ConfigError, match="needs max_tokens"):
        TokenChunker(wordpiece)
    with pytest.raises(ConfigError, match="header must be"):
        TokenChunker(wordpiece, max_tokens=64, header="summary")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="embedder, a TokenCounter"):
        TokenChunker("bert-base-uncased", max_tokens=64)  # type: ignore[arg-type]


def test_bad_input_raises_input_errors(wordpiece: Tokenizer) -> None:
    chunker = TokenChunker(wordpiece, max_tokens=10, chunk_overlap=2, header="title")
    with pytest.raises(InputError, match="must be a str"):
        chunker.chunk(["not", "a", "str"])  # type: ignore[arg-type]
    with pytest.raises(InputError, match="must be a str"):
        chunker.chunk(None)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="filling the 10-token window"):
        chunker.chunk(TEXT, title="the cat and a dog is in the world")
    with pytest.raises(InputError, match="chunk_overlap=2"):
        chunker.chunk(TEXT, title="the cat and a dog is")  # leaves 2 tokens


def test_counter_and_overrides_are_accepted(wordpiece: Tokenizer) -> None:
    counter = TokenCounter(wordpiece, max_tokens=64, prompt="query: ")
    chunker = TokenChunker(counter, max_tokens=8, prompt="")
    assert chunker.counter.max_tokens == 8 and chunker.counter.prompt == ""
    assert TokenChunker(counter).counter is counter
