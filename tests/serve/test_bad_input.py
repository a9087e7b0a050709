"""Bad requests get the right 4xx in OpenAI's error shape, and the server keeps serving."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from ragkit import TextEmbedder
from ragkit.serve import create_app
from tests.serve.conftest import KEY, NAME
from tests.serve.live import live_server

AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, headers=AUTH, timeout=10) as client:
        yield client


def error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return dict(body["error"])


@pytest.mark.parametrize(
    ("body", "param", "message"),
    [
        ({"model": NAME, "input": []}, "input", "'input' is an empty list"),
        ({"model": NAME, "input": ["a", 3]}, "input", "item 1 is int, not a string"),
        ({"model": NAME, "input": [[1, 2]]}, "input", "token arrays are not accepted"),
        ({"model": NAME, "input": None}, "input", "not null"),
        ({"model": NAME}, "input", "'input' is required"),
        ({"input": ["a"]}, "model", "'model' is required"),
        (
            {"model": NAME, "input": ["a"], "dimensions": 0},
            "dimensions",
            "greater than or equal to 1",
        ),
        ({"model": NAME, "input": ["a"], "dimensions": 33}, "dimensions", "gives 32-d vectors"),
        (
            {"model": NAME, "input": ["a"], "encoding_format": "int8"},
            "encoding_format",
            "'float' or 'base64'",
        ),
        ({"model": NAME, "input": ["a"] * 9}, "input", "9 items, over the server's limit of 8"),
    ],
)
def test_bad_embedding_requests_are_400s(
    http: httpx.Client, body: dict[str, Any], param: str, message: str
) -> None:
    err = error(http.post("/v1/embeddings", json=body), 400)
    assert err["param"] == param and message in err["message"]
    assert err["type"] == "invalid_request_error"


def test_unknown_model_is_404_listing_what_is_served(http: httpx.Client) -> None:
    err = error(http.post("/v1/embeddings", json={"model": "gpt-x", "input": ["a"]}), 404)
    assert err["code"] == "model_not_found" and NAME in err["message"]
    err = error(
        http.post("/v1/rerank", json={"model": NAME, "query": "q", "documents": ["a"]}), 404
    )
    assert "served rerank models: tiny-ce" in err["message"]


def test_bodies_that_are_not_json_objects(http: httpx.Client) -> None:
    err = error(http.post("/v1/embeddings", content=b"{not json"), 400)
    assert err["code"] == "invalid_json"
    err = error(http.post("/v1/embeddings", json=["a"]), 400)
    assert "must be a JSON object, not list" in err["message"]


def test_oversized_bodies_are_413_declared_or_streamed(http: httpx.Client) -> None:
    big = {"model": NAME, "input": ["word " * 1000]}
    err = error(http.post("/v1/embeddings", json=big), 413)
    assert "limit of 4096 bytes" in err["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while reading
        yield b'{"model": "x", "input": ["'
        for _ in range(100):
            yield b"a" * 100
        yield b'"]}'

    error(http.post("/v1/embeddings", content=chunks()), 413)


def test_wrong_or_missing_api_key_is_401(base_url: str) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": KEY}):
        response = httpx.post(
            f"{base_url}/v1/embeddings", json={"model": NAME, "input": ["a"]}, headers=headers
        )
        err = error(response, 401)
        assert err["code"] == "invalid_api_key" and err["type"] == "authentication_error"
        assert response.headers["WWW-Authenticate"] == "Bearer"
    error(httpx.get(f"{base_url}/v1/models"), 401)
    assert httpx.get(f"{base_url}/health").json() == {"status": "ok"}  # no key needed


def test_unknown_routes_and_methods(http: httpx.Client) -> None:
    assert error(http.get("/v1/nothing"), 404)["code"] == "not_found"
    assert error(http.get("/v1/embeddings"), 405)["code"] == "method_not_allowed"


def test_bad_rerank_requests(http: httpx.Client) -> None:
    base = {"model": "tiny-ce", "query": "q"}
    assert (
        "non-empty list"
        in error(http.post("/v1/rerank", json={**base, "documents": []}), 400)["message"]
    )
    assert (
        error(http.post("/v1/rerank", json={**base, "documents": [1]}), 400)["param"] == "documents"
    )
    assert (
        error(http.post("/v1/rerank", json={**base, "query": "", "documents": ["a"]}), 400)["param"]
        == "query"
    )
    assert (
        error(http.post("/v1/rerank", json={**base, "documents": ["a"], "top_n": 0}), 400)["param"]
        == "top_n"
    )


def test_the_server_keeps_serving_after_bad_requests(http: httpx.Client, base_url: str) -> None:
    bad = [
        {"model": NAME, "input": []},
        {"model": NAME, "input": ["a", 3]},
        {"model": "gpt-x", "input": ["a"]},
        {"model": NAME, "input": ["a"], "dimensions": 33},
        {"model": NAME, "input": ["word " * 1000]},
    ]
    for _ in range(3):
        statuses = [http.post("/v1/embeddings", json=body).status_code for body in bad]
        statuses.append(http.post("/v1/embeddings", content=b"\xff\xfe").status_code)
        statuses.append(httpx.post(f"{base_url}/v1/embeddings", json=bad[0]).status_code)
        assert statuses == [400, 400, 404, 400, 413, 400, 401]
    response = http.post("/v1/embeddings", json={"model": NAME, "input": ["fine"]})
    assert response.status_code == 200 and len(response.json()["data"][0]["embedding"]) == 32


@pytest.mark.parametrize("batching", [True, False], ids=["batching", "no-batching"])
def test_a_text_over_the_window_fails_only_its_own_request(
    tiny_prompt_model_dir: Path, batching: bool
) -> None:
    strict = TextEmbedder(tiny_prompt_model_dir, truncation="error")  # a 16-token window
    app = create_app({NAME: strict}, batching=batching)
    long_text, short = "word " * 40, ["fine", "also fine", "short"]
    with live_server(app) as url, httpx.Client(base_url=url, timeout=10) as http:

        def post(texts: list[str]) -> httpx.Response:
            return http.post("/v1/embeddings", json={"model": NAME, "input": texts})

        with ThreadPoolExecutor(8) as pool:  # concurrent: merged into shared runs when batching
            bodies = [[long_text] if i % 4 == 0 else [short[i % 3]] for i in range(16)]
            responses = list(pool.map(post, bodies))
        for texts, response in zip(bodies, responses, strict=True):
            if texts == [long_text]:
                err = error(response, 400)
                assert err["param"] == "input" and "exceed the 16-token window" in err["message"]
                assert "index 0" in err["message"]  # the request's own index, not the batch's
            else:
                assert response.status_code == 200, response.text
        assert post(["after"]).status_code == 200
