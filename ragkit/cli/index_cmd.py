"""``ragkit index``: chunk, embed and store folders, incrementally."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ragkit.chunking import MarkdownChunker, RecursiveChunker, TokenChunker
from ragkit.chunking.base import BaseChunker
from ragkit.cli._common import add_embedder_options, embedder_from_args, embedder_settings
from ragkit.cli._store import add_store_options, open_store
from ragkit.embed.onnx import TextEmbedder

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the ``index`` subcommand."""
    parser = commands.add_parser(
        "index",
        help="chunk, embed and store files and folders (incremental)",
        description=(
            "Index .txt, .md, .html, .pdf and .jsonl files under each PATH into a store. "
            "Unchanged files are skipped, changed ones replaced; --prune removes files that "
            "are gone. An interrupted run loses nothing already written: run it again."
        ),
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    add_store_options(parser)
    parser.add_argument(
        "--chunker",
        choices=["auto", "recursive", "markdown", "token"],
        default="auto",
        help="auto (default): Markdown-aware for .md files, recursive (headings, paragraphs, "
        "sentences, words) for the rest",
    )
    parser.add_argument(
        "--chunk-size", type=int, default=None, help="tokens per chunk (default: the window)"
    )
    parser.add_argument(
        "--overlap", type=int, default=0, help="tokens of overlap (--chunker token)"
    )
    parser.add_argument(
        "--header",
        choices=["title", "headings", "both"],
        default=None,
        help="embed each chunk with its document title and/or heading path in front",
    )
    parser.add_argument(
        "--late-chunking",
        action="store_true",
        help="embed each document whole and pool each chunk's tokens, so chunks know their "
        "document (--header does not apply then)",
    )
    parser.add_argument("--prune", action="store_true", help="remove files that are gone")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    add_embedder_options(parser)
    parser.set_defaults(handler=run)


def _chunkers(
    args: argparse.Namespace, embedder: TextEmbedder
) -> tuple[BaseChunker, BaseChunker | None]:
    common: dict[str, Any] = {"chunk_size": args.chunk_size, "header": args.header}
    if args.chunker == "token":
        return TokenChunker(embedder, chunk_overlap=args.overlap, **common), None
    if args.chunker == "markdown":
        return MarkdownChunker(embedder, **common), None
    recursive = RecursiveChunker(embedder, **common)
    return recursive, MarkdownChunker(embedder, **common) if args.chunker == "auto" else None


def run(args: argparse.Namespace) -> int:
    """Index and print a summary (or ``--json``); exit 1 if some files failed to load."""
    from ragkit.ingest import Indexer

    embedder = embedder_from_args(args, show_progress_bar=False)
    chunker, markdown = _chunkers(args, embedder)
    with open_store(args, embedder) as store:
        indexer = Indexer(
            store,
            chunker,
            markdown_chunker=markdown,
            settings=embedder_settings(args, embedder),
            show_progress=not args.json,
            late_chunking=args.late_chunking,
        )
        report = indexer.index(args.paths, prune=args.prune)
    if args.json:
        json.dump(report.as_dict(), sys.stdout)
        sys.stdout.write("\n")
    else:
        print(
            f"indexed {report.files_indexed} files ({report.chunks_written} chunks, "
            f"{report.tokens:,} tokens) in {report.seconds:.1f} s; {report.files_unchanged} "
            f"unchanged, {report.files_pruned} pruned, {len(report.failures)} failed"
        )
        for failure in report.failures:
            print(f"  failed: {failure.path}: {failure.error}", file=sys.stderr)
    return 1 if report.failures else 0
