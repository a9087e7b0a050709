from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from ragkit.errors import ConfigError, InputError
from ragkit.store.rotation import PcaRotation


def _anisotropic(n: int, dim: int, seed: int, *, offset: float = 0.0) -> np.ndarray:
    """Unit vectors whose variance decays over random (not axis-aligned) directions."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    spectrum = 1.0 / np.arange(1, dim + 1) ** 1.2
    vectors = (rng.standard_normal((n, dim)) * np.sqrt(spectrum)) @ basis.T
    vectors += offset * rng.standard_normal(dim) / np.sqrt(dim)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32)


def _neighbours(vectors: np.ndarray, k: int) -> np.ndarray:
    scores = vectors @ vectors.T
    np.fill_diagonal(scores, -np.inf)
    return np.argsort(-scores, axis=1)[:, :k]


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    hits = [len(set(a) & set(b)) for a, b in zip(found, truth, strict=True)]
    return float(np.mean(hits)) / truth.shape[1]


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return _anisotropic(2300, 48, seed=0, offset=1.0)


@pytest.fixture(scope="module")
def sample(data: np.ndarray) -> np.ndarray:
    return data[:1500]


@pytest.fixture(scope="module")
def rotation(sample: np.ndarray) -> PcaRotation:
    return PcaRotation.fit(sample)


def test_components_are_orthonormal(rotation: PcaRotation) -> None:
    components = rotation.components
    assert components.shape == (48, 48) and components.dtype == np.float32
    np.testing.assert_allclose(components @ components.T, np.eye(48), atol=1e-5)
    assert rotation.dim == 48


def test_variance_sorted_and_matches_projection(rotation: PcaRotation, sample: np.ndarray) -> None:
    variance = rotation.explained_variance
    assert (np.diff(variance) <= 0).all()
    projected = (sample - rotation.mean) @ rotation.components.T
    np.testing.assert_allclose(projected.var(axis=0, ddof=1), variance, rtol=1e-3, atol=1e-7)
    np.testing.assert_allclose(rotation.mean, sample.mean(axis=0), atol=1e-6)
    ratio = rotation.explained_variance_ratio
    assert abs(float(ratio.sum()) - 1.0) < 1e-5 and ratio[0] > ratio[-1]


def test_fit_is_reproducible_and_signs_fixed(rotation: PcaRotation, sample: np.ndarray) -> None:
    again = PcaRotation.fit(sample)
    assert again == rotation
    rows = np.arange(48)
    assert (rotation.components[rows, np.abs(rotation.components).argmax(axis=1)] > 0).all()


def test_full_rotation_preserves_cosines(rotation: PcaRotation) -> None:
    vectors = _anisotropic(200, 48, seed=1, offset=1.0)
    rotated = rotation.apply(vectors)
    assert rotated.shape == (200, 48) and rotated.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(rotated, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(rotated @ rotated.T, vectors @ vectors.T, atol=2e-5)


def test_apply_does_not_subtract_the_mean(rotation: PcaRotation) -> None:
    vectors = _anisotropic(5, 48, seed=2, offset=1.0)
    expected = vectors @ rotation.components[:10].T
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(rotation.apply(vectors, dim=10), expected, atol=1e-6)


def test_truncated_rotation_beats_naive_truncation(rotation: PcaRotation, data: np.ndarray) -> None:
    vectors = data[1500:]  # held out: same distribution as the fitted sample
    truth = _neighbours(vectors, 10)
    naive = vectors[:, :12] / np.linalg.norm(vectors[:, :12], axis=1, keepdims=True)
    pca_recall = _recall(_neighbours(rotation.apply(vectors, dim=12), 10), truth)
    naive_recall = _recall(_neighbours(naive, 10), truth)
    assert pca_recall > naive_recall + 0.15
    assert pca_recall > 0.5


def test_round_trip_through_json_is_exact(rotation: PcaRotation) -> None:
    data = rotation.to_dict()
    assert data["format"] == "ragkit.pca_rotation/1" and data["dim"] == 48
    restored = PcaRotation.from_dict(json.loads(json.dumps(data)))
    assert restored == rotation
    for name in ("mean", "components", "explained_variance"):
        np.testing.assert_array_equal(getattr(restored, name), getattr(rotation, name))
        assert getattr(restored, name).dtype == np.float32
    vectors = _anisotropic(3, 48, seed=4)
    np.testing.assert_array_equal(restored.apply(vectors, dim=7), rotation.apply(vectors, dim=7))
    assert "PcaRotation(dim=48" in repr(rotation)


def test_from_dict_rejects_malformed_data(rotation: PcaRotation) -> None:
    good = rotation.to_dict()
    for bad in (
        {**good, "format": "something/1"},
        {**good, "dim": 47},
        {**good, "dim": "48"},
        {**good, "mean": "not base64!"},
        {**good, "components": good["mean"]},
        {key: value for key, value in good.items() if key != "explained_variance"},
    ):
        with pytest.raises(InputError):
            PcaRotation.from_dict(bad)


def test_apply_rejects_bad_arguments(rotation: PcaRotation) -> None:
    vectors = _anisotropic(2, 48, seed=5)
    with pytest.raises(ConfigError):
        rotation.apply(vectors, dim=0)
    with pytest.raises(ConfigError):
        rotation.apply(vectors, dim=49)
    with pytest.raises(InputError):
        rotation.apply(vectors[:, :40])
    with pytest.raises(InputError):
        rotation.apply(np.full((1, 48), np.nan, dtype=np.float32))


def test_fit_needs_two_vectors_and_warns_below_dim(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(InputError):
        PcaRotation.fit(np.ones((1, 8), dtype=np.float32))
    with caplog.at_level(logging.WARNING, logger="ragkit.store.rotation"):
        small = PcaRotation.fit(_anisotropic(5, 8, seed=6))
    assert "arbitrary" in caplog.text
    np.testing.assert_allclose(small.components @ small.components.T, np.eye(8), atol=1e-5)


def test_rotation_is_immutable(rotation: PcaRotation) -> None:
    with pytest.raises(ValueError):
        rotation.components[0, 0] = 1.0
