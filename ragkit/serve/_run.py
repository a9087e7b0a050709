"""Run an app with uvicorn (what ``ragkit serve`` does once the models are loaded)."""

from __future__ import annotations

import uvicorn
from starlette.applications import Starlette

__all__ = ["run_server"]


def run_server(
    app: Starlette, *, host: str = "127.0.0.1", port: int = 8000, verbose: bool = False
) -> None:
    """Serve ``app`` on ``host:port`` until interrupted (uvicorn, one process)."""
    uvicorn.run(app, host=host, port=port, log_level="info" if verbose else "warning")
