"""``ragkit models``: list, info, pull and quantize."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from ragkit._resolve import (
    ModelPaths,
    ResolvedModel,
    build_int8,
    resolve_files,
    resolve_model,
    resolve_spec,
)
from ragkit.catalog import (
    ModelSpec,
    RerankerSpec,
    find_model_spec,
    list_supported_models,
    list_supported_rerankers,
)
from ragkit.config import get_settings
from ragkit.types import Precision

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add ``models`` and its subcommands."""
    parser = commands.add_parser("models", help="list, inspect, download and quantize models")
    sub = parser.add_subparsers(dest="models_command", required=True, metavar="ACTION")

    listing = sub.add_parser("list", help="the model catalogue")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=run_list)

    info = sub.add_parser("info", help="everything ragkit knows about one model")
    info.add_argument("model", help="catalogue id or local folder")
    info.set_defaults(handler=run_info)

    pull = sub.add_parser("pull", help="download a model's files into the cache (for offline use)")
    pull.add_argument("model")
    pull.add_argument("--precision", choices=["fp32", "int8", "all"], default="all")
    pull.add_argument("--cache-dir", type=Path, default=None)
    pull.set_defaults(handler=run_pull)

    quantize = sub.add_parser(
        "quantize", help="build an int8 model from the fp32 one and report its agreement with fp32"
    )
    quantize.add_argument("model")
    quantize.add_argument("--cache-dir", type=Path, default=None)
    quantize.add_argument("--threads", type=int, default=None)
    quantize.add_argument("--json", action="store_true")
    quantize.set_defaults(handler=run_quantize)


def _spec_dict(spec: ModelSpec | RerankerSpec) -> dict[str, Any]:
    values = {f.name: getattr(spec, f.name) for f in fields(spec)}
    return {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in values.items()}


def run_list(args: argparse.Namespace) -> int:
    """Print the catalogue."""
    specs = list_supported_models()
    rerankers = list_supported_rerankers()
    if args.json:
        entries = [{"kind": "embedder", **_spec_dict(s)} for s in specs]
        entries += [{"kind": "reranker", **_spec_dict(s)} for s in rerankers]
        json.dump(entries, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    print(f"{'model':<42} {'dim':>5} {'tokens':>6} {'pool':<10} {'int8':<5} {'MRL':<5} prompts")
    for s in specs:
        prompts = (
            "query+doc"
            if s.query_prompt and s.document_prompt
            else "query"
            if s.query_prompt
            else "-"
        )
        print(
            f"{s.model_id:<42} {s.dim:>5} {s.max_tokens:>6} {s.pooling:<10} "
            f"{'hub' if 'int8' in s.onnx_files else 'built':<5} {'yes' if s.matryoshka_dims else '-':<5} {prompts}"
        )
    print(f"\n{'reranker (CrossEncoderReranker)':<42} {'tokens':>6} {'labels':>6} {'int8':<5}")
    for r in rerankers:
        int8 = "hub" if "int8" in r.onnx_files else "built"
        print(f"{r.model_id:<42} {r.max_tokens:>6} {r.num_labels:>6} {int8:<5}")
    return 0


def run_info(args: argparse.Namespace) -> int:
    """Print one model's spec as JSON."""
    json.dump(_spec_dict(_any_spec(args.model)), sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


def _any_spec(model: str) -> ModelSpec | RerankerSpec:
    """The embedder or, when ``model`` names none, the reranker it names."""
    from ragkit.rerank._head import resolve_reranker

    if find_model_spec(model) is not None or Path(model).expanduser().is_dir():
        return resolve_spec(model)[0]
    return resolve_reranker(model)[0]


def _pull(model: str, precision: Precision, settings: Any) -> ModelPaths | ResolvedModel:
    spec = _any_spec(model)
    if isinstance(spec, RerankerSpec):
        return resolve_files(
            spec, None, precision=precision, settings=settings, show_progress_bar=True
        )
    return resolve_model(model, precision=precision, settings=settings, show_progress_bar=True)


def _settings(cache_dir: Path | None) -> Any:
    settings = get_settings()
    return settings.model_copy(update={"cache_dir": cache_dir}) if cache_dir else settings


def run_pull(args: argparse.Namespace) -> int:
    """Download (or build) the files for the chosen precisions and print where they are."""
    settings = _settings(args.cache_dir)
    precisions: list[Precision] = ["fp32", "int8"] if args.precision == "all" else [args.precision]
    for precision in precisions:
        resolved = _pull(args.model, precision, settings)
        how = " (built locally)" if resolved.built_locally else ""
        print(f"{precision}: {resolved.onnx_path}{how}")
    print(f"tokenizer: {resolved.tokenizer_path}")
    return 0


def run_quantize(args: argparse.Namespace) -> int:
    """Build the int8 model from fp32 (cached) and print its cosine agreement and size."""
    from ragkit.embed.agreement import int8_agreement

    settings = _settings(args.cache_dir)
    fp32 = resolve_model(args.model, precision="fp32", settings=settings, show_progress_bar=True)
    int8_path = build_int8(fp32.onnx_path, settings.cache_dir)
    report = int8_agreement(args.model, threads=args.threads, cache_dir=settings.cache_dir)
    ratio = int8_path.stat().st_size / fp32.onnx_path.stat().st_size
    result = {
        "int8_path": str(int8_path),
        "size_ratio": ratio,
        "cosine_mean": report.mean,
        "cosine_min": report.min,
        "texts": report.n,
    }
    if args.json:
        json.dump(result, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(f"int8 model  {int8_path}")
        print(f"size        {ratio:.1%} of fp32")
        print(
            f"agreement   cosine mean {report.mean:.4f}, min {report.min:.4f} on {report.n} sample texts"
        )
    return 0
