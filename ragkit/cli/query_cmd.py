"""``ragkit query``: ask an indexed store a question."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from typing import Any

from ragkit.cli._common import add_embedder_options, embedder_from_args
from ragkit.cli._store import add_store_options, open_store, recorded_settings
from ragkit.errors import FilterError

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the ``query`` subcommand."""
    parser = commands.add_parser(
        "query",
        help="ask an indexed store a question",
        description=(
            "Embed QUESTION with the model's query prompt, search the store, and print the "
            "best chunks with their scores, sources and offsets. The model the store was "
            "indexed with is used unless --model says otherwise."
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
    add_embedder_options(parser)
    parser.set_defaults(handler=run, precision=None)  # None: the store's own


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
    with open_store(args, embedder, create=False) as store:
        passages = Retriever(store, k=args.k, expand=args.expand, section=args.section).retrieve(
            args.question, where=where
        )
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
