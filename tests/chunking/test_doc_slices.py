"""Chunk ids taken from the document's own tokens: only where they are exactly a re-tokenisation."""

from __future__ import annotations

from pathlib import Path

import pytest
from tokenizers import Tokenizer

from ragkit import InputError, RecursiveChunker, TextEmbedder, TokenChunker, TokenCounter
from ragkit.chunking._tokens import DocTokens
from tests.chunking.conftest import raw_ids


def _doc(counter: TokenCounter, text: str) -> DocTokens:
    ids, offsets = counter.encode_text(text)
    return DocTokens(text, offsets, ids=ids if counter.sliceable else None)


def _alone(counter: TokenCounter, tokenizer: Tokenizer, text: str) -> list[int]:
    """The span's ids tokenised on its own, without prompt or special tokens."""
    before, after = counter.affixes("")  # type: ignore[misc]
    ids = raw_ids(tokenizer, counter.prompt + text)
    return ids[len(before) : len(ids) - len(after)]


def test_wordpiece_with_a_word_edge_prompt_is_sliceable(
    wordpiece: Tokenizer, byte_bpe: Tokenizer
) -> None:
    assert TokenCounter(wordpiece, max_tokens=64).sliceable
    assert TokenCounter(wordpiece, max_tokens=64, prompt="passage: ").sliceable
    assert TokenCounter(wordpiece, max_tokens=64, prompt="query:").sliceable  # punctuation
    # A prompt ending inside a word would fuse with the text's first word.
    assert not TokenCounter(wordpiece, max_tokens=64, prompt="passage").sliceable
    # Byte-level BPE: a word's first token depends on what precedes it.
    assert not TokenCounter(byte_bpe, max_tokens=64).sliceable


def test_affixes_wrap_the_text_as_the_tokenizer_does(wordpiece: Tokenizer) -> None:
    counter = TokenCounter(wordpiece, max_tokens=64, prompt="passage: ")
    for header in ("", "the cat\n\n"):
        affixes = counter.affixes(header)
        assert affixes is not None
        before, after = affixes
        text_ids = raw_ids(wordpiece, "the dog")[1:-1]
        assert [*before, *text_ids, *after] == raw_ids(wordpiece, "passage: " + header + "the dog")


def test_word_edge_slices_equal_tokenising_the_span_alone(wordpiece: Tokenizer) -> None:
    counter = TokenCounter(wordpiece, max_tokens=512, prompt="passage: ")
    text = "The cat, the dog and the  mat.\tBinary codes take 32x less memory!"
    doc = _doc(counter, text)
    edges = [0, *(i for i in range(1, len(text)) if doc._edge(i)), len(text)]
    checked = 0
    for start in edges:
        for end in edges:
            if start < end:
                sliced = doc.slice_ids(start, end)
                assert sliced is not None, (start, end)
                assert sliced == _alone(counter, wordpiece, text[start:end]), text[start:end]
                checked += 1
    assert checked > 200


def test_no_slice_inside_a_word_or_across_a_deleted_character(wordpiece: Tokenizer) -> None:
    counter = TokenCounter(wordpiece, max_tokens=512)
    text = "catdog cat\x1cdog cat\u200bdog"
    doc = _doc(counter, text)
    assert doc.slice_ids(0, 3) is None  # "cat" of "catdog": one word in the document
    inner = text.index("\x1c")
    # The normaliser deletes U+001C, so "cat\x1cdog" is one word: no edge beside it.
    assert doc.slice_ids(inner - 3, inner) is None
    assert doc.slice_ids(inner + 1, inner + 4) is None
    zero_width = text.index("\u200b")
    assert doc.slice_ids(zero_width - 3, zero_width) is None


def test_no_slice_through_an_added_token(wordpiece: Tokenizer) -> None:
    tokenizer = Tokenizer.from_str(wordpiece.to_str())
    tokenizer.add_special_tokens(["[SEP]"])  # as real BERT tokenizers do: matched in the text
    counter = TokenCounter(tokenizer, max_tokens=512)
    text = "the [SEP] cat"
    doc = _doc(counter, text)
    assert len(doc.starts) == 3  # the, [SEP], cat
    bracket = text.index("[") + 1  # after "[": a punctuation edge, but inside the token
    assert doc.slice_ids(0, bracket) is None
    assert doc.slice_ids(bracket, len(text)) is None
    assert doc.slice_ids(0, len(text)) == _alone(counter, tokenizer, text)


def test_no_slices_for_byte_level_bpe(byte_bpe: Tokenizer) -> None:
    counter = TokenCounter(byte_bpe, max_tokens=64)
    doc = _doc(counter, "the cat sat on the mat")
    assert doc.ids is None and doc.slice_ids(4, 7) is None


@pytest.mark.parametrize("chunker_kind", ["recursive", "token"])
def test_sliced_and_tokenised_chunking_agree(wordpiece: Tokenizer, chunker_kind: str) -> None:
    text = " ".join(
        f"Sentence {i} says the cat, the dog and the mat share {i * 7} things." for i in range(40)
    )

    def build() -> RecursiveChunker | TokenChunker:
        if chunker_kind == "recursive":
            return RecursiveChunker(wordpiece, max_tokens=24, prompt="passage: ")
        return TokenChunker(wordpiece, max_tokens=24, prompt="passage: ", chunk_overlap=4)

    sliced, tokenised = build(), build()
    tokenised.counter.sliceable = False
    one = sliced.chunk(text, source_id="d")
    two = tokenised.chunk(text, source_id="d")
    assert len(one) > 10
    assert [(c.start, c.end, c.token_count) for c in one] == [
        (c.start, c.end, c.token_count) for c in two
    ]
    for a, b in zip(one, two, strict=True):
        assert a.token_ids is not None and b.token_ids is not None
        assert a.token_ids.tolist() == b.token_ids.tolist()
        assert a.token_ids.tolist() == raw_ids(wordpiece, "passage: " + a.embed_text)


def test_lone_surrogates_get_an_input_error(wordpiece: Tokenizer, tiny_model_dir: Path) -> None:
    chunker = RecursiveChunker(wordpiece, max_tokens=24)
    with pytest.raises(InputError, match="lone surrogate at offset 4"):
        chunker.chunk("the \ud800 cat")
    with pytest.raises(InputError, match="lone surrogate"):
        chunker.chunk("the cat and the dog " * 20 + "\udcff")
    embedder = TextEmbedder(tiny_model_dir)
    with pytest.raises(InputError, match="Text 1 holds a lone surrogate"):
        embedder.embed_documents(["fine", "not \ud800 fine"])
    with pytest.raises(InputError, match="lone surrogate"):
        embedder.embed_query("\udcff")


def test_affixes_kept_for_a_bounded_number_of_headers(wordpiece: Tokenizer) -> None:
    counter = TokenCounter(wordpiece, max_tokens=64, prompt="passage: ")
    for i in range(1500):  # header="title": one header a document
        assert counter.affixes(f"title {i}\n\n") is not None
    assert 0 < len(counter._affixes) <= 1024
