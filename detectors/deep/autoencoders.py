"""Reconstruction models: dense autoencoder ``ae`` and convolutional autoencoder ``cae``
(the variational ``vae`` is in :mod:`anobench.detectors.deep.vae`). Higher scores = more
anomalous (worse reconstruction)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from anobench.detectors.deep.base import Reconstructor
from anobench.detectors.deep.networks import (
    ACTIVATIONS,
    OUTPUTS,
    ConvAE,
    DenseAE,
    default_widths,
)
from anobench.detectors.deep.training import (
    ModelFunctions,
    Optim,
    TrainState,
    masked_mean,
    new_state,
)

__all__ = [
    "AE",
    "AE_FUNCTIONS",
    "CAE",
    "CAE_FUNCTIONS",
    "AEConfig",
    "CAEConfig",
]


def _flat_mse(x: jax.Array, y: jax.Array) -> jax.Array:
    """Per-sample mean squared difference over all non-batch axes: (b, ...) -> (b,)."""
    return jnp.mean(jnp.reshape((x - y) ** 2, (x.shape[0], -1)), axis=1)


# -- dense autoencoder ----------------------------------------------------------------
#: reconstruction errors of the dense AE by name: (x, x_hat) (b, d) -> (b,)
ERRORS = ("mse", "msle")


def _flat_msle(x: jax.Array, y: jax.Array) -> jax.Array:
    """Per-sample mean squared logarithmic error, as Keras computes it (each side clipped
    below at 1e-7, then ``log(1 + v)``): (b, d) -> (b,)."""
    eps = 1e-7
    return jnp.mean((jnp.log1p(jnp.maximum(x, eps)) - jnp.log1p(jnp.maximum(y, eps))) ** 2, axis=1)


@dataclass(frozen=True)
class AEConfig:
    """A dense autoencoder on ``n_features`` inputs with encoder ``widths``; its hidden
    ``activation``, ``dropout`` rate, ``output`` activation and reconstruction ``error``
    (``"mse"`` or ``"msle"``), used as the training loss and the score."""

    n_features: int
    widths: tuple[int, ...]
    optim: Optim
    activation: str = "leaky_relu"
    dropout: float = 0.0
    output: str = "linear"
    error: str = "mse"

    def network(self) -> DenseAE:
        return DenseAE(self.n_features, self.widths, self.activation, self.dropout, self.output)

    def reconstruction_error(self, x: jax.Array, x_hat: jax.Array) -> jax.Array:
        return _flat_msle(x, x_hat) if self.error == "msle" else _flat_mse(x_hat, x)


def ae_init(cfg: AEConfig, key: jax.Array, X: jax.Array, weights: jax.Array, _: Any) -> TrainState:
    return new_state(cfg.optim, cfg.network().init(key, X[:1]))


def ae_loss(
    cfg: AEConfig, params: Any, _: Any, xb: jax.Array, mask: jax.Array, key: jax.Array
) -> jax.Array:
    if cfg.dropout > 0:  # dropout is active in training only
        x_hat = cfg.network().apply(params, xb, deterministic=False, rngs={"dropout": key})
        return masked_mean(cfg.reconstruction_error(xb, x_hat), mask)
    return masked_mean(ae_score(cfg, params, None, xb, key), mask)


def ae_score(cfg: AEConfig, params: Any, _: Any, x: jax.Array, key: jax.Array) -> jax.Array:
    """(b,) per-sample reconstruction error (mean squared, or mean squared logarithmic)."""
    return cfg.reconstruction_error(x, cfg.network().apply(params, x))


def ae_reconstruct(cfg: AEConfig, params: Any, _: Any, x: jax.Array, key: jax.Array) -> jax.Array:
    return cfg.network().apply(params, x)


def ae_encode(cfg: AEConfig, params: Any, _: Any, x: jax.Array, key: jax.Array) -> jax.Array:
    return cfg.network().apply(params, x, method=lambda m, v: m.encoder(v))


AE_FUNCTIONS = ModelFunctions(
    "ae", ae_init, ae_score, loss=ae_loss, reconstruct=ae_reconstruct, encode=ae_encode
)


# -- convolutional autoencoder --------------------------------------------------------
@dataclass(frozen=True)
class CAEConfig:
    """A convolutional autoencoder on images of ``image`` (h, w, c), zero-padded to
    ``padded`` (multiples of 4); the error is taken over the original pixels."""

    image: tuple[int, int, int]
    padded: tuple[int, int, int]
    code: int
    filters: tuple[int, int]
    optim: Optim

    def network(self) -> ConvAE:
        return ConvAE(self.padded, self.code, self.filters)


def cae_init(
    cfg: CAEConfig, key: jax.Array, X: jax.Array, weights: jax.Array, _: Any
) -> TrainState:
    return new_state(cfg.optim, cfg.network().init(key, X[:1]))


def cae_score(cfg: CAEConfig, params: Any, _: Any, x: jax.Array, key: jax.Array) -> jax.Array:
    """(b,) mean squared error over the original (unpadded) pixels."""
    h, w, _c = cfg.image
    return _flat_mse(cfg.network().apply(params, x)[:, :h, :w], x[:, :h, :w])


def cae_loss(
    cfg: CAEConfig, params: Any, _: Any, xb: jax.Array, mask: jax.Array, key: jax.Array
) -> jax.Array:
    return masked_mean(cae_score(cfg, params, None, xb, key), mask)


def cae_reconstruct(cfg: CAEConfig, params: Any, _: Any, x: jax.Array, key: jax.Array) -> jax.Array:
    return cfg.network().apply(params, x)


def cae_encode(cfg: CAEConfig, params: Any, _: Any, x: jax.Array, key: jax.Array) -> jax.Array:
    return cfg.network().apply(params, x, method=ConvAE.encode)


CAE_FUNCTIONS = ModelFunctions(
    "cae", cae_init, cae_score, loss=cae_loss, reconstruct=cae_reconstruct, encode=cae_encode
)


class AE(Reconstructor):
    """Dense autoencoder (JAX); score = per-sample reconstruction error. It is the mean
    squared error by default (``loss``); higher = more anomalous.

    Parameters
    ----------
    hidden : encoder widths down to the code (mirrored by the decoder); None scales them
        with the input (:func:`~anobench.detectors.deep.networks.default_widths`:
        256-128-64-16-4, keeping widths below the feature count).
    activation : hidden activation, ``"leaky_relu"`` (slope 0.2), ``"relu"`` or ``"tanh"``;
        every hidden layer, the code included, has it.
    dropout : dropout rate after every hidden layer but the code (training only).
    output_activation : ``"linear"`` or ``"sigmoid"`` (for inputs scaled to [0, 1]).
    loss : reconstruction error used for training and scoring: ``"mse"`` or ``"msle"``
        (mean squared logarithmic error as Keras computes it).
    epochs, batch_size, learning_rate : Adam training; see :mod:`..training` for batches.
    weight_decay : AdamW decoupled weight decay (0 = plain Adam).
    n_seeds : independent models trained together (vmap); the score is their mean.
    standardize : z-score features with statistics of the training data.
    """

    name = "ae"

    def __init__(
        self,
        hidden: tuple[int, ...] | None = None,
        activation: str = "leaky_relu",
        dropout: float = 0.0,
        output_activation: str = "linear",
        loss: str = "mse",
        epochs: int = 100,
        batch_size: int = 128,
        learning_rate: float = 1e-3,
        weight_decay: float = 0.0,
        n_seeds: int = 1,
        standardize: bool = True,
        random_state: int | None = None,
    ) -> None:
        self.hidden = hidden
        self.activation = activation
        self.dropout = dropout
        self.output_activation = output_activation
        self.loss = loss
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.n_seeds = n_seeds
        self.standardize = standardize
        self.random_state = random_state

    functions = AE_FUNCTIONS

    def config(self) -> AEConfig:
        n_features = self.n_features_in_
        widths = tuple(self.hidden) if self.hidden else default_widths(n_features)
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}"
            )
        if self.output_activation not in OUTPUTS:
            raise ValueError(
                f"output_activation must be one of {sorted(OUTPUTS)}, "
                f"got {self.output_activation!r}"
            )
        if self.loss not in ERRORS:
            raise ValueError(f"loss must be one of {list(ERRORS)}, got {self.loss!r}")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        return AEConfig(
            n_features,
            widths,
            Optim(self.learning_rate, self.weight_decay),
            self.activation,
            float(self.dropout),
            self.output_activation,
            self.loss,
        )

    def _fit(self, X: np.ndarray) -> None:
        self.config()  # bad options fail before any compilation
        super()._fit(X)

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        return {"hidden": (16, 3), "epochs": 60, "batch_size": 64, "learning_rate": 3e-3}


class CAE(Reconstructor):
    """Convolutional autoencoder for images (JAX); score = per-image mean squared
    reconstruction error.

    Conv(32, 3x3, stride 2) -> Conv(64, 3x3, stride 2) -> Dense(``code``) and transposed
    convolutions back (sub-pixel form; LeakyReLU 0.2; see
    :class:`~anobench.detectors.deep.networks.Conv`). Images are zero-padded to a multiple of 4 in
    height and width; the error is taken over the original pixels. Input: (n, height,
    width) (one channel) or (n, height, width, channels); flat rows (tabular data, series
    windows) are
    refused — use ``ae`` there.
    """

    name = "cae"
    modalities: ClassVar[tuple[str, ...]] = ("image",)
    image_input = True

    def __init__(
        self,
        code: int = 16,
        filters: tuple[int, int] = (32, 64),
        epochs: int = 30,
        batch_size: int = 128,
        learning_rate: float = 1e-3,
        weight_decay: float = 0.0,
        n_seeds: int = 1,
        standardize: bool = False,
        random_state: int | None = None,
    ) -> None:
        self.code = code
        self.filters = filters
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.n_seeds = n_seeds
        self.standardize = standardize
        self.random_state = random_state

    def _check_input(self, X: Any, *, reset: bool) -> np.ndarray:
        ndim = np.ndim(X)
        if ndim not in (3, 4):
            raise ValueError(
                f"cae needs images of shape (n, height, width[, channels]); got shape "
                f"{np.shape(X)}. Use `ae` for tabular rows or series windows."
            )
        if ndim == 3:  # one channel
            X = np.asarray(X)[..., None]
        return super()._check_input(X, reset=reset)

    def _image_shape(self) -> tuple[int, int, int]:
        h, w, c = self.input_shape_
        return (h, w, c)

    def _padded_shape(self) -> tuple[int, int, int]:
        h, w, c = self._image_shape()
        return (-(-h // 4) * 4, -(-w // 4) * 4, c)

    def _model_input(self, X2: np.ndarray) -> np.ndarray:
        h, w, c = self._image_shape()
        ph, pw, _ = self._padded_shape()
        images = np.asarray(X2, dtype=np.float32).reshape(-1, h, w, c)
        return np.pad(images, ((0, 0), (0, ph - h), (0, pw - w), (0, 0)))

    def _from_model_output(self, out: np.ndarray) -> np.ndarray:
        h, w, _ = self._image_shape()
        return out[:, :h, :w, :].reshape(out.shape[0], -1)

    functions = CAE_FUNCTIONS

    def config(self) -> CAEConfig:
        optim = Optim(self.learning_rate, self.weight_decay)
        filters = (int(self.filters[0]), int(self.filters[1]))
        return CAEConfig(self._image_shape(), self._padded_shape(), self.code, filters, optim)

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        return {
            "code": 8,
            "filters": (8, 16),
            "epochs": 40,
            "batch_size": 64,
            "learning_rate": 3e-3,
        }
