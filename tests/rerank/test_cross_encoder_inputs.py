"""CrossEncoderReranker on bad input and bad graphs: clear errors, no model run when none is needed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ragkit.errors import ConfigError, InputError, ModelFileError, ModelGraphError
from ragkit.rerank._head import relevance_logits
from ragkit.rerank.cross_encoder import CrossEncoderReranker
from tests.rerank.cross_encoder_models import (
    build_cross_encoder_folder,
    build_scorer_onnx,
    make_weights,
)


@pytest.fixture(scope="module")
def tiny_ce(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-ce") / "ce"
    build_cross_encoder_folder(folder)
    return folder


def test_empty_candidates_give_nothing_without_loading_the_model(tmp_path: Path) -> None:
    missing = tmp_path / "ce"
    build_cross_encoder_folder(missing)
    reranker = CrossEncoderReranker(missing)
    (missing / "model.onnx").unlink()  # loading would now fail
    assert reranker.rerank("a question", []) == []
    assert reranker.rank("a question", []) == []
    assert reranker.score("a question", []).shape == (0,)
    assert reranker._loaded is None


@pytest.mark.parametrize("query", ["", "   \n", None, 3])
def test_an_empty_or_non_text_query_is_an_input_error(tiny_ce: Path, query: object) -> None:
    with pytest.raises(InputError, match="query is empty"):
        CrossEncoderReranker(tiny_ce).score(query, ["the cat"])  # type: ignore[arg-type]


def test_passages_without_text_score_zero_rank_last_and_are_not_run(tiny_ce: Path) -> None:
    reranker = CrossEncoderReranker(tiny_ce)
    scores = reranker.score("what is a cat", [None, "the cat", "", "  ", "a dog"])
    assert scores[[0, 2, 3]].tolist() == [0.0, 0.0, 0.0]
    assert (scores[[1, 4]] > 0).all()
    assert reranker.last_stats.pairs == 2 and reranker.last_stats.empty == (0, 2, 3)
    raw = reranker.score("what is a cat", [None, "the cat"], raw=True)
    assert raw[0] == -np.inf
    assert [i for i, _ in reranker.rank("what is a cat", [None, "the cat", ""])][1:] == [0, 2]


def test_only_empty_passages_do_not_load_the_model(tiny_ce: Path) -> None:
    reranker = CrossEncoderReranker(tiny_ce)
    assert reranker.score("q", ["", None]).tolist() == [0.0, 0.0]
    assert reranker._loaded is None


@pytest.mark.parametrize("passages", [["ok", 3], ["ok", b"bytes"]])
def test_a_non_string_passage_is_an_input_error_naming_it(
    tiny_ce: Path, passages: list[object]
) -> None:
    with pytest.raises(InputError, match="Passage 1"):
        CrossEncoderReranker(tiny_ce).score("q", passages)  # type: ignore[arg-type]


def test_one_string_instead_of_a_list_is_an_input_error(tiny_ce: Path) -> None:
    with pytest.raises(InputError, match="not one string"):
        CrossEncoderReranker(tiny_ce).score("q", "the cat")


def test_rerank_refuses_plain_strings(tiny_ce: Path) -> None:
    with pytest.raises(InputError, match="rank\\(\\) or score\\(\\)"):
        CrossEncoderReranker(tiny_ce).rerank("q", ["the cat"])  # type: ignore[list-item]


@pytest.mark.parametrize("top_k", [0, -1])
def test_top_k_below_one_is_a_config_error(tiny_ce: Path, top_k: int) -> None:
    with pytest.raises(ConfigError, match="top_k"):
        CrossEncoderReranker(tiny_ce).rank("q", ["cat"], top_k=top_k)


@pytest.mark.parametrize("kwargs", [{"batch_size": 0}, {"max_batch_tokens": 0}])
def test_batch_limits_below_one_are_config_errors(tiny_ce: Path, kwargs: dict[str, int]) -> None:
    with pytest.raises(ConfigError):
        CrossEncoderReranker(tiny_ce, **kwargs)


def test_max_query_tokens_that_leave_no_room_is_a_config_error(tiny_ce: Path) -> None:
    with pytest.raises(ConfigError, match="max_query_tokens must be between 1 and 28"):
        CrossEncoderReranker(tiny_ce, max_query_tokens=29, lazy_load=False)


def _folder_with_graph(tmp_path: Path, labels: int = 1, **graph: object) -> Path:
    folder = tmp_path / "ce"
    build_cross_encoder_folder(folder, labels=labels)
    build_scorer_onnx(folder / "model.onnx", make_weights(labels), **graph)  # type: ignore[arg-type]
    return folder


def test_a_three_class_head_is_refused_at_load_naming_the_shape(tmp_path: Path) -> None:
    folder = tmp_path / "ce"
    build_cross_encoder_folder(folder)
    build_scorer_onnx(folder / "model.onnx", make_weights(3))
    with pytest.raises(ModelGraphError, match=r"shape \['batch', 3\].*\[batch, 1\]"):
        CrossEncoderReranker(folder, lazy_load=False)


def test_token_states_output_is_refused_at_load(tmp_path: Path) -> None:
    folder = _folder_with_graph(tmp_path, token_states_output=True, output_name="last_hidden_state")
    with pytest.raises(ModelGraphError, match=r"\['batch', 'seq', 16\].*text-classification"):
        CrossEncoderReranker(folder, lazy_load=False)


@pytest.mark.parametrize("shape", [(2, 3), (2, 5, 16), (3, 1)])
def test_run_outputs_of_the_wrong_shape_are_refused_naming_it(shape: tuple[int, ...]) -> None:
    # Graphs whose shapes ONNX Runtime cannot infer are only checked when they run.
    with pytest.raises(ModelGraphError, match=f"shape \\{list(shape)}"):
        relevance_logits(np.zeros(shape, dtype=np.float32), "model.onnx", "logits", rows=2)


def test_run_outputs_of_one_or_two_logits_become_relevance_logits() -> None:
    assert relevance_logits(np.array([[0.5], [2.0]]), "m", "logits", 2).tolist() == [0.5, 2.0]
    assert relevance_logits(np.array([0.5, 2.0]), "m", "logits", 2).tolist() == [0.5, 2.0]
    two = relevance_logits(np.array([[1.0, 3.0], [2.0, 0.5]]), "m", "logits", 2)
    assert two.tolist() == [2.0, -1.5]


def test_labels_in_config_that_contradict_the_graph_are_refused(tmp_path: Path) -> None:
    folder = _folder_with_graph(tmp_path, labels=2)
    build_scorer_onnx(folder / "model.onnx", make_weights(1))
    with pytest.raises(ModelGraphError, match="1 logit.*2 label"):
        CrossEncoderReranker(folder, lazy_load=False)


def test_a_folder_without_an_onnx_file_names_what_it_expected(tmp_path: Path) -> None:
    folder = tmp_path / "ce"
    build_cross_encoder_folder(folder)
    (folder / "model.onnx").unlink()
    with pytest.raises(ModelFileError, match="onnx/model.onnx"):
        CrossEncoderReranker(folder)
