"""Variational autoencoder ``vae`` (JAX): score = negative ELBO (higher = more anomalous,
lower evidence)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

from anobench.detectors.deep.base import Reconstructor
from anobench.detectors.deep.networks import VAE as VAENet  # noqa: N811
from anobench.detectors.deep.networks import default_widths
from anobench.detectors.deep.training import (
    ModelFunctions,
    Optim,
    TrainState,
    masked_mean,
    new_state,
)

__all__ = ["VAE", "VAE_FUNCTIONS", "VAEConfig", "neg_elbo"]


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
    Others as in :class:`~anobench.detectors.deep.autoencoders.AE`.
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
