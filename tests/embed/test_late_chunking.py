"""Late chunking: token states over macro-windows, checked against direct ONNX Runtime runs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from tokenizers import Tokenizer

from ragkit import (
    Chunk,
    ConfigError,
    InputError,
    ModelError,
    ModelGraphError,
    RecursiveChunker,
    TextEmbedder,
    TokenChunker,
    late_chunk,
    late_chunk_documents,
)
from ragkit.embed._windows import plan_windows
from tests.tiny_models import build_model_folder

SHORT = "hello world. the cat is a dog."
WORDS = "the cat is a dog of science and the world, a binary vector is a claim".split()
LONG = " ".join(WORDS[i % len(WORDS)] for i in range(90)) + "."


class Reference:
    """The model run by hand: its tokenizer without truncation, ONNX Runtime on one window."""

    def __init__(self, folder: Path) -> None:
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        self.session = ort.InferenceSession(
            str(folder / "model.onnx"), providers=["CPUExecutionProvider"]
        )
        self.cls, self.sep = (
            self.tokenizer.token_to_id("[CLS]"),
            self.tokenizer.token_to_id("[SEP]"),
        )

    def tokens(self, text: str) -> tuple[list[int], np.ndarray]:
        """The text's ids and offsets, no special tokens."""
        encoding = self.tokenizer.encode(text, add_special_tokens=False)
        return list(encoding.ids), np.array(encoding.offsets, dtype=np.int64).reshape(-1, 2)

    def run(self, ids: Sequence[int]) -> np.ndarray:
        """Last hidden states ``(len(ids), H)`` of one unpadded window."""
        array = np.array([ids], dtype=np.int64)
        feed: dict[str, Any] = {}
        for graph_input in self.session.get_inputs():
            feed[graph_input.name] = {
                "input_ids": array,
                "attention_mask": np.ones_like(array),
                "token_type_ids": np.zeros_like(array),
            }[graph_input.name]
        states: np.ndarray = self.session.run(None, feed)[0][0]
        return states

    def stitched(self, text: str, *, prompt: str, capacity: int, overlap: int) -> np.ndarray:
        """Each text token's state from the window where it has the most context (brute force)."""
        ids, _ = self.tokens(text)
        lead, _ = self.tokens(prompt) if prompt else ([], None)
        n = len(ids)
        starts = (
            [0] if n <= capacity else [*range(0, n - capacity, capacity - overlap), n - capacity]
        )
        size = min(n, capacity)
        runs = {s: self.run([self.cls, *lead, *ids[s : s + size], self.sep]) for s in starts}
        out = []
        for i in range(n):
            best = max(
                (s for s in starts if s <= i < s + size),
                key=lambda s: (min(i - s, s + size - 1 - i), -s),
            )
            out.append(runs[best][1 + len(lead) + i - best])
        return np.stack(out)


def unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(unit(a) @ unit(b))


def overlapping(offsets: np.ndarray, chunk: Chunk) -> np.ndarray:
    return (offsets[:, 0] < chunk.end) & (offsets[:, 1] > chunk.start)


@pytest.fixture(scope="module")
def context_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model whose token states depend on the rest of their window (16-token window)."""
    return build_model_folder(tmp_path_factory.mktemp("late") / "context", context=True)


@pytest.fixture(scope="module")
def prompt_context_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_model_folder(
        tmp_path_factory.mktemp("late") / "prompt-context",
        context=True,
        prompts={"query": "query: ", "document": "passage: "},
    )


@pytest.fixture()
def embedder(context_dir: Path) -> TextEmbedder:
    return TextEmbedder(context_dir)


def test_a_document_that_fits_is_one_run_equal_to_a_direct_onnx_run(
    embedder: TextEmbedder, context_dir: Path
) -> None:
    reference = Reference(context_dir)
    ids, offsets = reference.tokens(SHORT)
    tokens = embedder.token_states(SHORT)
    assert tokens.windows == 1 and len(tokens) == len(ids)
    assert tokens.ids.tolist() == ids
    np.testing.assert_array_equal(tokens.offsets, offsets)
    full = reference.run([reference.cls, *ids, reference.sep])
    np.testing.assert_allclose(tokens.states, full[1:-1], atol=1e-5)  # [CLS], [SEP] left out


def test_chunk_vectors_equal_hand_pooled_tokens_of_one_full_run(
    embedder: TextEmbedder, context_dir: Path
) -> None:
    reference = Reference(context_dir)
    chunks = RecursiveChunker(embedder, chunk_size=5).chunk(SHORT, source_id="short")
    whole = Chunk("short", SHORT, 0, len(SHORT), 0, len(chunks))
    vectors = late_chunk(embedder, SHORT, [*chunks, whole])
    ids, offsets = reference.tokens(SHORT)
    states = reference.run([reference.cls, *ids, reference.sep])[1:-1]
    assert len(chunks) >= 2
    for chunk, vector in zip([*chunks, whole], vectors, strict=True):
        expected = states[overlapping(offsets, chunk)].mean(axis=0)
        assert cosine(vector, expected) >= 0.9999
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    alone = embedder.embed_documents([c.text for c in chunks])
    assert not np.allclose(vectors[: len(chunks)], alone, atol=1e-3)  # the document shows


@pytest.mark.parametrize("overlap", [None, 0, 6, 13])
def test_a_long_document_gives_every_token_one_state_from_its_best_window(
    embedder: TextEmbedder, context_dir: Path, overlap: int | None
) -> None:
    reference = Reference(context_dir)
    ids, offsets = reference.tokens(LONG)
    tokens = embedder.token_states(LONG, overlap=overlap)
    capacity = 16 - 2  # the window less [CLS] and [SEP]
    chosen = 16 // 4 if overlap is None else overlap  # default: a quarter of the window
    assert len(ids) > 4 * capacity
    assert tokens.windows == len(plan_windows(len(ids), capacity, chosen)) > 1
    assert tokens.ids.tolist() == ids and tokens.states.shape == (len(ids), 32)
    np.testing.assert_array_equal(tokens.offsets, offsets)
    expected = reference.stitched(LONG, prompt="", capacity=capacity, overlap=chosen)
    np.testing.assert_allclose(tokens.states, expected, atol=1e-5)


def test_offsets_point_at_each_tokens_characters(embedder: TextEmbedder, context_dir: Path) -> None:
    vocab = Reference(context_dir).tokenizer
    tokens = embedder.token_states(LONG)
    pieces = [LONG[start:end] for start, end in tokens.offsets]
    assert pieces == [vocab.id_to_token(int(i)).removeprefix("##") for i in tokens.ids]
    assert "".join(pieces) == LONG.replace(" ", "")


def test_long_document_chunk_vectors_are_finite_unit_and_pool_their_own_tokens(
    embedder: TextEmbedder,
) -> None:
    chunks = TokenChunker(embedder, chunk_size=6, chunk_overlap=2).chunk(LONG, source_id="long")
    vectors = late_chunk(embedder, LONG, chunks)
    tokens = embedder.token_states(LONG)
    assert vectors.shape == (len(chunks), 32) and np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    for chunk, vector in zip(chunks, vectors, strict=True):
        mine = overlapping(tokens.offsets, chunk)
        assert mine.any()
        assert cosine(vector, tokens.states[mine].mean(axis=0)) >= 0.9999


def test_the_prompt_runs_in_every_window_but_is_never_returned(prompt_context_dir: Path) -> None:
    embedder = TextEmbedder(prompt_context_dir)
    reference = Reference(prompt_context_dir)
    tokens = embedder.token_states(LONG)
    ids, offsets = reference.tokens(LONG)
    assert tokens.ids.tolist() == ids  # "passage: " tokens left out
    np.testing.assert_array_equal(tokens.offsets, offsets)  # into the text, not prompt + text
    capacity = 16 - 2 - 2  # [CLS] passage : ... [SEP]
    expected = reference.stitched(LONG, prompt="passage: ", capacity=capacity, overlap=4)
    np.testing.assert_allclose(tokens.states, expected, atol=1e-5)


def test_a_pooled_only_graph_says_late_chunking_needs_token_outputs(tmp_path: Path) -> None:
    folder = build_model_folder(
        tmp_path / "pooled", pooled_output=True, output_name="sentence_embedding"
    )
    embedder = TextEmbedder(folder)
    assert embedder.embed_documents([SHORT]).shape == (1, 32)  # ordinary embedding works
    with pytest.raises(ModelGraphError, match="Late chunking needs per-token outputs"):
        embedder.token_states(SHORT)
    chunks = RecursiveChunker(embedder).chunk(SHORT, source_id="short")
    with pytest.raises(ModelError, match="last_hidden_state"):
        late_chunk(embedder, SHORT, chunks)


def test_a_chunk_without_tokens_is_embedded_on_its_own(embedder: TextEmbedder) -> None:
    text = "hello world      the cat"
    blank = Chunk("doc", "    ", 12, 16, 3, 1)
    words = Chunk("doc", "the cat", 17, 24, 4, 2)
    vectors = late_chunk(embedder, text, [blank, words])
    np.testing.assert_allclose(vectors[0], embedder.embed_documents(["    "])[0], atol=1e-6)
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_empty_documents_and_empty_chunk_lists(embedder: TextEmbedder) -> None:
    assert late_chunk(embedder, "", []).shape == (0, 32)
    assert late_chunk(embedder, LONG, []).shape == (0, 32)
    tokens = embedder.token_states("")
    assert len(tokens) == 0 and tokens.windows == 0 and tokens.states.shape == (0, 32)


def test_bad_spans_and_overlaps_are_clear_errors(embedder: TextEmbedder) -> None:
    with pytest.raises(InputError, match="outside its text"):
        late_chunk(embedder, SHORT, [Chunk("x", "far", 100, 103, 3, 0)])
    with pytest.raises(ConfigError, match="overlap must be between 0 and 13"):
        embedder.token_states(LONG, overlap=14)
    with pytest.raises(ConfigError, match="overlap"):
        embedder.token_states(LONG, overlap=-1)


def test_many_documents_share_batches_and_match_one_at_a_time(
    context_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedder = TextEmbedder(context_dir)
    chunker = RecursiveChunker(embedder, chunk_size=4)
    texts = [SHORT, "the dog", "binary vector search", LONG, "a claim of science"]
    documents = [(t, chunker.chunk(t, source_id=str(i))) for i, t in enumerate(texts)]
    alone = [late_chunk(embedder, t, c) for t, c in documents]
    runs: list[int] = []
    original = embedder._run_states

    def counting(batch: Any) -> Any:
        runs.append(len(batch.input_ids))
        return original(batch)

    monkeypatch.setattr(embedder, "_run_states", counting)
    together = late_chunk_documents(embedder, documents)
    assert len(runs) == 1  # all windows of the five documents in one batch
    windows = sum(embedder.token_states(t).windows for t in texts)
    assert runs[0] == windows == len(texts) - 1 + embedder.token_states(LONG).windows
    for a, b in zip(alone, together, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_matryoshka_dim_truncates_the_pooled_mean_then_renormalises(context_dir: Path) -> None:
    full = TextEmbedder(context_dir)
    with pytest.warns(UserWarning, match="Matryoshka"):
        small = TextEmbedder(context_dir, dim=8)
    chunks = RecursiveChunker(full, chunk_size=5).chunk(SHORT, source_id="short")
    tokens = full.token_states(SHORT)
    vectors = late_chunk(small, SHORT, chunks)
    assert vectors.shape == (len(chunks), 8)
    for chunk, vector in zip(chunks, vectors, strict=True):
        mean = tokens.states[overlapping(tokens.offsets, chunk)].mean(axis=0)
        np.testing.assert_allclose(vector, unit(mean[:8]), atol=1e-5)


def test_a_model_that_does_not_mean_pool_gets_a_warning(tmp_path: Path) -> None:
    embedder = TextEmbedder(build_model_folder(tmp_path / "cls", pooling="cls"))
    chunks = RecursiveChunker(embedder).chunk(SHORT, source_id="short")
    with pytest.warns(UserWarning, match="mean-pools token states"):
        late_chunk(embedder, SHORT, chunks)


# -- the real model --------------------------------------------------------------------------

PARAGRAPH = (
    "Late chunking embeds a whole document before it is cut into chunks. Each chunk's vector "
    "is then the mean of the token embeddings inside its span, so a sentence that only says "
    "'it' still carries the subject named earlier. The method needs the model's token-level "
    "output rather than one pooled vector per text."
)


def test_real_model_whole_text_chunk_is_the_mean_of_its_text_tokens(real_model_dir: Path) -> None:
    """What is compared, precisely.

    The ordinary document embedding of MiniLM is the mean over *all* tokens of one run,
    ``[CLS]`` and ``[SEP]`` included. Late chunking pools only the text's own tokens. So a
    chunk spanning the whole text equals the mean of that same run's states over rows
    ``1 .. T-2`` (cosine >= 0.9999), and is close to, but not the same as, the ordinary
    embedding, which the reference reproduces when it keeps the two special tokens.
    """
    embedder = TextEmbedder(real_model_dir)
    reference = Reference(real_model_dir)
    ids, offsets = reference.tokens(PARAGRAPH)
    assert len(ids) + 2 <= embedder.max_tokens  # fits one window
    states = reference.run([reference.cls, *ids, reference.sep])
    chunks = RecursiveChunker(embedder, chunk_size=24).chunk(PARAGRAPH, source_id="p")
    whole = Chunk("p", PARAGRAPH, 0, len(PARAGRAPH), 0, len(chunks))
    vectors = late_chunk(embedder, PARAGRAPH, [*chunks, whole])
    assert embedder.token_states(PARAGRAPH).windows == 1
    ordinary = embedder.embed_documents([PARAGRAPH])[0]
    assert cosine(vectors[-1], states[1:-1].mean(axis=0)) >= 0.9999
    assert cosine(ordinary, states.mean(axis=0)) >= 0.9999  # the reference is the model
    assert cosine(vectors[-1], ordinary) >= 0.99  # [CLS] and [SEP] move it a little (0.999)
    for chunk, vector in zip(chunks, vectors[:-1], strict=True):
        expected = states[1:-1][overlapping(offsets, chunk)].mean(axis=0)
        assert cosine(vector, expected) >= 0.9999


def test_real_model_long_document_runs_in_macro_windows(real_model_dir: Path) -> None:
    embedder = TextEmbedder(real_model_dir)
    text = "\n\n".join([PARAGRAPH] * 12)
    chunks = RecursiveChunker(embedder, chunk_size=64).chunk(text, source_id="long")
    tokens = embedder.token_states(text)
    vectors = late_chunk(embedder, text, chunks)
    assert tokens.windows >= 3 and len(tokens) > 2 * embedder.max_tokens
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    alone = embedder.embed_documents([c.text for c in chunks])
    agreement = np.sum(vectors * alone, axis=1)
    assert agreement.min() > 0.5  # the same space as the chunks embedded alone
