"""``ragkit query``: ask an indexed store a question (and the pipeline options ``eval`` shares)."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

from ragkit.cli._common import add_embedder_options, embedder_from_args
from ragkit.cli._store import add_store_options, open_store, recorded_settings
from ragkit.errors import ConfigError, FilterError
from ragkit.rerank.relevance import DEFAULT_MIN_RELEVANCE
from ragkit.store.chroma import ChromaStore

__all__ = [
    "add_pipeline_options",
    "check_pipeline_options",
    "pipeline_stages",
    "register",
    "reranker_from_args",
]


def register(commands: Any) -> None:
    """Add the ``query`` subcommand."""
    parser = commands.add_parser(
        "query",
        help="ask an indexed store a question",
        description=(
            "Embed QUESTION with the model's query prompt, search the store, and print the "
            "best chunks with their scores, sources and offsets. The model the store was "
            "indexed with is used unless --model says otherwise. Optional stages, in order: "
            "--hybrid candidates, --min-relevance, --rerank, --min-score, --mmr."
        ),
    )
    parser.add_argument("question", metavar="QUESTION")
    add_store_options(parser)
    parser.add_argument("-k", type=int, default=5, help="passages to return (5)")
    parser.add_argument(
        "--expand", type=int, default=0, help="join N neighbouring chunks into each context"
    )
    parser.add_argument(
        "--section",
        action="store_true",
        help="join each passage's whole section (same document and heading path) into its context",
    )
    parser.add_argument(
        "--where", default=None, help='metadata filter as JSON, e.g. \'{"format": "md"}\''
    )
    parser.add_argument("--json", action="store_true", help="print the passages as JSON")
    add_pipeline_options(parser)
    add_embedder_options(parser)
    parser.set_defaults(handler=run, precision=None)  # None: the store's own


def add_pipeline_options(parser: argparse.ArgumentParser) -> None:
    """``--fetch-k``, ``--hybrid``, ``--rerank``, ``--min-relevance``, ``--min-score``, ``--mmr``."""
    group = parser.add_argument_group("retrieval pipeline")
    group.add_argument(
        "--fetch-k",
        type=int,
        default=None,
        help="first-stage candidates (default: k, or 4 x k with --rerank or --mmr)",
    )
    group.add_argument(
        "--hybrid", action="store_true", help="fuse BM25 with the dense search (reciprocal rank)"
    )
    group.add_argument(
        "--hybrid-weights",
        type=_weights,
        default=None,
        metavar="DENSE,BM25",
        help="fusion weights with --hybrid (1,1)",
    )
    group.add_argument(
        "--rerank",
        default=None,
        metavar="MODEL",
        help="rerank with this cross-encoder (catalogue id or local folder), "
        "e.g. cross-encoder/ms-marco-MiniLM-L-6-v2",
    )
    group.add_argument(
        "--rerank-precision", choices=["fp32", "int8"], default="fp32", help="of --rerank"
    )
    group.add_argument(
        "--rerank-k", type=int, default=None, help="candidates the reranker reads (all of them)"
    )
    group.add_argument(
        "--min-relevance",
        type=float,
        nargs="?",
        const=DEFAULT_MIN_RELEVANCE,
        default=None,
        metavar="P",
        help="drop candidates whose cosine beats fewer than this share of the store's "
        f"unrelated pairs (alone: {DEFAULT_MIN_RELEVANCE}); nothing may be left",
    )
    group.add_argument(
        "--min-score",
        type=float,
        default=None,
        help="drop passages whose final score is below this (with --rerank: a probability)",
    )
    group.add_argument(
        "--mmr",
        type=float,
        default=None,
        metavar="LAMBDA",
        help="diversify by maximal marginal relevance (1: relevance only, 0: diversity; 0.5)",
    )


@contextlib.contextmanager
def pipeline_stages(args: argparse.Namespace, store: ChromaStore) -> Iterator[dict[str, Any]]:
    """The :class:`~ragkit.retrieval.Retriever` keyword arguments the pipeline options ask for.

    The cross-encoder and BM25 modules load only when asked for, and the BM25 index is
    closed (its terms saved) afterwards.

    Raises:
        ConfigError: See :func:`check_pipeline_options`.
    """
    check_pipeline_options(args)
    stages: dict[str, Any] = {
        "fetch_k": args.fetch_k,
        "rerank_k": args.rerank_k,
        "min_relevance": args.min_relevance,
        "min_score": args.min_score,
        "mmr": args.mmr,
        "reranker": reranker_from_args(args),
    }
    if not args.hybrid:
        yield stages
        return
    from ragkit.lexical.bm25 import BM25Index

    with BM25Index(store) as lexical:
        stages["hybrid"] = lexical
        stages["hybrid_weights"] = args.hybrid_weights or (1.0, 1.0)
        yield stages


def check_pipeline_options(args: argparse.Namespace) -> None:
    """Raise :class:`ConfigError` for options that only apply with another one."""
    if args.hybrid_weights is not None and not args.hybrid:
        raise ConfigError("--hybrid-weights sets the fusion: add --hybrid.")
    if args.rerank is None and (args.rerank_k is not None or args.rerank_precision != "fp32"):
        raise ConfigError("--rerank-k and --rerank-precision apply with --rerank MODEL.")


def reranker_from_args(args: argparse.Namespace) -> Any:
    """The ``--rerank`` cross-encoder (loaded only when asked for), or None."""
    if args.rerank is None:
        return None
    from ragkit.rerank.cross_encoder import CrossEncoderReranker

    return CrossEncoderReranker(  # the same cache and network settings as the embedder
        args.rerank,
        precision=args.rerank_precision,
        cache_dir=args.cache_dir,
        offline=args.offline,
        show_progress_bar=False,
    )


def _weights(text: str) -> tuple[float, float]:
    try:
        dense, bm25 = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected two numbers as DENSE,BM25 (e.g. 1,0.5), got {text!r}"
        ) from None
    return dense, bm25


def run(args: argparse.Namespace) -> int:
    """Query and print the passages."""
    from ragkit.retrieval import Retriever

    where = None
    if args.where:
        try:
            where = json.loads(args.where)
        except json.JSONDecodeError as exc:
            raise FilterError(f"--where is not valid JSON: {exc}") from exc
    for key, value in recorded_settings(args).items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    args.precision = args.precision or "fp32"
    embedder = embedder_from_args(args, show_progress_bar=False)
    with open_store(args, embedder, create=False) as store, pipeline_stages(args, store) as stages:
        retriever = Retriever(store, k=args.k, expand=args.expand, section=args.section, **stages)
        passages = retriever.retrieve(args.question, where=where)
    if args.json:
        json.dump({"query": args.question, "passages": [p.as_dict() for p in passages]}, sys.stdout)
        sys.stdout.write("\n")
        return 0
    if not passages:
        print("no passages found")
    for rank, p in enumerate(passages, start=1):
        where_from = " > ".join(p.heading_path)
        print(f"{rank}. {p.score:.3f}  {p.source} [{p.start}:{p.end}]  {where_from}".rstrip())
        print(textwrap.indent(textwrap.shorten(p.context, 400, placeholder=" ..."), "   "))
    return 0
