"""``ragkit eval``: BEIR retrieval quality and throughput of an embedder."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ragkit.cli._common import add_embedder_options, embedder_from_args
from ragkit.cli.query_cmd import add_pipeline_options, check_pipeline_options, reranker_from_args
from ragkit.errors import ConfigError
from ragkit.eval.runner import PipelineOptions, StoreOptions, evaluate_embedder

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the ``eval`` subcommand."""
    parser = commands.add_parser(
        "eval",
        help="evaluate an embedder on a BEIR data set (NDCG@10, Recall@100, docs/s)",
        description="DATASET_DIR holds corpus.jsonl, queries.jsonl and qrels/<split>.tsv. "
        "With retrieval pipeline options (--hybrid, --rerank, --mmr, --min-score, "
        "--min-relevance, --fetch-k), every query goes through the Retriever over a store "
        "(binary search unless --search float) and NDCG@10 / Recall@10 are reported.",
    )
    parser.add_argument("dataset", type=Path, metavar="DATASET_DIR")
    parser.add_argument("--split", default="test")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--search",
        choices=["exact", "float", "binary"],
        default="exact",
        help="exact brute force (default), or through a ChromaStore: Chroma HNSW or binary scan",
    )
    parser.add_argument(
        "--rescore",
        choices=["float", "int8", "asymmetric", "none"],
        default="float",
        help="how binary candidates are rescored: float vectors, dequantized int8 copies, "
        "the float query against their bits, or not at all",
    )
    parser.add_argument(
        "--oversample",
        type=int,
        default=None,
        help="candidates rescored per result (default: 2 after int8 ranking, else 4)",
    )
    parser.add_argument(
        "--funnel",
        type=int,
        default=2,
        help="Hamming candidates per rescored one, narrowed by the asymmetric estimate",
    )
    parser.add_argument(
        "--code-dim", type=int, default=None, help="Matryoshka dimension of binary codes"
    )
    parser.add_argument(
        "--no-int8-rows",
        dest="int8_rows",
        action="store_false",
        help="keep no int8 vectors in the index: rank candidates by the asymmetric estimate",
    )
    parser.add_argument(
        "--candidates",
        type=int,
        default=None,
        help="Hamming candidates ranked by int8 cosine (default: 1,000 + 1%% of the records, "
        "at least k x oversample x funnel)",
    )
    parser.add_argument(
        "--rotate",
        choices=["pca"],
        default=None,
        help="fit a PCA rotation on the corpus in the store; --dim then cuts the rotated "
        "vectors (the embedder runs at full dimension)",
    )
    parser.add_argument(
        "--whiten", type=float, default=None, help="variance exponent with --rotate (0.1)"
    )
    add_pipeline_options(parser)
    add_embedder_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate and print a table (or JSON with ``ndcg@10``, ``recall@100``, ``docs_per_s``)."""
    store_dim = None
    if args.rotate is not None:
        if args.search == "exact":
            raise ConfigError("--rotate needs the store: add --search binary or --search float.")
        store_dim, args.dim = args.dim, None
    elif args.whiten is not None:
        raise ConfigError("--whiten applies with --rotate pca.")
    pipeline = _pipeline(args)
    embedder = embedder_from_args(args, show_progress_bar=None if args.json else True)
    store = None
    if args.search != "exact":
        store = StoreOptions(
            args.search,
            args.rescore,
            args.oversample,
            args.code_dim,
            dim=store_dim,
            rotate=args.rotate,
            whiten=args.whiten,
            funnel=args.funnel,
            int8_rows=args.int8_rows,
            candidates=args.candidates,
        )
    result = evaluate_embedder(
        args.dataset, embedder, split=args.split, store=store, pipeline=pipeline
    )
    if args.json:
        json.dump(result.as_dict(), sys.stdout)
        sys.stdout.write("\n")
        return 0
    print(f"model      {embedder.spec.model_id} ({embedder.precision}, dim {embedder.dim})")
    print(f"data set   {args.dataset} [{args.split}]: {result.docs} docs, {result.queries} queries")
    if pipeline is not None:
        print(f"pipeline   {_describe(pipeline)}")
    for key in ("ndcg@10", "recall@100", "ndcg@100", "recall@10"):
        if key in result.metrics:
            print(f"{key:<10} {result.metrics[key]:.4f}")
    print(f"docs/s     {result.docs_per_s:.1f}   ({result.embed_seconds:.1f} s)")
    return 0


def _pipeline(args: argparse.Namespace) -> PipelineOptions | None:
    """The Retriever stages asked for, or None for a plain embedding evaluation."""
    check_pipeline_options(args)
    wanted = (args.fetch_k, args.rerank, args.min_relevance, args.min_score, args.mmr)
    if not args.hybrid and all(value is None for value in wanted):
        return None
    return PipelineOptions(
        hybrid=args.hybrid,
        hybrid_weights=args.hybrid_weights or (1.0, 1.0),
        reranker=reranker_from_args(args),
        fetch_k=args.fetch_k,
        rerank_k=args.rerank_k,
        min_relevance=args.min_relevance,
        min_score=args.min_score,
        mmr=args.mmr,
    )


def _describe(pipeline: PipelineOptions) -> str:
    parts = ["hybrid" if pipeline.hybrid else "dense"]
    if pipeline.reranker is not None:
        parts.append(f"rerank {pipeline.reranker!r}")
    for name in ("fetch_k", "rerank_k", "min_relevance", "min_score", "mmr"):
        if getattr(pipeline, name) is not None:
            parts.append(f"{name} {getattr(pipeline, name)}")
    return ", ".join(parts)
