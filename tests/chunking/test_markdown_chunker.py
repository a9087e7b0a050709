from __future__ import annotations

import pytest
from tokenizers import Tokenizer

from ragkit import InputError, MarkdownChunker
from ragkit.chunking import markdown_headings
from tests.chunking.conftest import raw_count

GUIDE = """Intro text before any heading.

# Install

the cat is in the world.

## From source

a dog is of the world.

### Build
#### Step

the claim is a vector.

Usage
=====

```bash
# not a heading
make
```

Notes
-----
the end.
"""


def test_headings_atx_and_setext_but_not_in_code() -> None:
    titles = [(h.level, h.title) for h in markdown_headings(GUIDE)]
    assert titles == [
        (1, "Install"),
        (2, "From source"),
        (3, "Build"),
        (4, "Step"),
        (1, "Usage"),
        (2, "Notes"),
    ]
    setext = markdown_headings("Top\n===\n\nSub\n---\ntext")
    assert [(h.start, h.level, h.title, h.end) for h in setext] == [
        (0, 1, "Top", 8),
        (9, 2, "Sub", 17),
    ]
    assert [(h.level, h.title) for h in markdown_headings("## Closed ##\n#no\n#")] == [
        (2, "Closed"),
        (1, ""),
    ]


def test_chunks_carry_their_heading_path(wordpiece: Tokenizer) -> None:
    chunks = MarkdownChunker(wordpiece, max_tokens=128).chunk(GUIDE, source_id="guide.md")
    assert [(c.heading_path, c.text.splitlines()[0]) for c in chunks] == [
        ((), "Intro text before any heading."),
        (("Install",), "# Install"),
        (("Install", "From source"), "## From source"),
        (("Install", "From source", "Build", "Step"), "### Build"),  # empty Build joins Step
        (("Usage",), "Usage"),
        (("Usage", "Notes"), "Notes"),
    ]
    assert all(GUIDE[c.start : c.end] == c.text for c in chunks)
    assert "```bash\n# not a heading\nmake\n```" in chunks[4].text


def test_headings_header_goes_in_embed_text_only(wordpiece: Tokenizer) -> None:
    chunker = MarkdownChunker(wordpiece, max_tokens=128, header="both")
    chunks = chunker.chunk(GUIDE, title="User guide")
    step = chunks[3]
    assert step.embed_text == "User guide > Install > From source > Build > Step\n\n" + step.text
    assert step.token_count == raw_count(wordpiece, step.embed_text)
    assert chunks[0].embed_text == "User guide\n\n" + chunks[0].text  # no headings yet
    same = chunker.chunk("# The Guide\n\nthe cat.", title="the  guide")  # title == heading
    assert same[0].embed_text == "the guide\n\n# The Guide\n\nthe cat."
    only_headings = MarkdownChunker(wordpiece, max_tokens=128, header="headings").chunk(GUIDE)
    assert only_headings[0].embed_text == only_headings[0].text


def test_the_header_is_counted_against_the_window(wordpiece: Tokenizer) -> None:
    text = "# the claim of the science\n\n" + "the cat and the dog. " * 20
    chunker = MarkdownChunker(wordpiece, max_tokens=16, prompt="passage: ", header="headings")
    chunks = chunker.chunk(text)
    assert len(chunks) > 5
    for chunk in chunks:
        assert chunk.embed_text.startswith("the claim of the science\n\n")
        assert chunk.token_count == raw_count(wordpiece, "passage: " + chunk.embed_text) <= 16
    # A heading too long for the header (over half the room) is left out of embed_text...
    long_heading = "# the cat and the dog\n\n## " + "the cat " * 8 + "\n\na dog."
    for chunk in chunker.chunk(long_heading):
        assert chunk.heading_path == ("the cat and the dog", ("the cat " * 8).strip())
        assert chunk.embed_text == chunk.text and chunk.token_count <= 16
    # ... outermost first: the inner heading stays when it fits.
    for chunk in chunker.chunk("# " + "the cat " * 8 + "\n\n## a dog\n\nthe claim."):
        assert chunk.embed_text == "a dog\n\n" + chunk.text and chunk.token_count <= 16
    # ... but the caller's title is never cut: one that fills the window is refused.
    titled = MarkdownChunker(wordpiece, max_tokens=16, prompt="passage: ", header="title")
    with pytest.raises(InputError, match="filling the 16-token window"):
        titled.chunk("some text", title="the cat " * 6)


def test_a_code_block_stays_whole_when_it_fits(wordpiece: Tokenizer) -> None:
    code = "```python\ndef f(x):\n\n\n    return x\n```"  # 27 tokens, blank lines inside
    text = "# Code\n\nthe cat is in the world.\n\n" + code + "\n\nthe dog."  # 42 tokens
    chunks = MarkdownChunker(wordpiece, max_tokens=40, chunk_size=30).chunk(text)
    assert [c.text for c in chunks] == [
        "# Code\n\nthe cat is in the world.",
        code + "\n\nthe dog.",  # 27 + 3 tokens: packed
    ]


def test_an_oversized_code_block_is_cut_at_line_ends(wordpiece: Tokenizer) -> None:
    lines = [f"x{i} = f(x{i}). y" for i in range(12)]
    code = "```\n" + "\n".join(lines) + "\n```"
    chunks = MarkdownChunker(wordpiece, max_tokens=32).chunk(code)
    assert len(chunks) > 2
    for chunk in chunks:
        assert code[chunk.end :].startswith("\n") or chunk.end == len(code)
        assert chunk.token_count <= 32


def test_fences_tildes_longer_closers_and_unclosed() -> None:
    from ragkit.chunking._cuts import fenced_blocks

    text = "a\n~~~~\n# in\n~~~\nstill in\n~~~~~\n# out\n```\n# unclosed"
    blocks = fenced_blocks(text)
    assert [text[a:b] for a, b in blocks] == [
        "~~~~\n# in\n~~~\nstill in\n~~~~~\n",  # a shorter fence does not close it
        "```\n# unclosed",  # runs to the end
    ]
    assert [h.title for h in markdown_headings(text)] == ["out"]


def test_a_setext_heading_with_no_text_joins_its_subsection(wordpiece: Tokenizer) -> None:
    text = "Top\n===\n\nSub\n---\nthe cat.\n\nOther\n=====\nthe dog."
    chunks = MarkdownChunker(wordpiece, max_tokens=64).chunk(text)
    assert [(c.heading_path, c.text) for c in chunks] == [
        (("Top", "Sub"), "Top\n===\n\nSub\n---\nthe cat."),
        (("Other",), "Other\n=====\nthe dog."),
    ]
