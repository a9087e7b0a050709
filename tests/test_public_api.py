from __future__ import annotations

import ragkit
import ragkit.chunking
import ragkit.embed
import ragkit.errors
import ragkit.eval
import ragkit.ingest
import ragkit.lexical
import ragkit.loaders
import ragkit.remote
import ragkit.rerank


def test_all_is_sorted_and_complete() -> None:
    for module in (
        ragkit,
        ragkit.chunking,
        ragkit.embed,
        ragkit.eval,
        ragkit.errors,
        ragkit.ingest,
        ragkit.loaders,
        ragkit.lexical,
        ragkit.remote,
        ragkit.rerank,
    ):
        public = sorted(
            name
            for name in vars(module)
            if not name.startswith("_") and not _is_submodule(module, name)
        )
        assert module.__all__ == sorted(module.__all__, key=str), module.__name__
        assert set(public) <= set(module.__all__) | {"annotations"}, module.__name__


def _is_submodule(module: object, name: str) -> bool:
    return type(getattr(module, name)).__name__ == "module"


def test_every_error_derives_from_ragkit_error() -> None:
    for name in ragkit.errors.__all__:
        assert issubclass(getattr(ragkit.errors, name), ragkit.RagkitError)
        assert getattr(ragkit, name) is getattr(ragkit.errors, name)


def test_builtin_bases_let_callers_catch_what_they_already_catch() -> None:
    assert issubclass(ragkit.ConfigError, ValueError)
    assert issubclass(ragkit.InputError, ValueError)
    assert issubclass(ragkit.ModelNotFoundError, LookupError)
    assert issubclass(ragkit.DependencyError, ImportError)


def test_remote_embedders_are_embedders_and_serve_exports_its_app() -> None:
    import ragkit.serve

    embedder = ragkit.OpenAIEmbedder("m", base_url="http://127.0.0.1:9/v1", dim=8)
    assert isinstance(embedder, ragkit.Embedder)
    assert ragkit.serve.__all__ == ["create_app", "run_server"]
