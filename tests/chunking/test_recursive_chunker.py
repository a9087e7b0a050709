from __future__ import annotations

import re

from tokenizers import Tokenizer

from ragkit import RecursiveChunker

# Tiny-vocabulary words are one token each: the sentences are 7, 7 and 6 tokens (with the stop).
S = ["the cat is in the world.", "a dog is of the world.", "the claim is a vector."]


def _chunker(wordpiece: Tokenizer, size: int) -> RecursiveChunker:
    return RecursiveChunker(wordpiece, max_tokens=64, chunk_size=size)


def test_a_text_that_fits_is_one_chunk(wordpiece: Tokenizer) -> None:
    text = "\n\n  " + " ".join(S) + "\n"
    (chunk,) = _chunker(wordpiece, 32).chunk(text, source_id="s")
    assert chunk.text == text.strip() and (chunk.start, chunk.end) == (4, len(text) - 1)


def test_paragraphs_are_packed_and_never_cut_when_they_fit(wordpiece: Tokenizer) -> None:
    paragraphs = [" ".join(S[:2]), S[2], " ".join(S), S[1]]  # 14, 6, 20, 7 tokens
    text = "\n\n".join(paragraphs)
    chunks = _chunker(wordpiece, 20).chunk(text)
    assert [c.text for c in chunks] == [
        paragraphs[0] + "\n\n" + paragraphs[1],
        paragraphs[2],
        paragraphs[3],
    ]


def test_a_long_paragraph_is_cut_at_sentence_ends(wordpiece: Tokenizer) -> None:
    text = " ".join(S * 4)  # 80 tokens, 12 sentences
    chunks = _chunker(wordpiece, 21).chunk(text)
    assert [c.text for c in chunks] == [" ".join(S)] * 4  # 3 sentences (20 tokens) a chunk
    assert all(text[c.start : c.end] == c.text for c in chunks)


def test_a_long_sentence_is_cut_between_words(wordpiece: Tokenizer) -> None:
    words = ("the cat and the dog " * 8).split()
    text = " ".join(words) + "."
    chunks = _chunker(wordpiece, 7).chunk(text)
    assert all(not re.search(r"\w$", text[: c.start]) for c in chunks)  # starts at a word
    assert " ".join(c.text for c in chunks) == text
    assert all(c.token_count <= 7 + 2 for c in chunks)


def test_a_heading_is_not_left_alone_in_a_chunk(wordpiece: Tokenizer) -> None:
    text = "# the claim\n\n" + " ".join(S * 3)  # 3 + 60 tokens
    chunks = _chunker(wordpiece, 20).chunk(text)
    assert chunks[0].text == "# the claim\n\n" + S[0] + " " + S[1]  # 17 tokens
    assert all(c.token_count <= 22 for c in chunks)


def test_sections_start_at_headings_outside_code(wordpiece: Tokenizer) -> None:
    first = "# the cat\n\n" + S[0]
    code = "```\n# not a heading\nthe dog\n```"
    second = "# the dog\n\n" + S[1] + "\n\n" + code  # 10 and 30 tokens
    chunks = _chunker(wordpiece, 32).chunk(first + "\n\n" + second)
    assert [c.text for c in chunks] == [first, second]
    # When a section is too long, its start is not packed with the previous section's end.
    chunks = _chunker(wordpiece, 24).chunk(first + "\n\n" + second)
    assert chunks[0].text == first and chunks[1].text.startswith("# the dog")
    assert all(c.heading_path == () for c in chunks)  # only MarkdownChunker tracks headings


def test_cjk_sentences_without_spaces(wordpiece: Tokenizer) -> None:
    text = "日本語のテキストです。" * 6  # 日 本 語 [UNK] 。: 5 tokens a sentence
    chunks = _chunker(wordpiece, 10).chunk(text)
    assert all(c.text.endswith("。") for c in chunks) and len(chunks) == 3
    assert "".join(c.text for c in chunks) == text


def test_whitespace_longer_than_the_budget(byte_bpe: Tokenizer) -> None:
    text = "the cat" + " \u3000" * 30 + "the dog"  # byte-level BPE: tokens for whitespace
    chunks = RecursiveChunker(byte_bpe, max_tokens=64, chunk_size=8).chunk(text)
    assert [c.text for c in chunks] == ["the cat", "the dog"]


def test_sentences_are_not_cut_after_initials_or_abbreviations() -> None:
    from ragkit.chunking._cuts import sentence_cuts

    text = "Dr. Smith met J. Doe et al. in 2020. They agreed, e.g. on this! Done... Next 「x」。y"
    cuts = sentence_cuts(text, 0, len(text))
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    assert pieces == [
        "Dr. Smith met J. Doe et al. in 2020. ",
        "They agreed, e.g. on this! ",
        "Done... ",
        "Next 「x」。",
        "y",
    ]
