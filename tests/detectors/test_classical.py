"""Classical detectors do what their docstrings say."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import KernelDensity

from anobench.detectors.classical import GMM, KDE, PCAReconstruction


def test_kde_matches_sklearn_kernel_density() -> None:
    rng = np.random.default_rng(0)
    X, Q = rng.normal(size=(300, 12)), rng.normal(size=(50, 12))
    ours = KDE(bandwidth=0.8, standardize=False).fit(X)
    reference = KernelDensity(bandwidth=0.8).fit(X).score_samples(Q)
    np.testing.assert_allclose(ours.anomaly_score(Q), -reference, rtol=1e-9)


def test_kde_loo_bandwidth_uses_training_data_only_and_is_interior() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 3))
    det = KDE().fit(X)
    nn_scale = det.bandwidth_
    assert 0.05 < nn_scale < 2.0
    # the same training data give the same bandwidth whatever is scored later
    assert KDE().fit(X).bandwidth_ == nn_scale


def test_gmm_picks_components_by_bic() -> None:
    rng = np.random.default_rng(2)
    X = np.vstack([rng.normal(-6, 1, size=(300, 2)), rng.normal(6, 1, size=(300, 2))])
    det = GMM(random_state=0, standardize=False).fit(X)
    assert det.n_components_ == 2
    assert min(det.bic_, key=det.bic_.get) == 2


def test_pca_keeps_components_by_explained_variance() -> None:
    rng = np.random.default_rng(3)
    latent = rng.normal(size=(500, 2))
    X = latent @ rng.normal(size=(2, 10)) + 0.01 * rng.normal(size=(500, 10))
    det = PCAReconstruction(explained_variance=0.95, standardize=False).fit(X)
    assert det.n_components_ == 2
    with pytest.raises(ValueError, match="explained_variance"):
        PCAReconstruction(explained_variance=1.5).fit(X)
