"""Store options shared by ``ragkit index`` and ``ragkit query``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ragkit.embed.onnx import TextEmbedder
from ragkit.errors import ConfigError
from ragkit.store.chroma import ChromaStore

__all__ = ["DEFAULT_COLLECTION", "add_store_options", "open_store", "recorded_settings"]

DEFAULT_COLLECTION = "ragkit"


def add_store_options(parser: argparse.ArgumentParser) -> None:
    """``--store DIR`` or ``--chroma-url URL``, and ``--collection``."""
    parser.add_argument("--store", type=Path, default=None, help="store folder (embedded Chroma)")
    parser.add_argument(
        "--chroma-url",
        default=None,
        help="a Chroma server instead of a folder, e.g. http://127.0.0.1:8000",
    )
    parser.add_argument(
        "--collection", default=DEFAULT_COLLECTION, help=f"collection name ({DEFAULT_COLLECTION})"
    )


def _client(args: argparse.Namespace) -> Any:
    if (args.store is None) == (args.chroma_url is None):
        raise ConfigError("Pass --store DIR (a folder) or --chroma-url URL (a Chroma server).")
    if args.chroma_url is None:
        return None
    import chromadb
    from chromadb.config import Settings

    url = httpx_url(args.chroma_url)
    return chromadb.HttpClient(
        host=url.host,
        port=url.port or (443 if url.scheme == "https" else 8000),
        ssl=url.scheme == "https",
        settings=Settings(anonymized_telemetry=False),
    )


def httpx_url(text: str) -> Any:
    """``text`` parsed as an http(s) URL."""
    import httpx

    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise ConfigError(f"--chroma-url {text!r} is not a URL: {exc}") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigError(f"--chroma-url must look like http://host:port, got {text!r}.")
    return url


def open_store(
    args: argparse.Namespace, embedder: TextEmbedder, *, create: bool = True
) -> ChromaStore:
    """The store the options name, with ``embedder``.

    Raises:
        ConfigError: Neither or both of --store and --chroma-url, or (``create=False``) the
            store folder does not exist.
    """
    client = _client(args)
    if client is None and not create and not Path(args.store).exists():
        raise ConfigError(
            f"No store at {args.store}: run `ragkit index PATH --store {args.store}` first."
        )
    return ChromaStore(args.collection, embedder=embedder, path=args.store, client=client)


def recorded_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The embedder options the store was indexed with (``ragkit query`` reuses them)."""
    from ragkit.ingest.manifest import Manifest

    client = _client(args)
    if client is None:
        if not Path(args.store).exists():
            return {}
        import chromadb
        from chromadb.config import Settings

        client = chromadb.PersistentClient(
            path=str(args.store), settings=Settings(anonymized_telemetry=False)
        )
    names = {c.name if hasattr(c, "name") else str(c) for c in client.list_collections()}
    if f"{args.collection}.files" not in names:
        return {}
    settings = Manifest(client, args.collection).settings()
    return {k: v for k, v in settings.items() if k in ("model", "precision", "dim", "max_tokens")}
