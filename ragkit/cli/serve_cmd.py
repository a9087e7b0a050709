"""``ragkit serve``: the OpenAI-compatible embedding and rerank server (the ``serve`` extra)."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from ragkit.cli._common import add_embedder_options, embedder_from_args
from ragkit.config import get_settings
from ragkit.errors import ConfigError

__all__ = ["register"]

logger = logging.getLogger("ragkit.serve")


def register(commands: Any) -> None:
    """Add the ``serve`` subcommand."""
    parser = commands.add_parser(
        "serve",
        help="serve the embedder (and rerankers) over an OpenAI-compatible HTTP API",
        description=(
            "Serve POST /v1/embeddings, POST /v1/rerank, GET /v1/models and GET /health. "
            "Binds 127.0.0.1 unless --host says otherwise."
        ),
    )
    add_embedder_options(parser)
    parser.add_argument(
        "--name", default=None, help="model name clients send (default: the model's id)"
    )
    parser.add_argument(
        "--reranker", action="append", default=[], metavar="MODEL",
        help="a cross-encoder to serve on /v1/rerank (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--reranker-precision", choices=["fp32", "int8"], default="fp32", help="of --reranker"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (%(default)s)")
    parser.add_argument("--port", type=int, default=8000, help="port (%(default)s)")
    parser.add_argument(
        "--api-key", default=None, help="require this bearer token (default $RAGKIT_SERVE_API_KEY)"
    )
    parser.add_argument(
        "--max-batch", type=int, default=256, help="inputs per request (%(default)s)"
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=4 * 1024 * 1024,
        help="request size limit (%(default)s)",
    )
    parser.add_argument(
        "--no-batching", action="store_true", help="run each request alone (no micro-batching)"
    )
    parser.add_argument(
        "--batch-wait-ms", type=float, default=0.0, help="wait this long to fill a batch"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Load the models and serve until interrupted."""
    from ragkit.rerank.cross_encoder import CrossEncoderReranker
    from ragkit.serve import create_app, run_server  # the serve extra

    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be 0..65535, got {args.port}.")
    key = args.api_key
    secret = get_settings().serve_api_key
    if key is None and secret is not None:
        key = secret.get_secret_value()
    embedder = embedder_from_args(args, show_progress_bar=False)
    rerankers = {  # the same cache, network and thread settings as the embedder
        name: CrossEncoderReranker(
            name,
            precision=args.reranker_precision,
            threads=args.threads,
            cache_dir=args.cache_dir,
            offline=args.offline,
            show_progress_bar=False,
        )
        for name in args.reranker
    }
    app = create_app(
        {args.name or embedder.spec.model_id: embedder},
        rerankers,
        api_key=key,
        max_batch=args.max_batch,
        max_body_bytes=args.max_body_bytes,
        batching=not args.no_batching,
        batch_wait_ms=args.batch_wait_ms,
    )
    embedder.embed_documents(["warm up"])  # load now: fail before binding, not on a request
    for reranker in rerankers.values():
        reranker.score("warm up", ["warm up"])
    if args.host not in ("127.0.0.1", "localhost", "::1") and key is None:
        logger.warning(
            "Serving on %s without an API key: anyone who can reach it may use it.", args.host
        )
    run_server(app, host=args.host, port=args.port, verbose=args.verbose > 0)
    return 0
