"""``ragkit serve`` as a process: binds 127.0.0.1, takes the key from the environment."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from ragkit import TextEmbedder
from ragkit.cli import build_parser


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_options_default_to_loopback() -> None:
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.api_key, args.max_batch) == ("127.0.0.1", 8000, None, 256)


@pytest.mark.slow
def test_ragkit_serve_serves_the_model(tiny_prompt_model_dir: Path) -> None:
    port = free_port()
    env = {**os.environ, "RAGKIT_SERVE_API_KEY": "sk-env-key"}
    command = [sys.executable, "-c", "from ragkit.cli import main; raise SystemExit(main())", "serve", "--model", str(tiny_prompt_model_dir),
               "--name", "tiny", "--port", str(port), "--max-batch", "4"]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stdout.read().decode()  # type: ignore[union-attr]
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "ragkit serve did not start"
            time.sleep(0.2)
        assert (
            httpx.post(f"{url}/v1/embeddings", json={"model": "tiny", "input": ["a"]}).status_code
            == 401
        )
        response = httpx.post(
            f"{url}/v1/embeddings",
            json={"model": "tiny", "input": ["the cat"], "input_type": "query"},
            headers={"Authorization": "Bearer sk-env-key"},
        )
        assert response.status_code == 200, response.text
        expected = TextEmbedder(tiny_prompt_model_dir).embed_query("the cat")
        np.testing.assert_allclose(response.json()["data"][0]["embedding"], expected, rtol=1e-5)
        too_many = {"model": "tiny", "input": ["a"] * 5}
        headers = {"Authorization": "Bearer sk-env-key"}
        assert httpx.post(f"{url}/v1/embeddings", json=too_many, headers=headers).status_code == 400
    finally:
        process.terminate()
        process.wait(20)
        process.stdout.close()  # type: ignore[union-attr]


def test_rerankers_get_the_commands_cache_network_precision_and_threads(
    tiny_prompt_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--cache-dir, --offline, --threads and --reranker-precision reach every --reranker."""
    import ragkit.rerank.cross_encoder as cross_encoder
    import ragkit.serve as serve

    built: list[tuple[str, dict[str, object]]] = []

    class Recorder:
        def __init__(self, name: str, **options: object) -> None:
            built.append((name, options))

        def score(self, query: str, texts: list[str]) -> list[float]:
            return [0.0] * len(texts)

    served: list[object] = []
    monkeypatch.setattr(cross_encoder, "CrossEncoderReranker", Recorder)
    monkeypatch.setattr(serve, "create_app", lambda *a, **k: object())
    monkeypatch.setattr(serve, "run_server", lambda app, **k: served.append(k))
    from ragkit.cli import main

    status = main(
        ["serve", "--model", str(tiny_prompt_model_dir), "--reranker", "org/rr", "--cache-dir",
         str(tmp_path), "--offline", "--threads", "1", "--reranker-precision", "int8"]
    )  # fmt: skip
    assert status == 0 and served
    assert built == [
        (
            "org/rr",
            {
                "precision": "int8",
                "threads": 1,
                "cache_dir": tmp_path,
                "offline": True,
                "show_progress_bar": False,
            },
        )
    ]
