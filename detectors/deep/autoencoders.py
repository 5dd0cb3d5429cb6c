"""Reconstruction models: dense autoencoder ``ae``, variational autoencoder ``vae`` and
convolutional autoencoder ``cae``. Higher scores = more anomalous (worse reconstruction,
or lower evidence)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from anobench.detectors.deep.base import Reconstructor
from anobench.detectors.deep.networks import VAE as VAENet  # noqa: N811
from anobench.detectors.deep.networks import ConvAE, DenseAE, default_widths
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
    "VAE",
    "VAE_FUNCTIONS",
    "AEConfig",
    "CAEConfig",
    "VAEConfig",
    "neg_elbo",
]


def _flat_mse(x: jax.Array, y: jax.Array) -> jax.Array:
    """Per-sample mean squared difference over all non-batch axes: (b, ...) -> (b,)."""
    return jnp.mean(jnp.reshape((x - y) ** 2, (x.shape[0], -1)), axis=1)


# -- dense autoencoder ----------------------------------------------------------------
@dataclass(frozen=True)
class AEConfig:
    """A dense autoencoder on ``n_features`` inputs with encoder ``widths``."""

    n_features: int
    widths: tuple[int, ...]
    optim: Optim

    def network(self) -> DenseAE:
        return DenseAE(self.n_features, self.widths)


def ae_init(cfg: AEConfig, key: jax.Array, X: jax.Array, weights: jax.Array, _: Any) -> TrainState:
    return new_state(cfg.optim, cfg.network().init(key, X[:1]))


def ae_loss(
    cfg: AEConfig, params: Any, _: Any, xb: jax.Array, mask: jax.Array, key: jax.Array
) -> jax.Array:
    return masked_mean(ae_score(cfg, params, None, xb, key), mask)


def ae_score(cfg: AEConfig, params: Any, _: Any, x: jax.Array, key: jax.Array) -> jax.Array:
    """(b,) mean squared reconstruction error."""
    return _flat_mse(cfg.network().apply(params, x), x)


def ae_reconstruct(cfg: AEConfig, params: Any, _: Any, x: jax.Array, key: jax.Array) -> jax.Array:
    return cfg.network().apply(params, x)


def ae_encode(cfg: AEConfig, params: Any, _: Any, x: jax.Array, key: jax.Array) -> jax.Array:
    return cfg.network().apply(params, x, method=lambda m, v: m.encoder(v))


AE_FUNCTIONS = ModelFunctions(
    "ae", ae_init, ae_score, loss=ae_loss, reconstruct=ae_reconstruct, encode=ae_encode
)


# -- variational autoencoder ----------------------------------------------------------
@dataclass(frozen=True)
class VAEConfig:
    """A Gaussian VAE; ``n_samples`` posterior draws per scored row."""

    n_features: int
    widths: tuple[int, ...]
    latent: int
    n_samples: int
    optim: Optim

    def network(self) -> VAENet:
        return VAENet(self.n_features, self.widths, self.latent)


def neg_elbo(
    cfg: VAEConfig, params: Any, x: jax.Array, keys: jax.Array, *, per_row: bool = True
) -> jax.Array:
    """(b,) negative ELBO, averaging the reconstruction term over ``keys``.

    ``per_row``: independent noise per row (training); False shares each draw across
    rows (scoring), so a row's score is independent of the batch."""
    net = cfg.network()
    mean, log_var = net.apply(params, x, method=VAENet.encode)
    kl = -0.5 * jnp.sum(1.0 + log_var - mean**2 - jnp.exp(log_var), axis=1)
    noise_shape = mean.shape if per_row else mean.shape[1:]

    def reconstruction(key: jax.Array) -> jax.Array:
        z = mean + jnp.exp(0.5 * log_var) * jax.random.normal(key, noise_shape)
        x_hat = net.apply(params, z, method=VAENet.decode)
        return 0.5 * jnp.sum((x - x_hat) ** 2, axis=1)

    return jnp.mean(jax.vmap(reconstruction)(keys), axis=0) + kl


def vae_init(
    cfg: VAEConfig, key: jax.Array, X: jax.Array, weights: jax.Array, _: Any
) -> TrainState:
    return new_state(cfg.optim, cfg.network().init(key, X[:1], key))


def vae_loss(
    cfg: VAEConfig, params: Any, _: Any, xb: jax.Array, mask: jax.Array, key: jax.Array
) -> jax.Array:
    return masked_mean(neg_elbo(cfg, params, xb, key[None]), mask)


def vae_score(cfg: VAEConfig, params: Any, _: Any, x: jax.Array, key: jax.Array) -> jax.Array:
    """(b,) negative ELBO over ``n_samples`` draws shared by all rows."""
    return neg_elbo(cfg, params, x, jax.random.split(key, cfg.n_samples), per_row=False)


def vae_reconstruct(cfg: VAEConfig, params: Any, _: Any, x: jax.Array, key: jax.Array) -> jax.Array:
    net = cfg.network()
    mean, _ = net.apply(params, x, method=VAENet.encode)
    return net.apply(params, mean, method=VAENet.decode)


def vae_encode(cfg: VAEConfig, params: Any, _: Any, x: jax.Array, key: jax.Array) -> jax.Array:
    return cfg.network().apply(params, x, method=VAENet.encode)[0]


VAE_FUNCTIONS = ModelFunctions(
    "vae", vae_init, vae_score, loss=vae_loss, reconstruct=vae_reconstruct, encode=vae_encode
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
    """Dense autoencoder (JAX); score = per-sample mean squared reconstruction error.

    Parameters
    ----------
    hidden : encoder widths down to the code (mirrored by the decoder); None scales them
        with the input (:func:`~anobench.detectors.deep.networks.default_widths`:
        256-128-64-16-4, keeping widths below the feature count). LeakyReLU(0.2).
    epochs, batch_size, learning_rate : Adam training; see :mod:`..training` for batches.
    weight_decay : AdamW decoupled weight decay (0 = plain Adam).
    n_seeds : independent models trained together (vmap); the score is their mean.
    standardize : z-score features with statistics of the training data.
    """

    name = "ae"

    def __init__(
        self,
        hidden: tuple[int, ...] | None = None,
        epochs: int = 100,
        batch_size: int = 128,
        learning_rate: float = 1e-3,
        weight_decay: float = 0.0,
        n_seeds: int = 1,
        standardize: bool = True,
        random_state: int | None = None,
    ) -> None:
        self.hidden = hidden
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
        return AEConfig(n_features, widths, Optim(self.learning_rate, self.weight_decay))

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        return {"hidden": (16, 3), "epochs": 60, "batch_size": 64, "learning_rate": 3e-3}


class VAE(Reconstructor):
    """Variational autoencoder (JAX); score = negative ELBO, estimated with
    ``n_samples`` posterior samples.

    Gaussian prior N(0, I), diagonal Gaussian posterior (reparameterised), unit-variance
    Gaussian likelihood: per sample, ``-ELBO = 0.5 * ||x - decode(z)||^2 + KL(q(z|x) ||
    p(z))`` up to a constant shared by all samples. Training uses one posterior sample per
    row and step; scoring averages the reconstruction term over ``n_samples`` draws (fixed
    by ``random_state``, so scores are repeatable) with the KL term in closed form. The
    scoring draws are shared by all rows (common random numbers), so a row's score does
    not depend on which other rows are scored with it.

    Parameters
    ----------
    hidden : encoder hidden widths (decoder mirrors them); None: the
        :func:`~anobench.detectors.deep.networks.default_widths` ladder without its last
        entry, which becomes the latent size.
    latent : latent dimension (None: the last entry of the default ladder).
    n_samples : posterior samples per scored row.
    Others as in :class:`AE`.
    """

    name = "vae"

    def __init__(
        self,
        hidden: tuple[int, ...] | None = None,
        latent: int | None = None,
        n_samples: int = 10,
        epochs: int = 100,
        batch_size: int = 128,
        learning_rate: float = 1e-3,
        weight_decay: float = 0.0,
        n_seeds: int = 1,
        standardize: bool = True,
        random_state: int | None = None,
    ) -> None:
        self.hidden = hidden
        self.latent = latent
        self.n_samples = n_samples
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.n_seeds = n_seeds
        self.standardize = standardize
        self.random_state = random_state

    functions = VAE_FUNCTIONS

    def config(self) -> VAEConfig:
        n_features = self.n_features_in_
        ladder = default_widths(n_features)
        hidden = tuple(self.hidden) if self.hidden is not None else ladder[:-1]
        latent = self.latent or ladder[-1]
        optim = Optim(self.learning_rate, self.weight_decay)
        return VAEConfig(n_features, hidden, latent, self.n_samples, optim)

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        return {"hidden": (16,), "latent": 3, "epochs": 60, "batch_size": 64, "learning_rate": 3e-3}


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
