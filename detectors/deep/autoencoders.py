"""Reconstruction models: dense autoencoder ``ae``, variational autoencoder ``vae`` and
convolutional autoencoder ``cae``. Higher scores = more anomalous (worse reconstruction,
or lower evidence)."""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import optax

from anobench.detectors.deep.base import Reconstructor, ScoreFn
from anobench.detectors.deep.networks import VAE as VAENet  # noqa: N811
from anobench.detectors.deep.networks import ConvAE, DenseAE, default_widths
from anobench.detectors.deep.training import Init, Step, TrainState, gradient_step, masked_mean


def optimiser(learning_rate: float, weight_decay: float) -> optax.GradientTransformation:
    """Adam, or AdamW when ``weight_decay`` > 0."""
    if weight_decay:
        return optax.adamw(learning_rate, weight_decay=weight_decay)
    return optax.adam(learning_rate)


def _flat_mse(x: jax.Array, y: jax.Array) -> jax.Array:
    """Per-sample mean squared difference over all non-batch axes: (b, ...) -> (b,)."""
    return jnp.mean(jnp.reshape((x - y) ** 2, (x.shape[0], -1)), axis=1)


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

    def network(self, n_features: int) -> DenseAE:
        widths = tuple(self.hidden) if self.hidden else default_widths(n_features)
        return DenseAE(n_features, widths)

    def _programs(self, shape: tuple[int, ...]) -> tuple[Init, Step]:
        net = self.network(shape[0])
        tx = optimiser(self.learning_rate, self.weight_decay)

        def init(key: jax.Array, X: jax.Array, weights: jax.Array, context: Any) -> TrainState:
            params = net.init(key, X[:1])
            return TrainState(params, tx.init(params))

        def loss(
            params: Any, xb: jax.Array, mask: jax.Array, key: jax.Array, frozen: Any
        ) -> jax.Array:
            return masked_mean(_flat_mse(net.apply(params, xb), xb), mask)

        return init, gradient_step(loss, tx)

    def _score_one(self, shape: tuple[int, ...]) -> ScoreFn:
        net = self.network(shape[0])
        return lambda state, x, key: _flat_mse(net.apply(state.params, x), x)

    def _reconstruct_one(self, shape: tuple[int, ...]) -> ScoreFn:
        net = self.network(shape[0])
        return lambda state, x, key: net.apply(state.params, x)

    def _encode_one(self, shape: tuple[int, ...]) -> ScoreFn:
        net = self.network(shape[0])
        return lambda state, x, key: net.apply(state.params, x, method=lambda m, v: m.encoder(v))

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

    def network(self, n_features: int) -> VAENet:
        ladder = default_widths(n_features)
        hidden = tuple(self.hidden) if self.hidden is not None else ladder[:-1]
        latent = self.latent or ladder[-1]
        return VAENet(n_features, hidden, latent)

    @staticmethod
    def _neg_elbo(
        net: VAENet, params: Any, x: jax.Array, keys: jax.Array, *, per_row: bool = True
    ) -> jax.Array:
        """(b,) negative ELBO, averaging the reconstruction term over ``keys``.

        ``per_row``: independent noise per row (training); False shares each draw across
        rows (scoring), so a row's score is independent of the batch."""
        mean, log_var = net.apply(params, x, method=VAENet.encode)
        kl = -0.5 * jnp.sum(1.0 + log_var - mean**2 - jnp.exp(log_var), axis=1)
        noise_shape = mean.shape if per_row else mean.shape[1:]

        def reconstruction(key: jax.Array) -> jax.Array:
            z = mean + jnp.exp(0.5 * log_var) * jax.random.normal(key, noise_shape)
            x_hat = net.apply(params, z, method=VAENet.decode)
            return 0.5 * jnp.sum((x - x_hat) ** 2, axis=1)

        return jnp.mean(jax.vmap(reconstruction)(keys), axis=0) + kl

    def _programs(self, shape: tuple[int, ...]) -> tuple[Init, Step]:
        net = self.network(shape[0])
        tx = optimiser(self.learning_rate, self.weight_decay)

        def init(key: jax.Array, X: jax.Array, weights: jax.Array, context: Any) -> TrainState:
            params = net.init(key, X[:1], key)
            return TrainState(params, tx.init(params))

        def loss(
            params: Any, xb: jax.Array, mask: jax.Array, key: jax.Array, frozen: Any
        ) -> jax.Array:
            return masked_mean(self._neg_elbo(net, params, xb, key[None]), mask)

        return init, gradient_step(loss, tx)

    def _score_one(self, shape: tuple[int, ...]) -> ScoreFn:
        net = self.network(shape[0])
        n_samples = self.n_samples
        return lambda state, x, key: self._neg_elbo(
            net, state.params, x, jax.random.split(key, n_samples), per_row=False
        )

    def _reconstruct_one(self, shape: tuple[int, ...]) -> ScoreFn:
        net = self.network(shape[0])

        def reconstruct(state: Any, x: jax.Array, key: jax.Array) -> jax.Array:
            mean, _ = net.apply(state.params, x, method=VAENet.encode)
            return net.apply(state.params, mean, method=VAENet.decode)

        return reconstruct

    def _encode_one(self, shape: tuple[int, ...]) -> ScoreFn:
        net = self.network(shape[0])
        return lambda state, x, key: net.apply(state.params, x, method=VAENet.encode)[0]

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

    def _model_shape(self) -> tuple[int, ...]:
        return self._padded_shape()

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

    def network(self) -> ConvAE:
        return ConvAE(self._padded_shape(), self.code, (self.filters[0], self.filters[1]))

    def _error(self, net: ConvAE, params: Any, x: jax.Array) -> jax.Array:
        h, w, _ = self._image_shape()
        return _flat_mse(net.apply(params, x)[:, :h, :w], x[:, :h, :w])

    def _programs(self, shape: tuple[int, ...]) -> tuple[Init, Step]:
        net = self.network()
        tx = optimiser(self.learning_rate, self.weight_decay)

        def init(key: jax.Array, X: jax.Array, weights: jax.Array, context: Any) -> TrainState:
            params = net.init(key, X[:1])
            return TrainState(params, tx.init(params))

        def loss(
            params: Any, xb: jax.Array, mask: jax.Array, key: jax.Array, frozen: Any
        ) -> jax.Array:
            return masked_mean(self._error(net, params, xb), mask)

        return init, gradient_step(loss, tx)

    def _score_one(self, shape: tuple[int, ...]) -> ScoreFn:
        net = self.network()
        return lambda state, x, key: self._error(net, state.params, x)

    def _reconstruct_one(self, shape: tuple[int, ...]) -> ScoreFn:
        net = self.network()
        return lambda state, x, key: net.apply(state.params, x)

    def _encode_one(self, shape: tuple[int, ...]) -> ScoreFn:
        net = self.network()
        return lambda state, x, key: net.apply(state.params, x, method=ConvAE.encode)

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        return {
            "code": 8,
            "filters": (8, 16),
            "epochs": 40,
            "batch_size": 64,
            "learning_rate": 3e-3,
        }
