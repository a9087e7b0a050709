"""Builders for tiny, real model folders: a WordPiece tokenizer and a BERT-shaped ONNX graph.

They are generated in code (a few KB, random but seeded weights), so unit tests never need a
download or the real model. The graph is per-token (no attention), so its output for a token
does not depend on padding: batching and sorting can be checked for exact equality.
"""

from __future__ import annotations

import json
import string
from collections.abc import Sequence
from pathlib import Path

import numpy as np

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = [
    "the",
    "a",
    "is",
    "of",
    "and",
    "to",
    "in",
    "query",
    "passage",
    "search",
    "document",
    "hello",
    "world",
    "binary",
    "vector",
    "embedding",
    "cat",
    "dog",
    "science",
    "claim",
]


def tiny_vocab() -> list[str]:
    """Special tokens, single characters, ``##`` continuations and a few whole words."""
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    return SPECIAL_TOKENS + chars + ["##" + c for c in chars] + WORDS


def build_tokenizer_json(path: Path, *, preset_length: int = 128) -> None:
    """Write a BERT-style WordPiece ``tokenizer.json``.

    Like real hub files, it comes with padding and truncation preset to ``preset_length``:
    ragkit must override both.
    """
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece

    vocab = {tok: i for i, tok in enumerate(tiny_vocab())}
    tok = Tokenizer(WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    tok.decoder = decoders.WordPiece()
    tok.enable_padding(length=preset_length, pad_id=0, pad_token="[PAD]")
    tok.enable_truncation(max_length=preset_length)
    tok.save(str(path))


def build_onnx_model(
    path: Path,
    *,
    vocab_size: int,
    hidden: int = 32,
    seed: int = 0,
    input_names: Sequence[str] = ("input_ids", "attention_mask", "token_type_ids"),
    output_name: str = "last_hidden_state",
    pooled_output: bool = False,
    context: bool = False,
) -> None:
    """Write a tiny per-token encoder: embeddings -> MatMul -> Tanh, masked by attention_mask.

    Args:
        path: Where to write the ``.onnx`` file.
        vocab_size: Rows of the word-embedding table.
        hidden: Output dimension.
        seed: Seed of the random weights.
        input_names: Graph inputs; any name besides the three standard ones is added unused.
        output_name: Name of the single output.
        pooled_output: Emit a 2-D ``[batch, hidden]`` output (mean over tokens) instead of 3-D.
        context: Add the mean of the sequence's (masked) states to every token, so a token's
            state depends on the other tokens in its window, as in a real encoder (needs
            ``attention_mask``).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    inits = [
        numpy_helper.from_array(
            rng.normal(0, 1, (vocab_size, hidden)).astype(np.float32), "word_emb"
        ),
        numpy_helper.from_array(rng.normal(0, 0.1, (2, hidden)).astype(np.float32), "type_emb"),
        numpy_helper.from_array(rng.normal(0, 0.3, (hidden, hidden)).astype(np.float32), "w1"),
        numpy_helper.from_array(rng.normal(0, 0.1, (hidden,)).astype(np.float32), "b1"),
        numpy_helper.from_array(rng.normal(0, 0.3, (hidden, hidden)).astype(np.float32), "w2"),
    ]
    nodes = [helper.make_node("Gather", ["word_emb", "input_ids"], ["we"])]
    if "token_type_ids" in input_names:
        nodes += [
            helper.make_node("Gather", ["type_emb", "token_type_ids"], ["te"]),
            helper.make_node("Add", ["we", "te"], ["emb"]),
        ]
    else:
        nodes.append(helper.make_node("Identity", ["we"], ["emb"]))
    nodes += [
        helper.make_node("MatMul", ["emb", "w1"], ["h1"]),
        helper.make_node("Add", ["h1", "b1"], ["h2"]),
        helper.make_node("Tanh", ["h2"], ["h3"]),
        helper.make_node("MatMul", ["h3", "w2"], ["h4"]),
    ]
    if "attention_mask" in input_names:
        nodes += [
            helper.make_node("Cast", ["attention_mask"], ["maskf"], to=TensorProto.FLOAT),
            helper.make_node("Unsqueeze", ["maskf", "axes"], ["mask3"]),
            helper.make_node("Mul", ["h4", "mask3"], ["tokens"]),
        ]
        inits.append(numpy_helper.from_array(np.array([-1], dtype=np.int64), "axes"))
    else:
        nodes.append(helper.make_node("Identity", ["h4"], ["tokens"]))
    if context:
        nodes += [
            helper.make_node("ReduceSum", ["tokens", "seq_axis"], ["tsum"], keepdims=1),
            helper.make_node("ReduceSum", ["mask3", "seq_axis"], ["msum"], keepdims=1),
            helper.make_node("Div", ["tsum", "msum"], ["ctx"]),
            helper.make_node("Add", ["tokens", "ctx"], ["tc"]),
            helper.make_node("Mul", ["tc", "mask3"], ["tokens_ctx"]),
        ]
        inits.append(numpy_helper.from_array(np.array([1], dtype=np.int64), "seq_axis"))
        last = "tokens_ctx"
    else:
        last = "tokens"
    if pooled_output:
        nodes.append(helper.make_node("ReduceMean", [last], [output_name], axes=[1], keepdims=0))
        out_shape: list[str | int] = ["batch", hidden]
    else:
        nodes.append(helper.make_node("Identity", [last], [output_name]))
        out_shape = ["batch", "seq", hidden]
    inputs = [
        helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "seq"])
        for name in input_names
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_encoder",
        inputs,
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, out_shape)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def build_model_folder(
    folder: Path,
    *,
    hidden: int = 32,
    max_seq_length: int = 16,
    pooling: str = "mean",
    normalize: bool = True,
    prompts: dict[str, str] | None = None,
    onnx_name: str = "model.onnx",
    **onnx_kwargs: object,
) -> Path:
    """Write a complete sentence-transformers style folder around the tiny model."""
    folder.mkdir(parents=True, exist_ok=True)
    build_tokenizer_json(folder / "tokenizer.json")
    (folder / "tokenizer_config.json").write_text(
        json.dumps(
            {"do_lower_case": True, "model_max_length": 512, "tokenizer_class": "BertTokenizer"}
        )
    )
    (folder / "special_tokens_map.json").write_text(
        json.dumps({t.strip("[]").lower() + "_token": t for t in SPECIAL_TOKENS})
    )
    (folder / "config.json").write_text(
        json.dumps({"model_type": "bert", "hidden_size": hidden, "vocab_size": len(tiny_vocab())})
    )
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
    ]
    if normalize:
        modules.append(
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            }
        )
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "1_Pooling").mkdir(exist_ok=True)
    (folder / "1_Pooling" / "config.json").write_text(
        json.dumps(
            {
                "word_embedding_dimension": hidden,
                "pooling_mode_cls_token": pooling == "cls",
                "pooling_mode_mean_tokens": pooling == "mean",
                "pooling_mode_max_tokens": False,
                "pooling_mode_lasttoken": pooling == "last_token",
            }
        )
    )
    (folder / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": max_seq_length, "do_lower_case": False})
    )
    st_config: dict[str, object] = {"__version__": {"sentence_transformers": "3.0.0"}}
    if prompts:
        st_config["prompts"] = prompts
        st_config["default_prompt_name"] = None
    (folder / "config_sentence_transformers.json").write_text(json.dumps(st_config))
    onnx_path = folder / onnx_name
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    build_onnx_model(onnx_path, vocab_size=len(tiny_vocab()), hidden=hidden, **onnx_kwargs)  # type: ignore[arg-type]
    return folder
