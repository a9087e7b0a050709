"""``ragkit embed``: print embeddings as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ragkit.cli._common import add_embedder_options, embedder_from_args

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the ``embed`` subcommand."""
    parser = commands.add_parser(
        "embed",
        help="embed texts and print the vectors as JSON",
        description="Embed TEXT arguments (or one text per line of standard input) and print JSON.",
    )
    parser.add_argument("texts", nargs="*", metavar="TEXT")
    parser.add_argument("--query", action="store_true", help="embed as queries (query prompt)")
    parser.add_argument("--prompt-name", default=None, help="a named instruction of the model")
    add_embedder_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Embed and print ``{"model", "dim", "kind", "embeddings"}``."""
    texts = args.texts or [line.rstrip("\n") for line in sys.stdin if line.strip()]
    embedder = embedder_from_args(args, show_progress_bar=False)
    kind = args.prompt_name or ("query" if args.query else "document")
    vectors = embedder.embed_documents(texts, prompt_name=kind)
    report = {
        "model": embedder.spec.model_id,
        "precision": embedder.precision,
        "dim": embedder.dim,
        "kind": kind,
        "truncated": embedder.last_stats.truncated,
        "embeddings": [[round(float(x), 7) for x in row] for row in vectors],
    }
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")
    return 0
