"""A local stand-in for embedding and rerank servers, with programmable faults.

Answers OpenAI ``POST /v1/embeddings`` (float or base64, data shuffled to test ``index``),
Ollama ``POST /api/embed``, TEI ``POST /embed`` and ``POST /rerank``, and Cohere/Jina
``POST /v1/rerank``. Vectors are seeded by each text's sha256 and not unit length (clients
must normalise); rerank scores are the share of query words in a passage. Queued one-shot
:class:`Fault` s (status + headers, raw body, delay, dropped connection) play before normal
answers. Every request is recorded, with how many were in flight at once.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

DIM = 12
_WORD = re.compile(r"\w+")


def vector(text: str, dim: int = DIM) -> np.ndarray:
    """The server's raw (not normalised) vector of ``text``."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    return (np.random.default_rng(seed).normal(size=dim) * 3).astype(np.float32)


def unit(text: str, dim: int = DIM) -> np.ndarray:
    v = vector(text)[:dim]
    return v / np.linalg.norm(v)


def overlap(query: str, text: str) -> float:
    words = set(_WORD.findall(query.lower()))
    found = _WORD.findall(text.lower())
    return sum(w in words for w in found) / (len(found) or 1)


@dataclass
class Fault:
    """One answer that is not the normal one.

    Attributes:
        status: Answer with this status and an OpenAI-style error (unless ``body``).
        headers: Extra headers (``Retry-After``).
        body: Raw bytes to answer with (malformed JSON), with ``status``.
        delay: Seconds to wait before answering (a slow server).
        drop: Close the connection without answering.
    """

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    delay: float = 0.0
    drop: bool = False


@dataclass(frozen=True)
class Recorded:
    path: str
    headers: dict[str, str]
    body: Any


class FlakyServer:
    """Use as a context manager: ``with FlakyServer() as server: server.url``."""

    def __init__(self, *, api_key: str | None = None, delay: float = 0.0) -> None:
        self.api_key, self.delay = api_key, delay
        self.faults: list[Fault] = []
        self.recorded: list[Recorded] = []
        self.in_flight = self.max_in_flight = 0
        self._lock = threading.Lock()
        self.url = ""

    def queue(self, *faults: Fault) -> None:
        with self._lock:
            self.faults.extend(faults)

    def requests(self, path: str | None = None) -> list[Recorded]:
        return [r for r in self.recorded if path is None or r.path == path]

    def __enter__(self) -> FlakyServer:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def answer(self, path: str, body: Any) -> Any:
        """The normal answer of each API."""
        if path == "/v1/embeddings":
            texts = body["input"]
            dim = body.get("dimensions") or DIM
            data = []
            for i, text in enumerate(texts):
                v = vector(text)[:dim]
                if body.get("encoding_format") == "base64":
                    emb: Any = base64.b64encode(v.astype("<f4").tobytes()).decode()
                else:
                    emb = v.tolist()
                data.append({"object": "embedding", "index": i, "embedding": emb})
            return {"object": "list", "data": data[::-1], "model": body["model"]}
        if path == "/api/embed":
            return {
                "model": body["model"],
                "embeddings": [vector(t).tolist() for t in body["input"]],
            }
        if path == "/embed":
            return [vector(t).tolist() for t in body["inputs"]]
        if path == "/rerank":
            scores = [overlap(body["query"], t) for t in body["texts"]]
            order = sorted(range(len(scores)), key=lambda i: -scores[i])
            return [{"index": i, "score": scores[i]} for i in order]
        if path == "/v1/rerank":
            scores = [overlap(body["query"], t) for t in body["documents"]]
            order = sorted(range(len(scores)), key=lambda i: -scores[i])[: body.get("top_n")]
            return {"results": [{"index": i, "relevance_score": scores[i]} for i in order]}
        return None


def _handler(server: FlakyServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.loads(raw)
            with server._lock:
                server.recorded.append(Recorded(self.path, dict(self.headers), body))
                fault = server.faults.pop(0) if server.faults else None
                server.in_flight += 1
                server.max_in_flight = max(server.max_in_flight, server.in_flight)
            try:
                self._respond(body, fault)
            finally:
                with server._lock:
                    server.in_flight -= 1

        def _respond(self, body: Any, fault: Fault | None) -> None:
            time.sleep((fault.delay if fault else 0.0) or server.delay)
            if fault and fault.drop:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            auth = self.headers.get("Authorization", "")
            if server.api_key and auth != f"Bearer {server.api_key}":
                self._send(401, {"error": {"message": f"Incorrect API key provided: {auth[7:]}"}})
            elif fault and fault.status != 200 or fault and fault.body is not None:
                payload = fault.body
                if payload is None:
                    payload = json.dumps({"error": {"message": f"fault {fault.status}"}}).encode()
                self._send_raw(fault.status, payload, fault.headers)
            else:
                answer = server.answer(self.path, body)
                if answer is None:
                    self._send(404, {"error": "no such endpoint"})
                else:
                    self._send(200, answer)

        def _send(self, status: int, payload: Any) -> None:
            self._send_raw(status, json.dumps(payload).encode(), {})

        def _send_raw(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@contextmanager
def flaky_server(**kwargs: Any) -> Iterator[FlakyServer]:
    with FlakyServer(**kwargs) as server:
        yield server
