from __future__ import annotations

from pathlib import Path

import pytest
from tokenizers import Tokenizer

from ragkit import ConfigError, InputError, ModelFileError, TextEmbedder, TokenChunker, TokenCounter
from tests.chunking.conftest import raw_count

LONG = " ".join(["the cat and the dog"] * 60)  # 300 words, over the file's preset 128


def test_count_includes_prompt_and_special_tokens(wordpiece: Tokenizer) -> None:
    plain = TokenCounter(wordpiece, max_tokens=512)
    prompted = TokenCounter(wordpiece, max_tokens=512, prompt="passage: ")
    assert plain.count("hello world") == 4  # [CLS] hello world [SEP]
    assert prompted.count("hello world") == raw_count(wordpiece, "passage: hello world") == 6
    assert plain.overhead == 2 and prompted.overhead == 4


def test_preset_truncation_and_padding_do_not_cap_counts(wordpiece: Tokenizer) -> None:
    counter = TokenCounter(wordpiece, max_tokens=512)
    assert counter.count(LONG) == 302
    assert counter.count("cat") == 3  # not padded to 128
    assert wordpiece.truncation is not None  # the caller's tokenizer is left as it was


def test_offsets_point_into_the_text(wordpiece: Tokenizer) -> None:
    text = "Héllo  world, cat!"
    spans = TokenCounter(wordpiece, max_tokens=64).offsets(text)
    assert [text[a:b] for a, b in spans] == ["Héllo", "world", ",", "cat", "!"]


def test_bad_arguments_raise_ragkit_errors(wordpiece: Tokenizer, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="max_tokens"):
        TokenCounter(wordpiece, max_tokens=0)
    with pytest.raises(ConfigError, match="leaving no room"):
        TokenCounter(wordpiece, max_tokens=4, prompt="passage: ")  # 4 tokens with specials
    with pytest.raises(ConfigError, match="tokenizers.Tokenizer"):
        TokenCounter("tokenizer.json", max_tokens=8)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="must be a str"):
        TokenCounter(wordpiece, max_tokens=8).count(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(ModelFileError, match="not found"):
        TokenCounter.from_file(tmp_path / "missing.json", max_tokens=8)


def test_embedder_counter_uses_its_tokenizer_window_and_document_prompt(
    tiny_prompt_model_dir: Path,
) -> None:
    embedder = TextEmbedder(tiny_prompt_model_dir, truncation="error")
    counter = embedder.token_counter()
    assert counter.max_tokens == embedder.max_tokens == 16
    assert counter.prompt == "passage: "
    chunks = TokenChunker(embedder).chunk(LONG)
    assert len(chunks) > 10
    assert max(c.token_count for c in chunks) == 16  # windows filled to the brim
    embedder.embed_documents([c.embed_text for c in chunks])  # truncation="error": none cut
    assert embedder.last_stats.truncated == 0
    assert embedder.last_stats.tokens == sum(c.token_count for c in chunks)


@pytest.mark.real_model
def test_real_model_chunks_embed_untruncated(real_model_dir: Path) -> None:
    embedder = TextEmbedder(real_model_dir, truncation="error")
    text = "\n\n".join(
        f"Claim {i}: binary codes are 32x smaller, café, 日本語, 😀; see Dr. Smith et al."
        for i in range(300)
    )
    chunks = TokenChunker(embedder, chunk_overlap=16).chunk(text)
    assert chunks and max(c.token_count for c in chunks) <= 256
    embedder.embed_documents([c.embed_text for c in chunks])
    assert embedder.last_stats.truncated == 0
    assert embedder.last_stats.tokens == sum(c.token_count for c in chunks)
