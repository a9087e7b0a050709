"""Tiny cross-encoder folders: the tiny WordPiece tokenizer and a seeded classification graph.

The graph is embeddings (+ token types when it takes them) -> MatMul -> Tanh -> masked mean
over the pair's tokens -> Linear -> ``[batch, labels]``. Its output for a pair does not depend
on padding, so batched and one-by-one runs can be compared exactly, and :func:`reference_logits`
computes the same in numpy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from tests.tiny_models import build_tokenizer_json, tiny_vocab

HIDDEN = 16


@dataclass(frozen=True)
class Weights:
    word: npt.NDArray[np.float32]
    types: npt.NDArray[np.float32]
    w1: npt.NDArray[np.float32]
    b1: npt.NDArray[np.float32]
    head: npt.NDArray[np.float32]
    head_bias: npt.NDArray[np.float32]


def make_weights(labels: int, seed: int = 0) -> Weights:
    rng = np.random.default_rng(seed)
    vocab = len(tiny_vocab())
    return Weights(
        word=rng.normal(0, 1, (vocab, HIDDEN)).astype(np.float32),
        types=rng.normal(0, 0.5, (2, HIDDEN)).astype(np.float32),
        w1=rng.normal(0, 0.5, (HIDDEN, HIDDEN)).astype(np.float32),
        b1=rng.normal(0, 0.1, (HIDDEN,)).astype(np.float32),
        head=rng.normal(0, 2.0, (HIDDEN, labels)).astype(np.float32),
        head_bias=rng.normal(0, 0.1, (labels,)).astype(np.float32),
    )


def reference_logits(
    weights: Weights, ids: Sequence[int], types: Sequence[int], *, token_types: bool
) -> npt.NDArray[np.float32]:
    """The graph's logits for one unpadded pair, in numpy."""
    emb = weights.word[np.asarray(ids)]
    if token_types:
        emb = emb + weights.types[np.asarray(types)]
    states = np.tanh(emb @ weights.w1 + weights.b1)
    return np.asarray(states.mean(axis=0) @ weights.head + weights.head_bias, dtype=np.float32)


def build_scorer_onnx(
    path: Path,
    weights: Weights,
    *,
    token_types: bool = True,
    output_name: str = "logits",
    output_shape: Sequence[str | int] | None = None,
    token_states_output: bool = False,
) -> None:
    """Write the graph; ``output_shape`` overrides the declared shape (to lie about it).

    ``token_states_output`` makes the output the per-token states ``[batch, seq, hidden]``
    (what a feature-extraction export gives), as a model without its head would.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    labels = weights.head.shape[1]
    inits = [
        numpy_helper.from_array(weights.word, "word"),
        numpy_helper.from_array(weights.types, "types"),
        numpy_helper.from_array(weights.w1, "w1"),
        numpy_helper.from_array(weights.b1, "b1"),
        numpy_helper.from_array(weights.head, "head"),
        numpy_helper.from_array(weights.head_bias, "head_bias"),
        numpy_helper.from_array(np.array([-1], dtype=np.int64), "last_axis"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "seq_axis"),
    ]
    nodes = [helper.make_node("Gather", ["word", "input_ids"], ["we"])]
    if token_types:
        nodes += [
            helper.make_node("Gather", ["types", "token_type_ids"], ["te"]),
            helper.make_node("Add", ["we", "te"], ["emb"]),
        ]
    else:
        nodes.append(helper.make_node("Identity", ["we"], ["emb"]))
    nodes += [
        helper.make_node("MatMul", ["emb", "w1"], ["h1"]),
        helper.make_node("Add", ["h1", "b1"], ["h2"]),
        helper.make_node("Tanh", ["h2"], ["states"]),
        helper.make_node("Cast", ["attention_mask"], ["maskf"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["maskf", "last_axis"], ["mask3"]),
        helper.make_node("Mul", ["states", "mask3"], ["masked"]),
    ]
    if token_states_output:
        nodes.append(helper.make_node("Identity", ["masked"], [output_name]))
        declared: Sequence[str | int] = ["batch", "seq", HIDDEN]
    else:
        nodes += [
            helper.make_node("ReduceSum", ["masked", "seq_axis"], ["tsum"], keepdims=0),
            helper.make_node("ReduceSum", ["mask3", "seq_axis"], ["msum"], keepdims=0),
            helper.make_node("Div", ["tsum", "msum"], ["pooled"]),
            helper.make_node("MatMul", ["pooled", "head"], ["hl"]),
            helper.make_node("Add", ["hl", "head_bias"], [output_name]),
        ]
        declared = ["batch", labels]
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if token_types else [])
    graph = helper.make_graph(
        nodes,
        "tiny_cross_encoder",
        [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"]) for n in names],
        [
            helper.make_tensor_value_info(
                output_name, TensorProto.FLOAT, list(output_shape or declared)
            )
        ],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def build_cross_encoder_folder(
    folder: Path,
    *,
    labels: int = 1,
    token_types: bool = True,
    max_length: int = 32,
    onnx_name: str = "model.onnx",
    seed: int = 0,
    **onnx_kwargs: object,
) -> Weights:
    """Write a cross-encoder folder (ONNX, tokenizer.json, config files); return its weights."""
    folder.mkdir(parents=True, exist_ok=True)
    build_tokenizer_json(folder / "tokenizer.json")
    (folder / "tokenizer_config.json").write_text(json.dumps({"model_max_length": max_length}))
    (folder / "config.json").write_text(
        json.dumps(
            {
                "architectures": ["BertForSequenceClassification"],
                "id2label": {str(i): f"LABEL_{i}" for i in range(labels)},
                "max_position_embeddings": 512,
            }
        )
    )
    weights = make_weights(labels, seed)
    onnx_path = folder / onnx_name
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    build_scorer_onnx(onnx_path, weights, token_types=token_types, **onnx_kwargs)  # type: ignore[arg-type]
    return weights
