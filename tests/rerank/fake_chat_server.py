"""A tiny local stand-in for an OpenAI-compatible chat endpoint, for LLM reranker tests.

``POST /v1/chat/completions`` reads the RankGPT prompt (``Search query: ...`` and the numbered
``[i] passage`` lines) and answers a permutation ranking the passages by how often they contain
the query's words (ties: original order), e.g. ``[3] > [1] > [2]``. It records every request and
plays queued one-shot :class:`Reply` s (error statuses, ``Retry-After``, malformed permutations,
garbage bodies, hangs) before going back to normal. With ``api_key`` set it answers 401 to any
other bearer token, echoing what it got as some real servers do; with ``models`` set it answers
404 to other model names, as Ollama does.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHAT_PATH = "/v1/chat/completions"
_PASSAGE = re.compile(r"^\[(\d+)\] (.*)$", re.MULTILINE)
_QUERY = re.compile(r"^Search query: (.*)$", re.MULTILINE)
_WORD = re.compile(r"\w+")


@dataclass
class Reply:
    """What the server does for one request, before it goes back to ranking normally.

    Attributes:
        status: Answer with this status (and ``body``, or an OpenAI-style error object).
        headers: Extra headers (e.g. ``Retry-After``).
        content: Answer 200 with this as the message content (a malformed permutation, say).
        body: Answer with these raw bytes as the body (garbage JSON, a body without choices).
        hang: Wait (up to 10 s, or until the server stops) before answering at all.
    """

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content: str | None = None
    body: bytes | None = None
    hang: bool = False


@dataclass(frozen=True)
class Recorded:
    """One request the server received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def prompt(self) -> str:
        """The last message's text (the ranking prompt)."""
        return str(self.body["messages"][-1]["content"])

    @property
    def numbered(self) -> list[str]:
        """The passages as numbered in the prompt, in prompt order."""
        return [text for _, text in _PASSAGE.findall(self.prompt)]


def rank_answer(prompt: str) -> str:
    """The fake model's permutation: most query-word occurrences first, ties in prompt order."""
    match = _QUERY.search(prompt)
    words = set(_WORD.findall(match.group(1).lower())) if match else set()
    passages = [(int(i), _WORD.findall(text.lower())) for i, text in _PASSAGE.findall(prompt)]
    ranked = sorted(passages, key=lambda p: (-sum(w in words for w in p[1]), p[0]))
    return " > ".join(f"[{i}]" for i, _ in ranked)


class FakeChatServer:
    """A programmable chat endpoint on 127.0.0.1 and a free port; use as a context manager."""

    def __init__(self, *, api_key: str | None = None, models: set[str] | None = None) -> None:
        self.api_key, self.models = api_key, models
        self._replies: list[Reply] = []
        self._requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.chat = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        """The API root to pass as ``base_url`` (ends in ``/v1``)."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> FakeChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()  # release hanging handlers
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def queue(self, *replies: Reply) -> None:
        """Play ``replies`` for the next requests, one per request."""
        with self._lock:
            self._replies.extend(replies)

    @property
    def requests(self) -> list[Recorded]:
        """Requests received so far."""
        with self._lock:
            return list(self._requests)

    def _handle(self, handler: _Handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length)
        body = json.loads(raw) if raw else {}
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self._lock:
            self._requests.append(Recorded(handler.path, headers, body))
            reply = self._replies.pop(0) if self._replies else Reply()
        if reply.hang:
            self._stopping.wait(timeout=10)
        status, payload = self._answer(handler.path, headers, body, reply)
        _send(handler, status, reply.headers, payload)

    def _answer(
        self, path: str, headers: dict[str, str], body: dict[str, Any], reply: Reply
    ) -> tuple[int, bytes]:
        if reply.body is not None:
            return reply.status, reply.body
        if reply.status != 200:
            return reply.status, _error(f"scripted HTTP {reply.status}")
        token = headers.get("authorization", "").removeprefix("Bearer ")
        if self.api_key is not None and token != self.api_key:
            return 401, _error(f"Incorrect API key provided: {token}")
        if path != CHAT_PATH:
            return 404, b"404 page not found"
        if self.models is not None and body.get("model") not in self.models:
            return 404, _error(f"model '{body.get('model')}' not found")
        content = reply.content
        if content is None:
            content = rank_answer(str(body["messages"][-1]["content"]))
        choice = {"index": 0, "message": {"role": "assistant", "content": content}}
        return 200, json.dumps({"object": "chat.completion", "choices": [choice]}).encode()


def _error(message: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": "invalid_request_error"}}).encode()


def _send(
    handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes
) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    chat: FakeChatServer

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients that give up early (timeouts) are expected; stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        self.server.chat._handle(self)

    def log_message(self, format: str, *args: object) -> None:
        """No access log on stderr."""


@contextmanager
def running_chat_server(**options: Any) -> Iterator[FakeChatServer]:
    """A started :class:`FakeChatServer`, stopped on exit."""
    with FakeChatServer(**options) as server:
        yield server
