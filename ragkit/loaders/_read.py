"""Reading files: bytes, their hash and mtime, and strict decoding."""

from __future__ import annotations

import codecs
import hashlib
from dataclasses import dataclass
from pathlib import Path

from ragkit.errors import ConfigError, LoaderError, UndecodableFileError

__all__ = ["RawFile", "decode", "read_file"]


@dataclass(frozen=True)
class RawFile:
    """A file's bytes with what the metadata needs."""

    path: Path
    data: bytes
    sha256: str
    mtime: float


def read_file(path: Path) -> RawFile:
    """Read ``path`` whole.

    Raises:
        LoaderError: The file cannot be read (missing, a folder, no permission).
    """
    try:
        data = path.read_bytes()
        mtime = path.stat().st_mtime
    except OSError as exc:
        raise LoaderError(f"Cannot read {path}: {exc.strerror or exc}.", path=str(path)) from exc
    return RawFile(path, data, hashlib.sha256(data).hexdigest(), mtime)


def decode(raw: RawFile, encoding: str | None = None) -> str:
    """The text of ``raw``: UTF-8 (a byte-order mark is dropped) unless ``encoding`` is given.

    Raises:
        UndecodableFileError: The bytes are not valid in the encoding (names the file, the
            byte offset, and how to pass another encoding).
        ConfigError: ``encoding`` is not a known codec.
    """
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise ConfigError(f"Unknown encoding {encoding!r}.") from exc
    chosen = encoding or "utf-8-sig"
    try:
        return raw.data.decode(chosen)
    except UnicodeDecodeError as exc:
        hint = (
            "pass encoding='cp1252' (or the file's real encoding) to read it"
            if encoding is None
            else "check the file's encoding"
        )
        raise UndecodableFileError(
            f"{raw.path} is not valid {encoding or 'UTF-8'}: byte {exc.object[exc.start]:#04x} at "
            f"offset {exc.start} cannot be decoded; {hint}, or convert the file to UTF-8.",
            path=str(raw.path),
        ) from exc
