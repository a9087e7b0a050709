"""Load one file, or walk a folder: each file by its suffix; failures reported, not fatal.

Usage::

    from ragkit import FolderLoader

    loader = FolderLoader("docs/")
    for document in loader:  # lazily: a folder's files by name, then its subfolders
        ...
    for failure in loader.failures:  # files that could not be loaded, with the reason
        print(failure.path, failure.error)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ragkit.errors import ConfigError, LoaderError
from ragkit.loaders._read import RawFile, read_file
from ragkit.loaders.document import Document
from ragkit.loaders.html import load_html
from ragkit.loaders.jsonl import load_jsonl
from ragkit.loaders.pdf import load_pdf
from ragkit.loaders.text import load_markdown, load_text

__all__ = [
    "FolderLoader",
    "LoadFailure",
    "SUPPORTED_SUFFIXES",
    "load_file",
    "load_raw",
]

logger = logging.getLogger(__name__)

_Loader = Callable[..., list[Document]]
_LOADERS: dict[str, _Loader] = {
    ".txt": load_text,
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
    ".jsonl": load_jsonl,
}
SUPPORTED_SUFFIXES = tuple(sorted(_LOADERS))
"""File name suffixes the loaders read (compared case-insensitively)."""


def load_file(
    path: str | Path, *, root: str | Path | None = None, encoding: str | None = None
) -> list[Document]:
    """Load the documents of one file (one, or one per line for ``.jsonl``).

    Args:
        path: The file.
        root: The folder ids are relative to (default: the file's folder, so the id is its name).
        encoding: Decode text files with this codec instead of UTF-8 (``"cp1252"``,
            ``"latin-1"``); no other encoding is ever guessed.

    Raises:
        LoaderError: The suffix is not supported, or the file cannot be read or parsed.
        UndecodableFileError: The file is not valid UTF-8 (or ``encoding``).
        DependencyError: The format's extra (``html``, ``pdf``) is not installed.
    """
    path = Path(path)
    _loader_for(path)  # an unsupported suffix fails before anything is read
    base = Path(root) if root is not None else path.parent
    try:
        doc_id = path.relative_to(base).as_posix()
    except ValueError as exc:
        raise ConfigError(f"{path} is not inside root {base}.") from exc
    return load_raw(read_file(path), doc_id, encoding=encoding)


def load_raw(raw: RawFile, doc_id: str, *, encoding: str | None = None) -> list[Document]:
    """:func:`load_file` of bytes already read (:func:`ragkit.loaders._read.read_file`).

    Raises:
        LoaderError: The suffix is not supported, or the file cannot be parsed.
        UndecodableFileError: The file is not valid UTF-8 (or ``encoding``).
        DependencyError: The format's extra (``html``, ``pdf``) is not installed.
    """
    return _loader_for(raw.path)(raw, doc_id, encoding=encoding)


def _loader_for(path: Path) -> _Loader:
    loader = _LOADERS.get(path.suffix.lower())
    if loader is None:
        raise LoaderError(
            f"{path}: no loader for {path.suffix or 'files without a suffix'!s}; supported: "
            f"{', '.join(SUPPORTED_SUFFIXES)}.",
            path=str(path),
        )
    return loader


@dataclass(frozen=True)
class LoadFailure:
    """A file a :class:`FolderLoader` skipped, and why."""

    path: Path
    error: LoaderError


class FolderLoader:
    """Every supported file under a folder, as documents with ids relative to it.

    Files load one at a time when iterated: a folder's files in name order, then its
    subfolders in name order. A file that cannot be loaded
    (undecodable, malformed, unreadable) is logged as a warning, added to :attr:`failures`, and
    skipped, and the rest still load; pass ``raise_on_error=True`` to stop at the first instead.
    A missing extra (``DependencyError``) always raises.

    Args:
        path: The folder (or a single file).
        suffixes: Only these suffixes (default: all of :data:`SUPPORTED_SUFFIXES`).
        encoding: Decode text files with this codec instead of UTF-8.
        recursive: Walk subfolders too.
        include_hidden: Also load files and folders whose names start with ``.``.
        raise_on_error: Raise a file's :class:`LoaderError` instead of skipping it.

    Raises:
        ConfigError: ``path`` does not exist, or a suffix is not supported.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        suffixes: Iterable[str] | None = None,
        encoding: str | None = None,
        recursive: bool = True,
        include_hidden: bool = False,
        raise_on_error: bool = False,
    ) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise ConfigError(f"{self.path} does not exist.")
        chosen = SUPPORTED_SUFFIXES if suffixes is None else tuple(suffixes)
        if isinstance(suffixes, str):
            chosen = (suffixes,)
        normal = {s.lower() if s.startswith(".") else "." + s.lower() for s in chosen}
        unknown = sorted(normal - set(_LOADERS))
        if unknown:
            raise ConfigError(
                f"No loader for {', '.join(unknown)}; supported: {', '.join(SUPPORTED_SUFFIXES)}."
            )
        self.suffixes = frozenset(normal)
        self.encoding = encoding
        self.recursive = recursive
        self.include_hidden = include_hidden
        self.raise_on_error = raise_on_error
        self.failures: list[LoadFailure] = []

    def files(self) -> Iterator[Path]:
        """The files that will be loaded, in loading order."""
        if self.path.is_file():
            yield self.path
            return
        for folder, dirs, names in os.walk(self.path):
            dirs[:] = sorted(d for d in dirs if self.include_hidden or not d.startswith("."))
            if not self.recursive:
                dirs.clear()
            for name in sorted(names):
                path = Path(folder) / name
                if (self.include_hidden or not name.startswith(".")) and (
                    path.suffix.lower() in self.suffixes
                ):
                    yield path

    def __iter__(self) -> Iterator[Document]:
        self.failures = []
        root = self.path.parent if self.path.is_file() else self.path
        for path in self.files():
            try:
                documents = load_file(path, root=root, encoding=self.encoding)
            except LoaderError as exc:
                if self.raise_on_error:
                    raise
                logger.warning("Skipped %s: %s", path, exc)
                self.failures.append(LoadFailure(path, exc))
                continue
            yield from documents

    def load(self) -> list[Document]:
        """All the documents at once (:attr:`failures` lists the files skipped)."""
        return list(self)

    def __repr__(self) -> str:
        return f"FolderLoader({str(self.path)!r}, suffixes={sorted(self.suffixes)})"
