"""Use a ragkit embedder as a Chroma embedding function (the ``chroma-ragkit`` adapter).

Creates a persistent collection with ``RagkitEmbeddingFunction``, adds a few documents (embedded
with the model's document prompt), queries by text (embedded with its query prompt), then reopens
the collection with a fresh client *without* passing the function: Chroma rebuilds it from the
config stored in the collection.

Run it (after ``pip install -e . -e adapters/chroma-ragkit``)::

    RAGKIT_MODEL=BAAI/bge-small-en-v1.5 python examples/chroma_adapter.py [STORE_DIR]

``RAGKIT_MODEL`` is a catalogue id or a local model folder; without ``STORE_DIR`` the collection
lives in a temporary folder that is deleted afterwards.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import chroma_ragkit  # noqa: F401  (importing it registers "ragkit" with Chroma)
import chromadb
from chroma_ragkit import RagkitEmbeddingFunction
from chromadb.config import Settings

DEFAULT_MODEL = "BAAI/bge-small-en-v1.5"

DOCUMENTS = {
    "starter": "Feed a sourdough starter once a day at room temperature, or weekly in the fridge.",
    "binary": "Binary codes keep one bit per dimension and take 32x less memory than float32.",
    "bicycle": "Clean and lubricate a bicycle chain every few hundred kilometres.",
    "compost": "A compost heap needs a mix of green and brown material and regular turning.",
    "rescore": "Rescoring binary search candidates with float vectors restores exact cosines.",
}
QUESTIONS = ["How often should I feed a sourdough starter?", "Why rescore binary search results?"]


def _client(path: Path) -> Any:
    return chromadb.PersistentClient(path=str(path), settings=Settings(anonymized_telemetry=False))


def _show(collection: Any, question: str) -> None:
    result = collection.query(query_texts=[question], n_results=2)
    print(f"Q: {question}")
    for doc_id, distance, text in zip(
        result["ids"][0], result["distances"][0], result["documents"][0], strict=True
    ):
        print(f"  {doc_id:8s} cosine={1.0 - distance:.3f}  {text}")


def run(store: Path, model: str) -> None:
    """Index the documents into ``store`` with ``model``, query, reopen and query again."""
    function = RagkitEmbeddingFunction(model)
    print(f"model: {model} (dim {function.dim}, space {function.default_space()})")

    client = _client(store)
    docs = client.get_or_create_collection("demo", embedding_function=function)
    docs.upsert(ids=list(DOCUMENTS), documents=list(DOCUMENTS.values()))
    for question in QUESTIONS:
        _show(docs, question)
    client.close()

    client = _client(store)
    reopened = client.get_collection("demo")  # no embedding_function: rebuilt from its config
    print(f"reopened with {reopened.configuration['embedding_function']!r}")
    _show(reopened, QUESTIONS[0])
    client.close()


def main() -> None:
    """Run on ``sys.argv[1]`` if given, else in a temporary folder."""
    model = os.environ.get("RAGKIT_MODEL") or DEFAULT_MODEL
    if len(sys.argv) > 1:
        run(Path(sys.argv[1]), model)
        return
    with tempfile.TemporaryDirectory(prefix="chroma-ragkit-") as folder:
        run(Path(folder), model)


if __name__ == "__main__":
    main()
