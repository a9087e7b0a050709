"""Options shared by several subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path

from ragkit.config import get_settings
from ragkit.embed.onnx import TextEmbedder

__all__ = ["add_embedder_options", "embedder_from_args", "embedder_settings"]


def add_embedder_options(parser: argparse.ArgumentParser) -> None:
    """``--model``, ``--precision``, ``--dim``, ``--batch-size``, ``--threads``, ``--max-tokens``."""
    parser.add_argument(
        "--model",
        default=None,
        help="catalogue id or local model folder (default: $RAGKIT_MODEL or %(default)s)".replace(
            "%(default)s", get_settings().model
        ),
    )
    parser.add_argument("--precision", choices=["fp32", "int8"], default="fp32")
    parser.add_argument("--dim", type=int, default=None, help="Matryoshka dimension")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None, help="ONNX Runtime intra-op threads")
    parser.add_argument("--max-tokens", type=int, default=None, help="override the model's window")
    parser.add_argument(
        "--cache-dir", type=Path, default=None, help="model cache (default $RAGKIT_CACHE_DIR)"
    )
    parser.add_argument(
        "--offline", action="store_true", default=None, help="never use the network"
    )


def embedder_from_args(
    args: argparse.Namespace, *, show_progress_bar: bool | None = None
) -> TextEmbedder:
    """Build the embedder the options describe."""
    return TextEmbedder(
        args.model,
        precision=args.precision,
        dim=args.dim,
        batch_size=args.batch_size,
        threads=args.threads,
        max_tokens=args.max_tokens,
        cache_dir=args.cache_dir,
        offline=args.offline,
        show_progress_bar=show_progress_bar,
    )


def embedder_settings(args: argparse.Namespace, embedder: TextEmbedder) -> dict[str, object]:
    """The options that rebuild ``embedder`` (a local model folder as an absolute path)."""
    model = args.model or get_settings().model
    if Path(model).expanduser().is_dir():
        model = str(Path(model).expanduser().resolve())
    return {
        "model": model,
        "precision": embedder.precision,
        "dim": args.dim,
        "max_tokens": args.max_tokens,
    }
