"""The LSTM forecaster: it learns the dynamics (trained vs untrained), takes one or many
channels, and forecasts the window's last ``horizon`` points."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from anobench.detectors.deep.lstm import LSTM, default_units
from anobench.registry import detector_registry


def dynamics_task(
    seed: int = 0, window: int = 16, channels: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sine windows (period 8, random phase); an anomaly's LAST point is the value of
    another random phase. Every point has the same distribution in both classes, so an
    untrained forecaster scores near chance; only one that learnt the dynamics (the next
    value follows from the previous ones) separates them. ``channels`` > 0 gives
    (n, window, channels) windows, channel k shifted by k/4 of a period, the anomaly in
    channel 0."""
    rng = np.random.default_rng(seed)
    t = np.arange(window)

    def normal(n: int) -> np.ndarray:
        phase = rng.uniform(0, 2 * np.pi, size=(n, 1, 1))
        shift = np.arange(max(channels, 1)) * np.pi / 2
        x = np.sin(2 * np.pi * t[None, :, None] / 8 + phase + shift)
        x = x + 0.02 * rng.normal(size=x.shape)
        return x if channels else x[:, :, 0]

    anomalies = normal(200)
    other = np.sin(rng.uniform(0, 2 * np.pi, size=200))
    if channels:
        anomalies[:, -1, 0] = other
    else:
        anomalies[:, -1] = other
    X_test = np.concatenate([normal(200), anomalies])
    return normal(600), X_test, np.r_[np.zeros(200), np.ones(200)]


@pytest.mark.parametrize("channels", [0, 2])
def test_lstm_learns_the_dynamics(channels: int) -> None:
    """Loss falls, and AUC is far above the same network untrained (a model whose weights
    never update fails here)."""
    X_train, X_test, y = dynamics_task(channels=channels)
    params = {**LSTM.test_params(), "random_state": 0, "standardize": False}
    det = LSTM(**params).fit(X_train)
    losses = det.loss_history_[0]
    assert losses[-1] < 0.2 * losses[0], f"loss {losses[0]:.3g} -> {losses[-1]:.3g}"
    trained = roc_auc_score(y, det.anomaly_score(X_test))
    untrained = roc_auc_score(y, LSTM(**{**params, "epochs": 0}).fit(X_train).anomaly_score(X_test))
    assert untrained < 0.7, f"the task is too easy untrained ({untrained:.3f})"
    assert trained > 0.95 and trained > untrained + 0.25, (trained, untrained)


def test_score_is_the_absolute_error_of_the_forecast_part() -> None:
    """One channel, one step ahead, no standardisation: raising only the forecast point
    by 10 (far above any forecast of a unit sine) leaves the forecast f as it is, so the
    score |x - f| becomes x + 10 - f, i.e. 10 + s or 10 - s for the old score s."""
    X_train, X_test, _ = dynamics_task()
    det = LSTM(**LSTM.test_params(), random_state=0, standardize=False).fit(X_train)
    rows = X_test[:5].copy()
    before = det.anomaly_score(rows)
    rows[:, -1] += 10.0
    after = det.anomaly_score(rows)
    gap = np.minimum(np.abs(after - (10 + before)), np.abs(after - (10 - before)))
    assert np.all(gap < 1e-4), gap


def test_horizon_and_default_sizes() -> None:
    X_train, X_test, _ = dynamics_task(window=12)
    det = LSTM(hidden=(8,), horizon=3, epochs=2, random_state=0).fit(X_train)
    cfg = det.config()
    assert (cfg.steps, cfg.horizon, cfg.channels, cfg.units) == (9, 3, 1, (8,))
    assert det.anomaly_score(X_test).shape == (len(X_test),)
    assert LSTM(epochs=1).fit(X_train).config().units == default_units(1, 1) == (32, 32)
    with pytest.raises(ValueError, match="horizon"):
        LSTM(horizon=12, epochs=1).fit(X_train)
    with pytest.raises(ValueError, match="shape"):
        det.anomaly_score(X_test[:, :-1])


def test_lstm_is_registered_for_series_only() -> None:
    cls = detector_registry().load("lstm")
    assert cls is LSTM and cls.modalities == ("series",) and cls.family == "deep"
