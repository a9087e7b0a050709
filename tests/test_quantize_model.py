"""Tests of ragkit.quantize_model: int8 models from tiny generated fp32 ones, and agreement checks."""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

import ragkit.quantize_model as qm
from ragkit.errors import (
    ConfigError,
    DependencyError,
    InputError,
    ModelFileError,
    QuantizationError,
)
from ragkit.quantize_model import (
    DEFAULT_OP_TYPES,
    AgreementReport,
    cosine_agreement,
    quantize_model,
    quantized_cache_path,
    settings_tag,
)
from tests.tiny_models import build_onnx_model, tiny_vocab

HIDDEN = 64
VOCAB = len(tiny_vocab())


# ---------------------------------------------------------------- helpers


def _session(path: Path) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def _random_batch(seed: int = 1, batch: int = 16, seq: int = 24) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, VOCAB, size=(batch, seq), dtype=np.int64)
    lengths = rng.integers(3, seq + 1, size=batch)
    mask = (np.arange(seq)[None, :] < lengths[:, None]).astype(np.int64)
    return {"input_ids": ids * mask, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}


def _token_vectors(path: Path, feed: dict[str, np.ndarray]) -> np.ndarray:
    """The output rows of every real (unmasked) token, shape (tokens, hidden)."""
    out = _session(path).run(None, feed)[0]
    return np.asarray(out[feed["attention_mask"].astype(bool)])


def _mean_pooled(path: Path, feed: dict[str, np.ndarray]) -> np.ndarray:
    out = _session(path).run(None, feed)[0]
    mask = feed["attention_mask"][..., None].astype(np.float32)
    return np.asarray((out * mask).sum(1) / mask.sum(1))


def _initializers(path: Path) -> dict[str, np.ndarray]:
    model = onnx.load(str(path))
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


def _op_types(path: Path) -> list[str]:
    return [n.op_type for n in onnx.load(str(path), load_external_data=False).graph.node]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name)


@pytest.fixture(scope="module")
def fp32_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fp32") / "model.onnx"
    build_onnx_model(path, vocab_size=VOCAB, hidden=HIDDEN, seed=3)
    return path


@pytest.fixture(scope="module")
def int8_model(fp32_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return quantize_model(fp32_model, tmp_path_factory.mktemp("int8") / "model_int8.onnx")


# ---------------------------------------------------------------- quantize_model: the output


def test_int8_model_loads_and_agrees_with_fp32(fp32_model: Path, int8_model: Path) -> None:
    feed = _random_batch()
    tokens = cosine_agreement(_token_vectors(fp32_model, feed), _token_vectors(int8_model, feed))
    pooled = cosine_agreement(_mean_pooled(fp32_model, feed), _mean_pooled(int8_model, feed))
    assert tokens.n == int(feed["attention_mask"].sum())
    assert tokens.mean > 0.98 and tokens.min > 0.9
    assert pooled.mean > 0.98
    # but it is not simply the fp32 model: the weights really changed
    assert tokens.mean < 1.0 - 1e-7


def test_int8_file_is_smaller(fp32_model: Path, int8_model: Path) -> None:
    assert int8_model.stat().st_size < 0.5 * fp32_model.stat().st_size


def test_matmul_weights_are_int8_per_channel(int8_model: Path) -> None:
    ops = _op_types(int8_model)
    assert ops.count("MatMulInteger") == 2  # both weight MatMuls
    assert "MatMul" not in ops
    assert "DynamicQuantizeLinear" in ops
    inits = _initializers(int8_model)
    assert "w1" not in inits and "w2" not in inits  # the fp32 weights are gone
    for weight in ("w1", "w2"):
        quantized = inits[f"{weight}_quantized"]
        assert quantized.dtype == np.int8 and quantized.shape == (HIDDEN, HIDDEN)
        scale = inits[f"{weight}_scale"]
        assert scale.shape == (HIDDEN,)  # one scale per output column
        assert np.all(scale > 0)


def test_embedding_tables_are_int8_by_default(int8_model: Path) -> None:
    inits = _initializers(int8_model)
    assert "word_emb" not in inits
    # ONNX Runtime stores Gather tables as per-tensor uint8 with a zero point, whatever weight_type
    assert inits["word_emb_quantized"].dtype == np.uint8
    assert inits["word_emb_quantized"].shape == (VOCAB, HIDDEN)
    assert "DequantizeLinear" in _op_types(int8_model)


def test_matmul_only_keeps_embedding_tables_fp32(fp32_model: Path, tmp_path: Path) -> None:
    out = quantize_model(fp32_model, tmp_path / "mm.onnx", op_types=("MatMul",))
    inits = _initializers(out)
    assert inits["word_emb"].dtype == np.float32
    assert inits["w1_quantized"].dtype == np.int8


def test_per_tensor_and_uint8_options(fp32_model: Path, tmp_path: Path) -> None:
    out = quantize_model(fp32_model, tmp_path / "pt.onnx", per_channel=False, weight_type="uint8")
    inits = _initializers(out)
    assert inits["w1_quantized"].dtype == np.uint8
    assert inits["w1_scale"].size == 1
    feed = _random_batch(seed=5)
    assert cosine_agreement(_mean_pooled(fp32_model, feed), _mean_pooled(out, feed)).mean > 0.95


def test_defaults_are_the_measured_winner() -> None:
    assert DEFAULT_OP_TYPES == ("MatMul", "Gather")
    assert settings_tag() == "v2-int8-pc-Gather+MatMul"
    assert settings_tag(op_types=["Gather", "MatMul", "MatMul"]) == settings_tag()
    assert settings_tag(per_channel=False, weight_type="uint8", optimize=True) == (
        "v2-uint8-pt-Gather+MatMul-opt"
    )


# ---------------------------------------------------------------- quantize_model: files


def test_creates_parent_folders_and_leaves_no_temp_files(fp32_model: Path, tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "model_int8.onnx"
    assert quantize_model(fp32_model, target) == target
    assert target.is_file()
    assert sorted(p.name for p in target.parent.iterdir()) == ["model_int8.onnx"]


def test_never_writes_next_to_the_source(fp32_model: Path, tmp_path: Path) -> None:
    before = sorted(os.listdir(fp32_model.parent))
    quantize_model(fp32_model, tmp_path / "out.onnx")
    assert sorted(os.listdir(fp32_model.parent)) == before


def test_replaces_an_existing_target(fp32_model: Path, tmp_path: Path) -> None:
    target = tmp_path / "model_int8.onnx"
    target.write_bytes(b"old")
    quantize_model(fp32_model, target)
    _session(target)  # a real model now


def test_missing_source_raises_model_file_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "model.onnx"
    with pytest.raises(ModelFileError, match="nope"):
        quantize_model(missing, tmp_path / "out" / "model_int8.onnx")
    assert not (tmp_path / "out" / "model_int8.onnx").exists()


def test_corrupt_source_leaves_nothing_at_target(tmp_path: Path) -> None:
    corrupt = tmp_path / "src" / "model.onnx"
    corrupt.parent.mkdir()
    corrupt.write_bytes(b"\x08\x07this is not protobuf\xff\xff\xff")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ModelFileError, match=r"model\.onnx"):
        quantize_model(corrupt, out / "model_int8.onnx")
    assert list(out.iterdir()) == []


def test_quantizer_failure_is_quantization_error_and_atomic(
    fp32_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import onnxruntime.quantization

    def boom(*args: object, **kwargs: object) -> None:
        Path(str(args[1])).write_bytes(b"half-written")  # the quantizer dies mid-write
        raise RuntimeError("Unable to find data type for weight_name='x'")

    monkeypatch.setattr(onnxruntime.quantization, "quantize_dynamic", boom)
    target = tmp_path / "model_int8.onnx"
    target.write_bytes(b"previous build")
    with pytest.raises(QuantizationError) as info:
        quantize_model(fp32_model, target)
    message = str(info.value)
    assert str(fp32_model) in message and "Try" in message
    assert isinstance(info.value.__cause__, RuntimeError)
    assert target.read_bytes() == b"previous build"
    assert _leftovers(tmp_path) == []


def test_external_data_model(tmp_path: Path) -> None:
    src_dir = tmp_path / "big"
    src_dir.mkdir()
    build_onnx_model(src_dir / "tmp.onnx", vocab_size=VOCAB, hidden=HIDDEN, seed=4)
    proto = onnx.load(str(src_dir / "tmp.onnx"))
    (src_dir / "tmp.onnx").unlink()
    onnx.save_model(
        proto,
        str(src_dir / "model.onnx"),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="model.onnx_data",
        size_threshold=1024,  # the weight tables go out, small constants stay inline
    )
    assert (src_dir / "model.onnx_data").is_file()
    before = sorted(os.listdir(src_dir))
    target = tmp_path / "out" / "model_int8.onnx"
    quantize_model(src_dir / "model.onnx", target)
    assert (target.parent / "model_int8.onnx.data").is_file()
    assert sorted(os.listdir(src_dir)) == before
    feed = _random_batch(seed=2)
    report = cosine_agreement(
        _mean_pooled(src_dir / "model.onnx", feed), _mean_pooled(target, feed)
    )
    assert report.mean > 0.98


def test_missing_external_data_raises_model_file_error(tmp_path: Path) -> None:
    build_onnx_model(tmp_path / "tmp.onnx", vocab_size=VOCAB, hidden=HIDDEN)
    onnx.save_model(
        onnx.load(str(tmp_path / "tmp.onnx")),
        str(tmp_path / "model.onnx"),
        save_as_external_data=True,
        location="weights.bin",
        size_threshold=0,
    )
    (tmp_path / "weights.bin").unlink()
    with pytest.raises(ModelFileError, match=r"weights\.bin"):
        quantize_model(tmp_path / "model.onnx", tmp_path / "out" / "model_int8.onnx")


# ---------------------------------------------------------------- quantize_model: settings, deps, logs


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"op_types": ()}, "at least one"),
        ({"op_types": ("MatMul", "Softmax")}, "Softmax"),
        ({"weight_type": "int4"}, "int4"),
    ],
)
def test_bad_settings_raise_config_error(
    fp32_model: Path, tmp_path: Path, kwargs: dict[str, object], match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        quantize_model(fp32_model, tmp_path / "out.onnx", **kwargs)  # type: ignore[arg-type]
    assert not (tmp_path / "out.onnx").exists()


def test_missing_onnx_raises_dependency_error(
    fp32_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(DependencyError, match=r"pip install 'ragkit\[quantize\]'"):
        quantize_model(fp32_model, tmp_path / "out.onnx")


@pytest.mark.skipif(importlib.util.find_spec("sympy") is not None, reason="sympy is installed")
def test_optimize_without_sympy_raises_dependency_error(fp32_model: Path, tmp_path: Path) -> None:
    with pytest.raises(DependencyError, match="sympy"):
        quantize_model(fp32_model, tmp_path / "out.onnx", optimize=True)
    assert _leftovers(tmp_path) == [] and not (tmp_path / "out.onnx").exists()


def test_optimize_with_sympy(fp32_model: Path, tmp_path: Path) -> None:
    pytest.importorskip("sympy")
    out = quantize_model(fp32_model, tmp_path / "opt.onnx", optimize=True)
    feed = _random_batch(seed=7)
    assert cosine_agreement(_mean_pooled(fp32_model, feed), _mean_pooled(out, feed)).mean > 0.98


def test_does_not_configure_logging(fp32_model: Path, tmp_path: Path) -> None:
    root = logging.getLogger()
    saved = root.handlers[:]
    for handler in saved:
        root.removeHandler(handler)
    try:
        quantize_model(fp32_model, tmp_path / "out.onnx")
        assert root.handlers == []  # ORT's logging.warning() would have run basicConfig()
        assert root.filters == []
    finally:
        for handler in saved:
            root.addHandler(handler)


def test_drops_preprocessing_advice_and_logs_at_debug(
    fp32_model: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="ragkit.quantize_model"):
        quantize_model(fp32_model, tmp_path / "out.onnx")
    assert not [r for r in caplog.records if "pre-processing" in r.getMessage()]
    ours = [r for r in caplog.records if r.name == "ragkit.quantize_model"]
    assert ours and all(r.levelno == logging.DEBUG for r in ours)


def test_warns_when_nothing_was_quantized(
    fp32_model: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="ragkit.quantize_model"):
        quantize_model(fp32_model, tmp_path / "out.onnx", op_types=("Conv",))
    assert any("changed nothing" in r.getMessage() for r in caplog.records)


# ---------------------------------------------------------------- cosine_agreement


def test_cosine_identical_is_one() -> None:
    a = np.random.default_rng(0).normal(size=(10, 8)).astype(np.float32)
    report = cosine_agreement(a, a.copy())
    assert report == AgreementReport(
        mean=pytest.approx(1.0), min=pytest.approx(1.0), p5=pytest.approx(1.0), n=10
    )  # type: ignore[arg-type]


def test_cosine_orthogonal_rows_is_zero() -> None:
    report = cosine_agreement(
        np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([[0.0, 3.0], [5.0, 0.0]])
    )
    assert report.mean == 0.0 and report.min == 0.0 and report.p5 == 0.0 and report.n == 2


def test_cosine_is_scale_free_and_signed() -> None:
    ref = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    cand = np.array([[3.0, 3.0], [-2.0, 0.0], [0.0, 0.0]])  # same, opposite, zero row
    report = cosine_agreement(ref, cand)
    assert report.min == pytest.approx(-1.0)
    assert report.mean == pytest.approx(0.0)
    assert report.n == 3


def test_cosine_percentile() -> None:
    angles = np.linspace(0, np.pi / 2, 101)  # cosines from 1 down to 0
    ref = np.tile([1.0, 0.0], (101, 1))
    cand = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    report = cosine_agreement(ref, cand)
    assert report.p5 == pytest.approx(np.percentile(np.cos(angles), 5))
    assert report.min == pytest.approx(0.0, abs=1e-12)
    assert "mean" in str(report) and "n=101" in str(report)


@pytest.mark.parametrize(
    ("ref", "cand", "match"),
    [
        (np.zeros((3, 4)), np.zeros((3, 5)), "same shape"),
        (np.zeros((3, 4)), np.zeros((2, 4)), "same shape"),
        (np.zeros((0, 4)), np.zeros((0, 4)), "at least one"),
        (np.zeros((3, 0)), np.zeros((3, 0)), "at least one"),
        (np.zeros(4), np.zeros(4), "2-D"),
        (np.ones((2, 2)), np.array([[1.0, np.nan], [1.0, 1.0]]), "candidate row 0"),
    ],
)
def test_cosine_bad_input_raises_input_error(ref: np.ndarray, cand: np.ndarray, match: str) -> None:
    with pytest.raises(InputError, match=match):
        cosine_agreement(ref, cand)


# ---------------------------------------------------------------- quantized_cache_path


def test_cache_path_is_stable_and_keyed_on_the_source(tmp_path: Path) -> None:
    src = tmp_path / "m" / "model.onnx"
    src.parent.mkdir()
    src.write_bytes(b"x" * 100)
    cache = tmp_path / "cache"
    first = quantized_cache_path(src, cache, "tag")
    assert first == quantized_cache_path(src, cache, "tag")
    assert first == quantized_cache_path(tmp_path / "m" / ".." / "m" / "model.onnx", cache, "tag")
    assert first.name == "model_int8.onnx" and first.parent.parent == cache / "quantized"
    assert len(first.parent.name) == 16 and int(first.parent.name, 16) >= 0
    assert not cache.exists()  # nothing created

    assert quantized_cache_path(src, cache, "other") != first  # settings
    st = src.stat()
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    touched = quantized_cache_path(src, cache, "tag")
    assert touched != first  # mtime
    src.write_bytes(b"y" * 101)
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert quantized_cache_path(src, cache, "tag") not in (first, touched)  # size

    copy = tmp_path / "other" / "model.onnx"
    copy.parent.mkdir()
    copy.write_bytes(src.read_bytes())
    assert quantized_cache_path(copy, cache, "tag") != quantized_cache_path(src, cache, "tag")


def test_cache_path_follows_external_data(tmp_path: Path) -> None:
    src = tmp_path / "model.onnx"
    src.write_bytes(b"graph")
    data = tmp_path / "model.onnx_data"
    data.write_bytes(b"weights")
    before = quantized_cache_path(src, tmp_path / "cache", "tag")
    (tmp_path / "unrelated.txt").write_text("hi")
    assert quantized_cache_path(src, tmp_path / "cache", "tag") == before
    data.write_bytes(b"new weights")
    assert quantized_cache_path(src, tmp_path / "cache", "tag") != before


def test_cache_path_missing_source(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="ghost"):
        quantized_cache_path(tmp_path / "ghost.onnx", tmp_path, "tag")


def test_public_api() -> None:
    assert qm.__all__ == sorted(qm.__all__)
    for name in qm.__all__:
        assert hasattr(qm, name)


# ---------------------------------------------------------------- the real model


_SUBJECTS = [
    "Vitamin D supplementation",
    "Aspirin use",
    "Regular aerobic exercise",
    "Chronic sleep deprivation",
    "Statin therapy",
    "Maternal smoking during pregnancy",
    "Overexpression of the p53 tumour suppressor",
    "Gut microbiome diversity",
    "Mutations in the BRCA1 gene",
    "Long-term exposure to fine particulate matter",
]
_CLAIMS = [
    "reduces the risk of hip fractures in elderly women.",
    "is associated with increased all-cause mortality in a large cohort study.",
    "has no significant effect on blood pressure in randomized controlled trials.",
    "alters T cell differentiation and cytokine production in mice.",
    "predicts poor prognosis in patients with metastatic colorectal cancer.",
]
SCIFACT_LIKE = [f"{s} {c}" for s in _SUBJECTS for c in _CLAIMS]


def _embed(path: Path, tokenizer_path: Path, texts: list[str]) -> np.ndarray:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_path))
    tok.no_padding()
    tok.enable_truncation(256)
    encodings = tok.encode_batch(texts)
    width = max(len(e.ids) for e in encodings)
    ids = np.zeros((len(texts), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, enc in enumerate(encodings):
        ids[row, : len(enc.ids)] = enc.ids
        mask[row, : len(enc.ids)] = 1
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    hidden = sess.run(
        None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    )[0]
    pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
    return np.asarray(pooled / np.linalg.norm(pooled, axis=1, keepdims=True))


@pytest.mark.real_model
def test_real_model_int8_keeps_accuracy_and_shrinks(real_model_dir: Path, tmp_path: Path) -> None:
    source = real_model_dir / "model.onnx"
    target = quantize_model(source, tmp_path / "model_int8.onnx")
    assert target.stat().st_size <= 0.30 * source.stat().st_size
    tokenizer = real_model_dir / "tokenizer.json"
    report = cosine_agreement(
        _embed(source, tokenizer, SCIFACT_LIKE), _embed(target, tokenizer, SCIFACT_LIKE)
    )
    assert report.n == 50
    assert report.mean >= 0.99, report
    assert report.min >= 0.97, report
