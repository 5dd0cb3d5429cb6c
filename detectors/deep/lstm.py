"""LSTM forecaster (the bearing example's method): a stacked LSTM reads the first part of
each window and forecasts its last ``horizon`` points; score = mean absolute forecast
error over that part (higher = more anomalous)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from anobench.detectors.deep.base import DeepDetector
from anobench.detectors.deep.networks import StackedLSTM
from anobench.detectors.deep.training import (
    ModelFunctions,
    Optim,
    TrainState,
    masked_mean,
    new_state,
)

__all__ = ["LSTM", "LSTMConfig", "default_units"]


def default_units(channels: int, horizon: int) -> tuple[int, ...]:
    """Two LSTM layers whose width grows with what is forecast (``channels x horizon``
    values): 32 units for one channel one step ahead, at most 128.

    >>> default_units(1, 1), default_units(4, 1), default_units(8, 4)
    ((32, 32), (64, 64), (128, 128))
    """
    width = min(128, 32 * math.ceil(math.sqrt(channels * horizon)))
    return (width, width)


@dataclass(frozen=True)
class LSTMConfig:
    """Windows of ``steps + horizon`` points of ``channels`` channels; LSTM layers of
    ``units``; the dense head forecasts ``horizon x channels`` values."""

    steps: int
    horizon: int
    channels: int
    units: tuple[int, ...]
    optim: Optim

    def network(self) -> StackedLSTM:
        return StackedLSTM(self.units, self.horizon * self.channels)


def _forecast(cfg: LSTMConfig, params: Any, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(prediction, target) of the windows ``x`` (b, steps + horizon, channels), each
    (b, horizon, channels)."""
    past, target = x[:, : cfg.steps], x[:, cfg.steps :]
    prediction = cfg.network().apply(params, past).reshape(target.shape)
    return prediction, target


def lstm_init(
    cfg: LSTMConfig, key: jax.Array, X: jax.Array, weights: jax.Array, _: Any
) -> TrainState:
    return new_state(cfg.optim, cfg.network().init(key, X[:1, : cfg.steps]))


def lstm_loss(
    cfg: LSTMConfig, params: Any, _: Any, xb: jax.Array, mask: jax.Array, key: jax.Array
) -> jax.Array:
    """Masked mean of each window's mean squared forecast error (MSE, as the example)."""
    prediction, target = _forecast(cfg, params, xb)
    return masked_mean(jnp.mean((prediction - target) ** 2, axis=(1, 2)), mask)


def lstm_score(cfg: LSTMConfig, params: Any, _: Any, x: jax.Array, key: jax.Array) -> jax.Array:
    """(b,) mean absolute forecast error over the window's last ``horizon`` points and
    every channel."""
    prediction, target = _forecast(cfg, params, x)
    return jnp.mean(jnp.abs(prediction - target), axis=(1, 2))


LSTM_FUNCTIONS = ModelFunctions("lstm", lstm_init, lstm_score, loss=lstm_loss)


class LSTM(DeepDetector):
    """Stacked-LSTM forecaster (JAX); score = mean absolute error of the window's forecast.

    Input: windows of a series, ``(n, window)`` for one channel or ``(n, window,
    channels)``. The first ``window - horizon`` points of each window are read by the
    LSTM layers (each recurrence a ``lax.scan``), a dense layer forecasts the last
    ``horizon`` points of every channel; training minimises their mean squared error with
    Adam. A window's score is the mean absolute difference between forecast and
    measurement over its forecast part (the bearing example's anomaly score); on point
    level (:mod:`anobench.metrics.points`) that score belongs to the point it forecasts
    (the centre of the forecast block: the window's last point for ``horizon = 1``).

    Parameters
    ----------
    hidden : LSTM layer widths; None scales them with the forecast size
        (:func:`default_units`: two layers, 32 units for one channel one step ahead, at
        most 128). The bearing example used ``(300, 300, 300)``.
    horizon : points forecast at the end of each window (the example's ``n_output``);
        ``window - horizon`` points are read (``n_step``).
    epochs, batch_size, learning_rate, weight_decay, n_seeds : training, as in
        :class:`~anobench.detectors.deep.autoencoders.AE`.
    standardize : z-score every (time step, channel) of the windows with training
        statistics (forecast errors are then in units of the training spread).
    """

    name = "lstm"
    modalities: ClassVar[tuple[str, ...]] = ("series",)
    #: windows keep their (window[, channels]) shape, checked at scoring time
    image_input: ClassVar[bool] = True

    def __init__(
        self,
        hidden: tuple[int, ...] | None = None,
        horizon: int = 1,
        epochs: int = 30,
        batch_size: int = 128,
        learning_rate: float = 1e-3,
        weight_decay: float = 0.0,
        n_seeds: int = 1,
        standardize: bool = True,
        random_state: int | None = None,
    ) -> None:
        self.hidden = hidden
        self.horizon = horizon
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.n_seeds = n_seeds
        self.standardize = standardize
        self.random_state = random_state

    functions = LSTM_FUNCTIONS

    def point_offset(self, window: int) -> int:
        """The forecast point: the centre of the last ``horizon`` points of the window."""
        horizon = min(max(int(self.horizon), 1), window)
        return window - horizon + (horizon - 1) // 2

    def _shape(self) -> tuple[int, int]:
        """(window, channels) of the fitted input."""
        shape = self.input_shape_
        if len(shape) not in (1, 2):
            raise ValueError(
                f"LSTM takes windows (n, window) or (n, window, channels), got samples of "
                f"shape {shape}"
            )
        return shape[0], shape[1] if len(shape) == 2 else 1

    def config(self) -> LSTMConfig:
        window, channels = self._shape()
        horizon = self.horizon
        if isinstance(horizon, bool) or not isinstance(horizon, int) or not 1 <= horizon < window:
            raise ValueError(
                f"horizon must be an integer in [1, window - 1] = [1, {window - 1}], "
                f"got {horizon!r}"
            )
        units = tuple(self.hidden) if self.hidden else default_units(channels, horizon)
        optim = Optim(self.learning_rate, self.weight_decay)
        return LSTMConfig(window - horizon, horizon, channels, units, optim)

    def _model_input(self, X2: np.ndarray) -> np.ndarray:
        window, channels = self._shape()
        return np.asarray(X2, dtype=np.float32).reshape(-1, window, channels)

    def _fit(self, X: np.ndarray) -> None:
        self.config()  # a bad horizon fails before any compilation
        super()._fit(X)

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        return {"hidden": (16,), "epochs": 40, "batch_size": 64, "learning_rate": 1e-2}
