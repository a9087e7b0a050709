from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from ragkit import (
    ConfigError,
    InputError,
    ModelFileError,
    ModelGraphError,
    ModelNotFoundError,
    ProviderError,
)
from ragkit.embed import TextEmbedder
from ragkit.embed.pooling import l2_normalize
from tests.tiny_models import build_model_folder

TEXTS = ["hello world", "the cat", "", "   ", "a binary vector is a claim of science", "dog"]


@pytest.fixture()
def embedder(tiny_model_dir: Path) -> TextEmbedder:
    return TextEmbedder(tiny_model_dir, batch_size=2)


def test_documents_are_float32_unit_vectors_of_model_dim(embedder: TextEmbedder) -> None:
    vectors = embedder.embed_documents(TEXTS)
    assert vectors.shape == (len(TEXTS), 32)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_length_sorted_batches_restore_input_order(embedder: TextEmbedder) -> None:
    together = embedder.embed_documents(TEXTS)
    one_by_one = np.stack([embedder.embed_documents([t])[0] for t in TEXTS])
    np.testing.assert_allclose(together, one_by_one, atol=1e-6)
    assert not np.allclose(together[0], together[1])


def test_empty_list_gives_zero_rows(embedder: TextEmbedder) -> None:
    assert embedder.embed_documents([]).shape == (0, 32)
    assert embedder.embed_query([]).shape == (0, 32)


def test_single_query_is_one_vector_and_lists_are_matrices(embedder: TextEmbedder) -> None:
    assert embedder.embed_query("hello").shape == (32,)
    assert embedder.embed_query(["hello", "world"]).shape == (2, 32)


@pytest.mark.parametrize("bad", [["ok", 3], ["ok", None], [b"bytes"]])
def test_non_string_items_name_their_index(embedder: TextEmbedder, bad: list[object]) -> None:
    index = next(i for i, x in enumerate(bad) if not isinstance(x, str))
    with pytest.raises(InputError, match=rf"texts\[{index}\]"):
        embedder.embed_documents(bad)  # type: ignore[arg-type]


def test_a_bare_string_is_not_taken_as_a_list_of_characters(embedder: TextEmbedder) -> None:
    with pytest.raises(InputError, match="list of strings"):
        embedder.embed_documents("hello")


def test_model_prompts_are_applied_by_default(
    tiny_prompt_model_dir: Path, tiny_model_dir: Path
) -> None:
    prompted = TextEmbedder(tiny_prompt_model_dir)
    plain = TextEmbedder(tiny_model_dir)  # same weights, no prompts
    assert prompted.spec.query_prompt == "query: " and prompted.spec.document_prompt == "passage: "
    np.testing.assert_allclose(
        prompted.embed_query("the cat"), plain.embed_query("query: the cat"), atol=1e-6
    )
    np.testing.assert_allclose(
        prompted.embed_documents(["the cat"]),
        plain.embed_documents(["passage: the cat"]),
        atol=1e-6,
    )
    assert not np.allclose(
        prompted.embed_query("the cat"), prompted.embed_documents(["the cat"])[0]
    )


def test_explicit_prompt_overrides(tiny_prompt_model_dir: Path, tiny_model_dir: Path) -> None:
    prompted = TextEmbedder(tiny_prompt_model_dir)
    plain = TextEmbedder(tiny_model_dir)
    np.testing.assert_allclose(
        prompted.embed_query("cat", prompt=""), plain.embed_query("cat"), atol=1e-6
    )
    np.testing.assert_allclose(
        prompted.embed_documents(["cat"], prompt_name="query"),
        prompted.embed_query(["cat"]),
        atol=1e-6,
    )
    overridden = TextEmbedder(tiny_prompt_model_dir, query_prompt="search: ")
    np.testing.assert_allclose(
        overridden.embed_query("cat"), plain.embed_query("search: cat"), atol=1e-6
    )
    with pytest.raises(ConfigError, match="no prompt named"):
        prompted.embed_query("cat", prompt_name="clustering")


def test_truncation_counts_the_prompt_and_is_reported(
    tiny_prompt_model_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    embedder = TextEmbedder(tiny_prompt_model_dir)  # window: 16 tokens
    fits_alone = " ".join(["cat"] * 14)  # 14 + [CLS] + [SEP] = 16
    embedder.embed_documents([fits_alone], prompt="")
    assert embedder.last_stats.truncated == 0 and embedder.last_stats.tokens == 16
    with caplog.at_level(logging.WARNING, logger="ragkit"):
        embedder.embed_documents(["dog", fits_alone])  # "passage: " adds 2 tokens
    assert embedder.last_stats.truncated == 1
    assert embedder.last_stats.truncated_indices == (1,)
    assert "1 of 2 texts" in caplog.text and "truncated" in caplog.text


def test_truncation_error_mode_raises_before_returning(tiny_model_dir: Path) -> None:
    embedder = TextEmbedder(tiny_model_dir, truncation="error")
    with pytest.raises(InputError, match="index 1"):
        embedder.embed_documents(["cat", "dog " * 50])


def test_huge_and_unicode_texts_embed(embedder: TextEmbedder) -> None:
    texts = ["x" * 100_000, "日本語のテキスト 🚀", "\u0000\ufeff", "word " * 20_000]
    vectors = embedder.embed_documents(texts)
    assert vectors.shape == (4, 32) and np.isfinite(vectors).all()
    # WordPiece maps a 100,000-character word to one [UNK]: only the long sentence is cut.
    assert embedder.last_stats.truncated_indices == (3,)


def test_matryoshka_dim_truncates_then_renormalises(tiny_model_dir: Path) -> None:
    full = TextEmbedder(tiny_model_dir).embed_documents(TEXTS)
    with pytest.warns(UserWarning, match="not trained for Matryoshka"):
        short = TextEmbedder(tiny_model_dir, dim=8)
    assert short.dim == 8
    np.testing.assert_allclose(short.embed_documents(TEXTS), l2_normalize(full[:, :8]), atol=1e-5)


@pytest.mark.parametrize("dim", [0, -1, 33])
def test_dim_outside_the_model_is_rejected(tiny_model_dir: Path, dim: int) -> None:
    with pytest.raises(ConfigError, match="dim must be between"):
        TextEmbedder(tiny_model_dir, dim=dim)


def test_unknown_model_id_lists_close_matches() -> None:
    with pytest.raises(ModelNotFoundError, match="all-MiniLM-L6-v2"):
        TextEmbedder("all-minilm-l6")


def test_missing_tokenizer_names_the_file(tiny_model_dir: Path, tmp_path: Path) -> None:
    folder = shutil.copytree(tiny_model_dir, tmp_path / "m")
    (folder / "tokenizer.json").unlink()
    with pytest.raises(ModelFileError, match="tokenizer.json"):
        TextEmbedder(folder)


def test_corrupt_files_name_the_file(tiny_model_dir: Path, tmp_path: Path) -> None:
    folder = shutil.copytree(tiny_model_dir, tmp_path / "m")
    (folder / "model.onnx").write_bytes(b"not an onnx file")
    with pytest.raises(ModelFileError, match="model.onnx"):
        TextEmbedder(folder, lazy_load=False)
    folder2 = shutil.copytree(tiny_model_dir, tmp_path / "m2")
    (folder2 / "tokenizer.json").write_text("{broken")
    with pytest.raises(ModelFileError, match="tokenizer.json"):
        TextEmbedder(folder2).embed_documents(["x"])


def test_unexpected_graph_inputs_are_a_clear_error(tmp_path: Path) -> None:
    folder = build_model_folder(
        tmp_path / "m", input_names=("input_ids", "attention_mask", "pixel_values")
    )
    with pytest.raises(ModelGraphError, match="pixel_values"):
        TextEmbedder(folder).embed_documents(["x"])


def test_graph_without_token_type_ids_and_with_other_output_name(tmp_path: Path) -> None:
    folder = build_model_folder(
        tmp_path / "m", input_names=("input_ids", "attention_mask"), output_name="token_embeddings"
    )
    vectors = TextEmbedder(folder).embed_documents(["hello", "world"])
    assert vectors.shape == (2, 32)


def test_pooled_output_graph_is_used_as_is(tmp_path: Path) -> None:
    folder = build_model_folder(
        tmp_path / "m", output_name="sentence_embedding", pooled_output=True
    )
    vectors = TextEmbedder(folder).embed_documents(["hello"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_config_dim_disagreeing_with_graph_is_an_error(tmp_path: Path) -> None:
    folder = build_model_folder(tmp_path / "m")
    (folder / "1_Pooling" / "config.json").write_text(
        '{"word_embedding_dimension": 64, "pooling_mode_mean_tokens": true}'
    )
    with pytest.raises(ModelGraphError, match="64"):
        TextEmbedder(folder).embed_documents(["x"])


def test_cls_pooling_folder_uses_the_first_token(tmp_path: Path) -> None:
    cls_folder = build_model_folder(tmp_path / "cls", pooling="cls")
    mean_folder = build_model_folder(tmp_path / "mean", pooling="mean")
    a = TextEmbedder(cls_folder).embed_documents(["hello world"])
    b = TextEmbedder(mean_folder).embed_documents(["hello world"])
    assert TextEmbedder(cls_folder).spec.pooling == "cls"
    assert not np.allclose(a, b)
    # [CLS] is the same token for every text: CLS pooling of this per-token model is constant.
    np.testing.assert_allclose(
        a[0], TextEmbedder(cls_folder).embed_documents(["dog"])[0], atol=1e-6
    )


def test_unnormalised_model_is_not_normalised(tmp_path: Path) -> None:
    folder = build_model_folder(tmp_path / "raw", normalize=False)
    vectors = TextEmbedder(folder).embed_documents(["hello world", "dog"])
    assert not np.allclose(np.linalg.norm(vectors, axis=1), 1.0)


def test_cuda_on_a_cpu_build_is_a_clear_error(tiny_model_dir: Path) -> None:
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime build has CUDA")
    with pytest.raises(ProviderError, match="onnxruntime-gpu"):
        TextEmbedder(tiny_model_dir, cuda=True)


def test_fingerprint_changes_with_what_changes_vectors(
    tiny_model_dir: Path, tiny_prompt_model_dir: Path
) -> None:
    base = TextEmbedder(tiny_model_dir).fingerprint()
    assert TextEmbedder(tiny_model_dir).fingerprint() == base
    assert TextEmbedder(tiny_model_dir, query_prompt="q: ").fingerprint() != base
    assert TextEmbedder(tiny_model_dir, precision="int8").fingerprint() != base


def test_token_ids_embed_exactly_as_the_texts_they_come_from(embedder: TextEmbedder) -> None:
    counter = embedder.token_counter()
    texts = [t for t in TEXTS if t.strip()]
    rows = [np.array(ids, dtype=np.int32) for ids in counter.token_ids(texts)]
    np.testing.assert_allclose(
        embedder.embed_token_ids(rows), embedder.embed_documents(texts), atol=1e-6
    )
    assert embedder.last_stats.tokens == sum(len(r) for r in rows)


@pytest.mark.parametrize("extra", [None, 1])
def test_token_rows_empty_or_over_the_window_are_refused(
    embedder: TextEmbedder, extra: int | None
) -> None:
    length = 0 if extra is None else embedder.max_tokens + extra
    with pytest.raises(InputError, match=f"Token row 1 has {length} ids"):
        embedder.embed_token_ids([[2, 3], [7] * length])


@pytest.mark.parametrize("bad", [[2, -1], [2, 10**6], [2.0, 3.0]])
def test_token_rows_of_another_vocabulary_are_refused_before_the_model_runs(
    embedder: TextEmbedder, bad: list[float]
) -> None:
    with pytest.raises(InputError, match="Token row 1 holds ids outside"):
        embedder.embed_token_ids([[2, 3], bad])
