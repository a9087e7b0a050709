"""``ragkit serve``: ragkit's local models behind the OpenAI embeddings API (and a rerank API).

Needs the ``serve`` extra (Starlette and uvicorn): ``pip install 'ragkit[serve]'``.

Usage::

    from ragkit import TextEmbedder
    from ragkit.serve import create_app, run_server

    app = create_app({"bge-small": TextEmbedder("BAAI/bge-small-en-v1.5")})
    run_server(app, host="127.0.0.1", port=8000)
"""

from __future__ import annotations

try:
    import starlette  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    from ragkit.errors import DependencyError

    raise DependencyError(
        f"ragkit serve needs the serve extra ({exc.name} is missing): pip install 'ragkit[serve]'."
    ) from exc

from ragkit.serve._app import create_app
from ragkit.serve._run import run_server

__all__ = ["create_app", "run_server"]
