"""The built-in model catalogue and the registry functions around it."""

from __future__ import annotations

import re

import pytest

from ragkit import catalog
from ragkit._catalog_data import BUILTIN_MODELS
from ragkit.catalog import ModelSpec, add_custom_model, get_model_spec, list_supported_models
from ragkit.errors import ConfigError, ModelNotFoundError

REQUIRED_IDS = (
    "sentence-transformers/all-MiniLM-L6-v2",
    "BAAI/bge-small-en-v1.5",
    "BAAI/bge-base-en-v1.5",
    "intfloat/e5-small-v2",
    "intfloat/e5-base-v2",
    "intfloat/multilingual-e5-small",
    "thenlper/gte-small",
    "nomic-ai/nomic-embed-text-v1.5",
    "Snowflake/snowflake-arctic-embed-xs",
    "Snowflake/snowflake-arctic-embed-s",
    "Snowflake/snowflake-arctic-embed-m-v1.5",
    "mixedbread-ai/mxbai-embed-large-v1",
)
BGE_QUERY = "Represent this sentence for searching relevant passages: "
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_IDS = [spec.model_id for spec in BUILTIN_MODELS]


@pytest.fixture
def isolated_registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, ModelSpec]:
    """A private copy of the populated registry, so registrations do not leak between tests."""
    catalog._ensure_builtins()
    registry = dict(catalog._REGISTRY)
    monkeypatch.setattr(catalog, "_REGISTRY", registry)
    return registry


def _custom(model_id: str = "acme/tiny-embedder", dim: int = 8) -> ModelSpec:
    return ModelSpec(model_id=model_id, dim=dim, pooling="mean", max_tokens=128)


# --- every built-in entry is well formed ---------------------------------------------------------


def test_builtin_ids_and_short_names_are_unique() -> None:
    full = [i.lower() for i in _IDS]
    short = [i.rsplit("/", 1)[-1].lower() for i in _IDS]
    assert len(set(full)) == len(full)
    assert len(set(short)) == len(short), "a short name would become ambiguous"


def test_every_required_model_is_builtin() -> None:
    assert set(REQUIRED_IDS) <= set(_IDS)


@pytest.mark.parametrize("spec", BUILTIN_MODELS, ids=_IDS)
def test_builtin_spec_is_valid(spec: ModelSpec) -> None:
    # Rebuilding runs __post_init__ validation again on exactly these values.
    assert spec.with_overrides() == spec
    assert spec.repo_id and "/" in spec.repo_id
    assert spec.revision == "main" or _COMMIT.match(spec.revision)
    assert "fp32" in spec.onnx_files
    assert all(path.endswith(".onnx") for path in spec.onnx_files.values())
    assert spec.license and spec.description
    assert spec.tokenizer_files[0] == "tokenizer.json"


@pytest.mark.parametrize("spec", BUILTIN_MODELS, ids=_IDS)
def test_builtin_int8_file_is_not_cpu_specific(spec: ModelSpec) -> None:
    int8 = spec.onnx_files.get("int8", "")
    assert "avx512" not in int8 and "arm64" not in int8


@pytest.mark.parametrize("spec", BUILTIN_MODELS, ids=_IDS)
def test_builtin_checksums_name_listed_files(spec: ModelSpec) -> None:
    listed = {
        *spec.onnx_files.values(),
        *(f for files in spec.onnx_data_files.values() for f in files),
        *spec.tokenizer_files,
    }
    for path, digest in spec.sha256.items():
        assert path in listed, f"sha256 given for {path}, which is never downloaded"
        assert _SHA256.match(digest), f"{path}: {digest!r} is not a sha256"
    if spec.sha256:
        assert spec.revision != "main", "a checksum only holds at a pinned revision"


@pytest.mark.parametrize("spec", BUILTIN_MODELS, ids=_IDS)
def test_builtin_prompts_end_in_a_separator(spec: ModelSpec) -> None:
    # A prompt glued to the text ("query:what") is a silent quality loss.
    for prompt in (spec.query_prompt, spec.document_prompt, *spec.task_prompts.values()):
        assert prompt == "" or prompt.endswith(" "), repr(prompt)


@pytest.mark.parametrize("spec", BUILTIN_MODELS, ids=_IDS)
def test_builtin_matryoshka_dims_lie_within_dim(spec: ModelSpec) -> None:
    assert all(0 < d <= spec.dim for d in spec.matryoshka_dims)
    if spec.matryoshka_dims:
        assert spec.matryoshka_dims[0] == spec.dim, "the full dimension is a valid choice"
    else:
        assert not spec.layer_norm_before_truncate


# --- the facts that matter most -------------------------------------------------------------------


def test_e5_models_use_query_and_passage_prefixes() -> None:
    for model_id in (
        "intfloat/e5-small-v2",
        "intfloat/e5-base-v2",
        "intfloat/multilingual-e5-small",
    ):
        spec = get_model_spec(model_id)
        assert (spec.query_prompt, spec.document_prompt) == ("query: ", "passage: ")
        assert spec.pooling == "mean"


def test_nomic_uses_search_prefixes_task_prompts_and_layer_norm() -> None:
    spec = get_model_spec("nomic-ai/nomic-embed-text-v1.5")
    assert spec.query_prompt == "search_query: "
    assert spec.document_prompt == "search_document: "
    assert spec.prompt_for("clustering") == "clustering: "
    assert spec.prompt_for("classification") == "classification: "
    assert spec.matryoshka_dims == (768, 512, 256, 128, 64)
    assert spec.layer_norm_before_truncate
    assert (spec.pooling, spec.max_tokens) == ("mean", 8192)


@pytest.mark.parametrize(
    "model_id",
    [
        "BAAI/bge-small-en-v1.5",
        "BAAI/bge-base-en-v1.5",
        "Snowflake/snowflake-arctic-embed-xs",
        "Snowflake/snowflake-arctic-embed-s",
        "Snowflake/snowflake-arctic-embed-m-v1.5",
        "mixedbread-ai/mxbai-embed-large-v1",
    ],
)
def test_query_instruction_models_prompt_queries_only(model_id: str) -> None:
    spec = get_model_spec(model_id)
    assert spec.query_prompt == BGE_QUERY
    assert spec.document_prompt == ""
    assert spec.pooling == "cls"


@pytest.mark.parametrize(
    "model_id", ["sentence-transformers/all-MiniLM-L6-v2", "thenlper/gte-small"]
)
def test_symmetric_models_have_no_prompts(model_id: str) -> None:
    spec = get_model_spec(model_id)
    assert (spec.query_prompt, spec.document_prompt, dict(spec.task_prompts)) == ("", "", {})
    assert spec.pooling == "mean"


def test_minilm_window_is_256_tokens() -> None:
    assert get_model_spec("sentence-transformers/all-MiniLM-L6-v2").max_tokens == 256


def test_matryoshka_only_where_trained() -> None:
    trained = {
        "nomic-ai/nomic-embed-text-v1.5": (768, 512, 256, 128, 64),
        "Snowflake/snowflake-arctic-embed-m-v1.5": (768, 256),
        "mixedbread-ai/mxbai-embed-large-v1": (1024, 512),
    }
    for spec in BUILTIN_MODELS:
        assert spec.matryoshka_dims == trained.get(spec.model_id, ()), spec.model_id


def test_mirror_keeps_the_canonical_id() -> None:
    spec = get_model_spec("intfloat/e5-small-v2")
    assert spec.model_id == "intfloat/e5-small-v2"
    assert spec.repo_id == "Xenova/e5-small-v2"


# --- lookup ----------------------------------------------------------------------------------------


def test_lookup_by_full_id_returns_the_builtin_spec() -> None:
    for spec in BUILTIN_MODELS:
        assert get_model_spec(spec.model_id) is spec


def test_lookup_by_short_name() -> None:
    assert get_model_spec("bge-small-en-v1.5").model_id == "BAAI/bge-small-en-v1.5"
    assert get_model_spec("all-MiniLM-L6-v2").model_id == "sentence-transformers/all-MiniLM-L6-v2"


def test_lookup_is_case_insensitive_and_ignores_surrounding_space() -> None:
    assert get_model_spec("  baai/BGE-SMALL-EN-V1.5 ").model_id == "BAAI/bge-small-en-v1.5"
    assert get_model_spec("ALL-MINILM-L6-V2").model_id == "sentence-transformers/all-MiniLM-L6-v2"


def test_unknown_id_raises_with_close_matches() -> None:
    with pytest.raises(ModelNotFoundError, match="bge-smal-en") as excinfo:
        get_model_spec("bge-smal-en")
    message = str(excinfo.value)
    assert "Did you mean" in message
    assert "BAAI/bge-small-en-v1.5" in message
    assert isinstance(excinfo.value, LookupError)


def test_unknown_id_without_close_matches_gives_no_suggestions() -> None:
    with pytest.raises(ModelNotFoundError) as excinfo:
        get_model_spec("zzzz-qqqq")
    assert "Did you mean" not in str(excinfo.value)


def test_list_supported_models_is_sorted_and_complete() -> None:
    ids = [spec.model_id for spec in list_supported_models()]
    assert ids == sorted(ids, key=str.lower)
    assert set(_IDS) <= set(ids)


# --- custom models ---------------------------------------------------------------------------------


def test_add_custom_model_registers_it(isolated_registry: dict[str, ModelSpec]) -> None:
    spec = _custom()
    add_custom_model(spec)
    assert get_model_spec("acme/tiny-embedder") is spec
    assert get_model_spec("tiny-embedder") is spec
    assert spec in list_supported_models()


def test_add_custom_model_refuses_to_overwrite(isolated_registry: dict[str, ModelSpec]) -> None:
    first = _custom()
    add_custom_model(first)
    with pytest.raises(ConfigError, match="overwrite=True"):
        add_custom_model(_custom(dim=16))
    assert get_model_spec("acme/tiny-embedder") is first


def test_add_custom_model_refuses_to_shadow_a_builtin(
    isolated_registry: dict[str, ModelSpec],
) -> None:
    with pytest.raises(ConfigError):
        add_custom_model(_custom("BAAI/BGE-small-en-v1.5"))
    assert get_model_spec("BAAI/bge-small-en-v1.5").dim == 384


def test_add_custom_model_overwrites_when_asked(isolated_registry: dict[str, ModelSpec]) -> None:
    add_custom_model(_custom())
    replacement = _custom(dim=16)
    add_custom_model(replacement, overwrite=True)
    assert get_model_spec("acme/tiny-embedder") is replacement


def test_registry_copy_keeps_custom_models_out_of_the_real_registry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    catalog._ensure_builtins()
    real = catalog._REGISTRY
    with monkeypatch.context() as patch:
        patch.setattr(catalog, "_REGISTRY", dict(real))
        add_custom_model(_custom())
        assert get_model_spec("acme/tiny-embedder").dim == 8
    assert "acme/tiny-embedder" not in real
    with pytest.raises(ModelNotFoundError):
        get_model_spec("acme/tiny-embedder")


# --- prompts by name -------------------------------------------------------------------------------


def test_prompt_for_query_document_and_tasks() -> None:
    spec = get_model_spec("intfloat/e5-base-v2")
    assert spec.prompt_for("query") == "query: "
    assert spec.prompt_for("document") == "passage: "
    nomic = get_model_spec("nomic-ai/nomic-embed-text-v1.5")
    assert nomic.prompt_for("clustering") == "clustering: "


def test_prompt_for_unknown_name_lists_the_known_ones() -> None:
    spec = get_model_spec("nomic-ai/nomic-embed-text-v1.5")
    with pytest.raises(ConfigError, match="reranking") as excinfo:
        spec.prompt_for("reranking")
    message = str(excinfo.value)
    for known in ("query", "document", "classification", "clustering"):
        assert known in message
