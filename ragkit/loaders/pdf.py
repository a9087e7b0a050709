"""PDF files: each page's text extracted with pypdf (the ``pdf`` extra)."""

from __future__ import annotations

import io

from ragkit.errors import DependencyError, LoaderError
from ragkit.loaders._read import RawFile
from ragkit.loaders.document import Document
from ragkit.loaders.text import file_metadata

__all__ = ["load_pdf"]


def load_pdf(raw: RawFile, doc_id: str, *, encoding: str | None = None) -> list[Document]:
    """A ``.pdf`` file as one document, pages separated by blank lines.

    Args:
        raw: The file.
        doc_id: The document id.
        encoding: Ignored (PDF text has its own encodings).

    Raises:
        DependencyError: pypdf is not installed.
        LoaderError: The file is not a readable PDF, or it is encrypted.
    """
    try:
        from pypdf import PdfReader
    except ImportError as exc:
        raise DependencyError("Reading PDF files needs pypdf: pip install 'ragkit[pdf]'.") from exc
    try:
        reader = PdfReader(io.BytesIO(raw.data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoaderError(
                f"{raw.path} is an encrypted PDF; decrypt it first (e.g. qpdf --decrypt).",
                path=str(raw.path),
            )
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        title = reader.metadata.title if reader.metadata else None
    except LoaderError:
        raise
    except Exception as exc:  # pypdf raises many kinds of errors on damaged files
        raise LoaderError(
            f"Cannot read {raw.path} as a PDF: {exc}. Check that the file is a complete PDF.",
            path=str(raw.path),
        ) from exc
    metadata = file_metadata(raw, "pdf")
    metadata["pages"] = len(pages)
    text = "\n\n".join(page for page in pages if page)
    title = str(title).strip() if title else ""
    return [Document(doc_id, text, title or raw.path.stem, metadata)]
