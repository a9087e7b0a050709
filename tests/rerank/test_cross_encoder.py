"""CrossEncoderReranker on tiny generated graphs: scores against a numpy reference, order, int8."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

from ragkit.rerank._head import sigmoid
from ragkit.rerank.cross_encoder import CrossEncoderReranker
from ragkit.retrieval import Passage, Reranker
from tests.rerank.cross_encoder_models import Weights, build_cross_encoder_folder, reference_logits

QUERY = "what is a cat"
PASSAGES = [
    "the cat is a small animal",
    "binary vector search",
    "a dog and a cat",
    "hello world",
    "the science of embedding document search in a vector world is a claim",
]


@pytest.fixture(scope="module")
def tiny_ce(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-logit cross-encoder folder with token types and a 32-token window."""
    folder = tmp_path_factory.mktemp("tiny-ce") / "ce"
    build_cross_encoder_folder(folder)
    return folder


@pytest.fixture(scope="module", params=[(1, True), (2, True), (1, False), (2, False)])
def model(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Weights, bool]:
    """Folders for 1- and 2-logit heads, with and without a token_type_ids input."""
    labels, token_types = request.param
    folder = tmp_path_factory.mktemp("ce") / f"ce-{labels}-{token_types}"
    return (
        folder,
        build_cross_encoder_folder(folder, labels=labels, token_types=token_types),
        token_types,
    )


def _reference(
    folder: Path, weights: Weights, token_types: bool, max_length: int = 32
) -> np.ndarray:
    """Probabilities from numpy, with the tokenizer's own pair encoding (passage cut)."""
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=max_length, strategy="only_second")
    probs = []
    for passage in PASSAGES:
        enc = tok.encode(QUERY, passage)
        logits = reference_logits(weights, enc.ids, enc.type_ids, token_types=token_types)
        exp = np.exp(logits - logits.max())
        probs.append(1 / (1 + np.exp(-logits[0])) if len(logits) == 1 else exp[1] / exp.sum())
    return np.asarray(probs, dtype=np.float32)


def test_scores_match_a_numpy_reference_of_the_same_graph(
    model: tuple[Path, Weights, bool],
) -> None:
    folder, weights, token_types = model
    scores = CrossEncoderReranker(folder).score(QUERY, PASSAGES)
    assert scores.dtype == np.float32 and scores.shape == (len(PASSAGES),)
    assert ((scores >= 0) & (scores <= 1)).all()
    np.testing.assert_allclose(scores, _reference(folder, weights, token_types), atol=1e-5)


def test_raw_logits_give_the_probabilities_through_a_sigmoid(
    model: tuple[Path, Weights, bool],
) -> None:
    folder, weights, token_types = model
    reranker = CrossEncoderReranker(folder)
    raw = reranker.score(QUERY, PASSAGES, raw=True)
    np.testing.assert_allclose(sigmoid(raw), reranker.score(QUERY, PASSAGES), atol=1e-6)
    if weights.head.shape[1] == 1:  # one label: raw is the logit itself
        tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tok.no_padding()
        enc = tok.encode(QUERY, PASSAGES[0])
        want = reference_logits(weights, enc.ids, enc.type_ids, token_types=token_types)[0]
        assert raw[0] == pytest.approx(want, abs=1e-5)


def test_batches_of_any_size_give_the_same_scores_in_input_order(
    model: tuple[Path, Weights, bool],
) -> None:
    folder, _, _ = model
    alone = np.array([CrossEncoderReranker(folder).score(QUERY, [p])[0] for p in PASSAGES])
    for batch_size, budget in ((1, 4096), (2, 4096), (32, 40)):
        batched = CrossEncoderReranker(folder, batch_size=batch_size, max_batch_tokens=budget)
        np.testing.assert_allclose(batched.score(QUERY, PASSAGES), alone, atol=1e-6)


def test_rank_orders_best_first_and_keeps_indices(model: tuple[Path, Weights, bool]) -> None:
    folder, _, _ = model
    reranker = CrossEncoderReranker(folder)
    scores = reranker.score(QUERY, PASSAGES)
    ranked = reranker.rank(QUERY, PASSAGES)
    assert [i for i, _ in ranked] == list(np.argsort(-scores, kind="stable"))
    assert [s for _, s in ranked] == pytest.approx(sorted(scores.tolist(), reverse=True))
    assert reranker.rank(QUERY, PASSAGES, top_k=2) == ranked[:2]


def test_ties_keep_input_order(tiny_ce: Path) -> None:
    ranked = CrossEncoderReranker(tiny_ce).rank(QUERY, ["hello world"] * 3 + ["cat"])
    tied = [i for i, _ in ranked if i < 3]
    assert tied == [0, 1, 2]


def _passage(i: int, text: str) -> Passage:
    return Passage(
        id=f"c{i}", score=0.5 - i / 100, text=text, source="doc.md", start=0, end=len(text),
        position=i, heading_path=(), title=None, metadata={"n": i}, context=text,
        context_start=0, context_end=len(text),
    )  # fmt: skip


def test_rerank_reorders_passages_with_probabilities_and_keeps_their_fields(tiny_ce: Path) -> None:
    reranker = CrossEncoderReranker(tiny_ce)
    passages = [_passage(i, t) for i, t in enumerate(PASSAGES)]
    ranked = reranker.rank(QUERY, PASSAGES)
    out = reranker.rerank(QUERY, passages, top_k=3)
    assert [p.id for p in out] == [f"c{i}" for i, _ in ranked[:3]]
    for p, (i, score) in zip(out, ranked, strict=False):
        assert p.score == pytest.approx(score)
        assert replace(p, score=passages[i].score, **_unstaged(p)) == passages[i]


def _unstaged(p: Passage) -> dict[str, object]:
    """Undo the ``scores`` entry where Passage records each stage's score."""
    if "scores" not in {f.name for f in fields(Passage)}:
        return {}
    assert p.scores["rerank"] == pytest.approx(p.score)  # type: ignore[attr-defined]
    rest = {k: v for k, v in p.scores.items() if k != "rerank"}  # type: ignore[attr-defined]
    return {"scores": rest}


def test_it_satisfies_the_retriever_reranker_protocol(tiny_ce: Path) -> None:
    reranker: Reranker = CrossEncoderReranker(tiny_ce)
    out = reranker.rerank(QUERY, [_passage(0, "cat"), _passage(1, "dog")])
    assert {p.id for p in out} == {"c0", "c1"}


def test_long_passages_are_cut_not_the_query(tiny_ce: Path) -> None:
    reranker = CrossEncoderReranker(tiny_ce)  # window 32
    long = "the cat " * 200
    scores = reranker.score(QUERY, [long, "cat"])
    assert reranker.last_stats.truncated == (0,)
    assert not reranker.last_stats.query_truncated
    assert reranker.last_stats.tokens == 32 + len(
        reranker._load()[1].encode(QUERY, ["cat"]).encodings[0].ids
    )
    # Only the window counts: a passage whose first 32-token pair is the same scores the same.
    assert scores[0] == pytest.approx(reranker.score(QUERY, ["the cat " * 30])[0], abs=1e-6)


def test_a_megabyte_passage_is_clipped_before_tokenising_and_scores_as_its_start(
    tiny_ce: Path,
) -> None:
    reranker = CrossEncoderReranker(tiny_ce)
    huge = "the dog and a cat " * 60_000  # ~1 MB
    assert reranker.score(QUERY, [huge])[0] == pytest.approx(
        reranker.score(QUERY, ["the dog and a cat " * 20])[0], abs=1e-6
    )


def test_a_passage_of_long_unbroken_words_is_still_scored_whole_up_to_the_window(
    tiny_ce: Path,
) -> None:
    reranker = CrossEncoderReranker(tiny_ce)
    spaced = "cat" + " " * 5000 + "dog " * 40  # clipping lands inside the spaces
    assert reranker.score(QUERY, [spaced])[0] == pytest.approx(
        reranker.score(QUERY, ["cat " + "dog " * 40])[0], abs=1e-6
    )


def test_a_query_longer_than_max_query_tokens_is_cut_and_reported(
    tiny_ce: Path, caplog: pytest.LogCaptureFixture
) -> None:
    reranker = CrossEncoderReranker(tiny_ce)  # window 32: query keeps 16 tokens
    long_query = "what is a cat " * 10
    with caplog.at_level("WARNING", logger="ragkit.rerank.cross_encoder"):
        scores = reranker.score(long_query, ["the cat", "dog " * 50])
    assert reranker.last_stats.query_truncated
    assert "max_query_tokens=16" in caplog.text
    assert reranker.last_stats.truncated == (1,)
    cut = reranker.score(" ".join(long_query.split()[:16]), ["the cat", "dog " * 50])
    np.testing.assert_allclose(scores, cut, atol=1e-6)


def test_max_length_overrides_the_window(tiny_ce: Path) -> None:
    reranker = CrossEncoderReranker(tiny_ce, max_length=12)
    reranker.score(QUERY, ["the cat is a small animal that likes fish"])
    assert reranker.max_length == 12
    assert reranker.last_stats.tokens == 12
    assert reranker.last_stats.truncated == (0,)


def test_int8_is_built_locally_and_agrees_with_fp32(tiny_ce: Path, tmp_path: Path) -> None:
    fp32 = CrossEncoderReranker(tiny_ce).score(QUERY, PASSAGES)
    int8 = CrossEncoderReranker(tiny_ce, precision="int8", cache_dir=tmp_path)
    scores = int8.score(QUERY, PASSAGES)
    paths = int8._load()[0]
    assert paths.built_locally and paths.onnx_path.is_relative_to(tmp_path)
    np.testing.assert_allclose(scores, fp32, atol=0.05)
    assert np.corrcoef(scores, fp32)[0, 1] > 0.95


def test_a_folder_with_a_published_int8_file_uses_it(tmp_path: Path) -> None:
    folder = tmp_path / "ce"
    build_cross_encoder_folder(folder, onnx_name="onnx/model_quantized.onnx")
    reranker = CrossEncoderReranker(folder, precision="int8")
    reranker.score(QUERY, ["cat"])
    paths = reranker._load()[0]
    assert not paths.built_locally and paths.onnx_path.name == "model_quantized.onnx"


def test_onnx_subfolder_layout_is_found(tmp_path: Path) -> None:
    folder = tmp_path / "ce"
    weights = build_cross_encoder_folder(folder, onnx_name="onnx/model.onnx")
    assert CrossEncoderReranker(folder).score(QUERY, PASSAGES) == pytest.approx(
        _reference(folder, weights, True), abs=1e-5
    )
