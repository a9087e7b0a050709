"""A tiny local stand-in for the Hugging Face hub, for download tests.

It serves files in the hub layout ``/{org}/{name}/resolve/{revision}/{path}`` (or any path given),
with ``X-Linked-Etag`` sha256 headers and ``Range`` support, records every request, and plays
queued one-shot :class:`Action` s per path (errors, redirects, dropped connections, pauses)
before falling back to serving the file. It also answers proxy-style requests
(``GET http://host/path``), so it can stand in for an HTTP proxy.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit


@dataclass
class Action:
    """What the server does for one request to a path, before it goes back to normal.

    Attributes:
        status: Answer with this status and an empty body.
        headers: Extra headers for that answer (e.g. ``Retry-After``).
        redirect_to: Answer 302 with this Location (absolute URL or path), plus the file's
            checksum headers as the real hub does.
        drop_after: Serve the file but close the connection after this many body bytes.
        pause_after: Send this many body bytes, then wait for ``resume`` before the rest.
        resume: The event ``pause_after`` waits for.
        delay: Seconds to wait before answering at all.
        ignore_range: Answer 200 with the whole file even when a Range was asked for.
    """

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    redirect_to: str | None = None
    drop_after: int | None = None
    pause_after: int | None = None
    resume: threading.Event | None = None
    delay: float = 0.0
    ignore_range: bool = False


@dataclass(frozen=True)
class Recorded:
    """One request the server received."""

    method: str
    path: str
    target: str
    headers: dict[str, str]


@dataclass
class _File:
    data: bytes
    headers: dict[str, str]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class HubServer:
    """A programmable HTTP server on 127.0.0.1 and a free port; use as a context manager."""

    def __init__(self) -> None:
        self._files: dict[str, _File] = {}
        self._actions: dict[str, list[Action]] = {}
        self._requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.hub = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> HubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            for actions in self._actions.values():
                for action in actions:
                    if action.resume is not None:
                        action.resume.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    # -- programming it -------------------------------------------------------------------

    def add_file(
        self,
        repo_id: str,
        filename: str,
        data: bytes,
        *,
        revision: str = "main",
        lfs: bool = True,
        sha256: str | None = None,
    ) -> str:
        """Serve ``data`` at the hub path of a repo file; return that path.

        ``lfs`` adds ``X-Linked-Etag: "<sha256>"`` (``sha256`` or the data's real checksum).
        """
        path = f"/{repo_id}/resolve/{revision}/{filename}"
        headers = {"X-Linked-Etag": f'"{sha256 or sha256_hex(data)}"'} if lfs else {}
        return self.add_path(path, data, headers)

    def add_path(self, path: str, data: bytes, headers: dict[str, str] | None = None) -> str:
        """Serve ``data`` at any path (a CDN location, say)."""
        with self._lock:
            self._files[path] = _File(data, dict(headers or {}))
        return path

    def queue(self, path: str, *actions: Action) -> None:
        """Play ``actions`` for the next requests to ``path``, one per request."""
        with self._lock:
            self._actions.setdefault(path, []).extend(actions)

    def requests(self, path: str | None = None) -> list[Recorded]:
        """Requests received so far (to ``path`` only, when given)."""
        with self._lock:
            return [r for r in self._requests if path is None or r.path == path]

    # -- serving --------------------------------------------------------------------------

    def _handle(self, handler: _Handler) -> None:
        path = unquote(urlsplit(handler.path).path)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self._lock:
            self._requests.append(Recorded(handler.command, path, handler.path, headers))
            queued = self._actions.get(path)
            action = queued.pop(0) if queued else Action()
            file = self._files.get(path)
        time.sleep(action.delay)
        if action.status is not None:
            _send_empty(handler, action.status, action.headers)
        elif file is None:
            _send_empty(handler, 404, {"X-Error-Message": "Entry not found"})
        elif action.redirect_to is not None:
            _send_empty(handler, 302, {"Location": action.redirect_to, **file.headers})
        else:
            _send_file(handler, file, action)


def _send_empty(handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str]) -> None:
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", "0")
    handler.end_headers()


def _send_file(handler: BaseHTTPRequestHandler, file: _File, action: Action) -> None:
    size = len(file.data)
    match = re.fullmatch(r"bytes=(\d+)-", handler.headers.get("Range", ""))
    start = int(match.group(1)) if match and not action.ignore_range else 0
    if start >= size > 0:
        _send_empty(handler, 416, {"Content-Range": f"bytes */{size}", **file.headers})
        return
    body = file.data[start:]
    handler.send_response(206 if start else 200)
    if start:
        handler.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
    for name, value in file.headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if action.drop_after is not None:
        handler.wfile.write(body[: action.drop_after])
        return  # HTTP/1.0: the connection closes now, short of Content-Length
    if action.pause_after is not None and action.resume is not None:
        handler.wfile.write(body[: action.pause_after])
        handler.wfile.flush()
        action.resume.wait(timeout=10)
        body = body[action.pause_after :]
    handler.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    hub: HubServer

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients that give up early (timeouts) are expected; stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.hub._handle(self)

    def log_message(self, format: str, *args: object) -> None:
        """No access log on stderr."""


@contextmanager
def running_hub() -> Iterator[HubServer]:
    """A started :class:`HubServer`, stopped on exit."""
    with HubServer() as hub:
        yield hub
