"""The official openai package against ragkit serve: the same vectors as in-process."""

from __future__ import annotations

import base64

import numpy as np
import openai
import pytest

from ragkit import TextEmbedder
from tests.serve.conftest import KEY, NAME

TEXTS = ["binary codes take less memory", "the cat", "hello world", ""]


@pytest.fixture
def client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url + "/v1", api_key=KEY, max_retries=0)


def vectors(response: openai.types.CreateEmbeddingResponse) -> np.ndarray:
    """The vectors; the client leaves base64 undecoded when it was asked for explicitly."""
    return np.array(
        [
            np.frombuffer(base64.b64decode(e), dtype="<f4") if isinstance(e, str) else e
            for e in (d.embedding for d in response.data)
        ],
        dtype=np.float32,
    )


@pytest.mark.parametrize("encoding", ["float", "base64"])
def test_embeddings_equal_the_in_process_ones(
    client: openai.OpenAI, embedder: TextEmbedder, encoding: str
) -> None:
    response = client.embeddings.create(model=NAME, input=TEXTS, encoding_format=encoding)  # type: ignore[arg-type]
    expected = embedder.embed_documents(TEXTS, prompt="")
    np.testing.assert_allclose(vectors(response), expected, rtol=1e-6, atol=1e-7)
    assert response.model == NAME and [d.index for d in response.data] == [0, 1, 2, 3]
    assert response.usage.prompt_tokens > 0


def test_the_default_base64_of_the_client_and_a_single_string(
    client: openai.OpenAI, embedder: TextEmbedder
) -> None:
    response = client.embeddings.create(model=NAME, input="the cat")  # the client asks for base64
    np.testing.assert_allclose(
        vectors(response)[0], embedder.embed_documents(["the cat"], prompt="")[0], rtol=1e-6
    )


def test_input_type_adds_the_model_prompts(client: openai.OpenAI, embedder: TextEmbedder) -> None:
    query = client.embeddings.create(
        model=NAME, input=["the cat"], extra_body={"input_type": "query"}
    )
    doc = client.embeddings.create(
        model=NAME, input=["the cat"], extra_body={"input_type": "document"}
    )
    np.testing.assert_allclose(vectors(query)[0], embedder.embed_query("the cat"), rtol=1e-6)
    np.testing.assert_allclose(vectors(doc)[0], embedder.embed_documents(["the cat"])[0], rtol=1e-6)


def test_dimensions_truncate_and_renormalise(client: openai.OpenAI, embedder: TextEmbedder) -> None:
    response = client.embeddings.create(model=NAME, input=TEXTS[:2], dimensions=8)
    full = embedder.embed_documents(TEXTS[:2], prompt="")[:, :8]
    got = vectors(response)
    np.testing.assert_allclose(got, full / np.linalg.norm(full, axis=1, keepdims=True), rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, rtol=1e-5)


def test_models_are_listed(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert ids == [NAME, "tiny-ce"]


def test_errors_reach_the_client_as_its_own_exceptions(
    client: openai.OpenAI, base_url: str
) -> None:
    with pytest.raises(openai.NotFoundError, match="not served here") as missing:
        client.embeddings.create(model="nope", input=["a"])
    assert missing.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError, match="'dimensions' is 99"):
        client.embeddings.create(model=NAME, input=["a"], dimensions=99)
    with pytest.raises(openai.BadRequestError, match="empty list"):
        client.embeddings.create(model=NAME, input=[])
    wrong = openai.OpenAI(base_url=base_url + "/v1", api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError, match="Missing or incorrect API key") as denied:
        wrong.embeddings.create(model=NAME, input=["a"])
    assert "sk-wrong" not in str(denied.value)
    assert client.embeddings.create(model=NAME, input=["still serving"]).data
