from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pytest

from ragkit.errors import ConfigError, StoreError
from ragkit.store.layout import LayoutRequest, StoreLayout, load_layout
from ragkit.store.rotation import PcaRotation
from tests.store.test_rotation import _anisotropic


def test_without_options_the_layout_keeps_vectors_as_they_are() -> None:
    vectors = _anisotropic(50, 12, seed=1)
    layout = LayoutRequest().fit(vectors)
    assert (layout.input_dim, layout.dim, layout.code_dim) == (12, 12, 12)
    assert layout.stored(vectors) is vectors and layout.rotation is None


def test_a_reduced_layout_truncates_and_renormalises() -> None:
    vectors = _anisotropic(50, 12, seed=2)
    stored = LayoutRequest(dim=5, code_dim=8).fit(vectors).stored(vectors)
    expected = vectors[:, :5] / np.linalg.norm(vectors[:, :5], axis=1, keepdims=True)
    assert np.allclose(stored, expected, atol=1e-6)


def test_pca_layouts_rotate_whiten_then_cut(caplog: pytest.LogCaptureFixture) -> None:
    vectors = _anisotropic(300, 16, seed=3, offset=1.0)
    with caplog.at_level(logging.WARNING):
        layout = LayoutRequest(dim=6, rotate="pca").fit(vectors)
    assert "representative batch" in caplog.text  # 300 < 1,000 vectors
    assert layout.rotation == PcaRotation.fit(vectors) and layout.whiten == 0.1
    expected = layout.rotation.apply(vectors, 6, whiten=0.1)
    assert np.allclose(layout.stored(vectors), expected)
    assert np.array_equal(layout.code_input(vectors), vectors)  # codes are never rotated


def test_whitening_divides_axes_by_variance_to_a_power() -> None:
    vectors = _anisotropic(400, 10, seed=4)
    rotation = PcaRotation.fit(vectors)
    raw = vectors @ rotation.components[:4].T
    scaled = raw * rotation.explained_variance[:4] ** -0.2
    expected = scaled / np.linalg.norm(scaled, axis=1, keepdims=True)
    assert np.allclose(rotation.apply(vectors, 4, whiten=0.2), expected, atol=1e-5)
    assert np.allclose(rotation.apply(vectors, 4, whiten=0.0), rotation.apply(vectors, 4))
    with pytest.raises(ConfigError, match="whiten"):
        rotation.apply(vectors, 4, whiten=2.0)


def test_a_request_that_contradicts_the_collection_is_refused() -> None:
    layout = StoreLayout(input_dim=16, dim=8, code_dim=16)
    LayoutRequest().check(layout, "c")
    LayoutRequest(dim=8).check(layout, "c")
    for request, clash in [
        (LayoutRequest(dim=4), "dim=8"),
        (LayoutRequest(code_dim=8), "code_dim=16"),
        (LayoutRequest(rotate="pca"), "no rotation"),
    ]:
        with pytest.raises(ConfigError, match=clash):
            request.check(layout, "c")


def test_a_given_rotation_must_turn_vectors_of_the_input_dimension() -> None:
    rotation = PcaRotation.fit(_anisotropic(40, 8, seed=5))
    with pytest.raises(ConfigError, match="8-d vectors, but the store is given 12-d"):
        LayoutRequest(rotate=rotation).fit(_anisotropic(40, 12, seed=6))


def test_a_missing_rotation_collection_is_a_store_error(client: Any) -> None:
    meta = {"ragkit:code_dim": 8, "ragkit:dim": 4, "ragkit:rotation": "ragkit-rotation-gone"}
    with pytest.raises(StoreError, match="ragkit-rotation-gone"):
        load_layout(client, meta, lambda: None)


def test_collections_written_before_layouts_read_their_dimension_from_a_vector(
    client: Any,
) -> None:
    layout = load_layout(client, {"ragkit:code_dim": 32}, lambda: 48)
    assert layout == StoreLayout(input_dim=48, dim=48, code_dim=32)
    assert load_layout(client, {}, lambda: 48) is None
