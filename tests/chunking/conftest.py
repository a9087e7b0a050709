"""Tokenizers for chunking tests: tiny ones built here, and the real model's when present."""

from __future__ import annotations

from pathlib import Path

import pytest
from tokenizers import Tokenizer, decoders, pre_tokenizers, processors, trainers
from tokenizers.models import BPE

from tests.tiny_models import build_tokenizer_json

_BPE_CORPUS = [
    "Binary codes take 32x less memory than float vectors.",
    "The cat sat on the mat; the dog did not.",
    "Chunking splits long documents into pieces that fit the model window.",
]


@pytest.fixture(scope="session")
def wordpiece(tmp_path_factory: pytest.TempPathFactory) -> Tokenizer:
    """The tiny BERT-style WordPiece tokenizer (padding and truncation preset to 128)."""
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    build_tokenizer_json(path)
    return Tokenizer.from_file(str(path))


@pytest.fixture(scope="session")
def byte_bpe() -> Tokenizer:
    """A tiny byte-level BPE (GPT-2 style: one character can be several tokens)."""
    tokenizer = Tokenizer(BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=["<s>", "</s>"],
        show_progress=False,
    )
    tokenizer.train_from_iterator(_BPE_CORPUS * 5, trainer)
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 1)]
    )
    return tokenizer


@pytest.fixture(scope="session")
def real_tokenizer(real_model_dir: Path) -> Tokenizer:
    """all-MiniLM-L6-v2's tokenizer (skips without RAGKIT_TEST_MODEL_DIR)."""
    return Tokenizer.from_file(str(real_model_dir / "tokenizer.json"))


@pytest.fixture(params=["wordpiece", "byte_bpe", "real"])
def any_tokenizer(request: pytest.FixtureRequest) -> Tokenizer:
    """Each tokenizer in turn (the real one skips when absent)."""
    name = "real_tokenizer" if request.param == "real" else request.param
    tokenizer: Tokenizer = request.getfixturevalue(name)
    return tokenizer


_UNCAPPED: dict[int, tuple[Tokenizer, Tokenizer]] = {}


def raw_count(tokenizer: Tokenizer, text: str) -> int:
    """Tokens of ``text`` with special tokens, counted independently of ragkit (no truncation)."""
    return len(raw_ids(tokenizer, text))


def raw_ids(tokenizer: Tokenizer, text: str) -> list[int]:
    """Token ids of ``text`` with special tokens, independently of ragkit (no truncation)."""
    if id(tokenizer) not in _UNCAPPED:
        copy = Tokenizer.from_str(tokenizer.to_str())
        copy.no_truncation()
        copy.no_padding()
        _UNCAPPED[id(tokenizer)] = (tokenizer, copy)  # keeps the original alive: ids stay unique
    ids: list[int] = _UNCAPPED[id(tokenizer)][1].encode(text, add_special_tokens=True).ids
    return ids
