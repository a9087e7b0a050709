"""The ``ragkit`` command line: ``index``, ``query``, ``models``, ``embed``, ``eval`` and ``serve``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from ragkit._version import __version__
from ragkit.cli import embed_cmd, eval_cmd, index_cmd, models_cmd, query_cmd, serve_cmd
from ragkit.errors import RagkitError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="ragkit", description="Local, offline retrieval for RAG apps."
    )
    parser.add_argument("--version", action="version", version=f"ragkit {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="-v: info, -vv: debug logs"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    index_cmd.register(commands)
    query_cmd.register(commands)
    models_cmd.register(commands)
    embed_cmd.register(commands)
    eval_cmd.register(commands)
    serve_cmd.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for ragkit errors)."""
    args = build_parser().parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        status: int = args.handler(args)
    except RagkitError as exc:
        print(f"ragkit: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `ragkit models list | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("ragkit: interrupted", file=sys.stderr)
        return 130
    return status
