"""One-class Deep SVDD (Ruff et al., 2018): a bias-free network maps normal data close to
a fixed centre; score = squared distance to the centre (higher = more anomalous)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from anobench.detectors.deep.base import DeepDetector
from anobench.detectors.deep.networks import MLP
from anobench.detectors.deep.training import (
    ModelFunctions,
    Optim,
    TrainingError,
    TrainState,
    masked_mean,
    new_state,
)

__all__ = ["SVDD_FUNCTIONS", "DeepSVDD", "SVDDConfig", "svdd_init", "svdd_loss", "svdd_score"]


@dataclass(frozen=True)
class SVDDConfig:
    """A bias-free dense network of ``widths`` (the last is the embedding size)."""

    widths: tuple[int, ...]
    eps: float
    optim: Optim

    def network(self) -> MLP:
        return MLP(self.widths, use_bias=False)


def svdd_init(
    cfg: SVDDConfig, key: jax.Array, X: jax.Array, weights: jax.Array, _: Any
) -> TrainState:
    """Parameters, and the centre (frozen): the untrained network's mean embedding of
    the real rows, coordinates below ``eps`` in magnitude pushed to ``+-eps``."""
    net = cfg.network()
    params = net.init(key, X[:1])
    centre = weights @ net.apply(params, X) / jnp.sum(weights)
    eps = cfg.eps
    centre = jnp.where(jnp.abs(centre) < eps, jnp.where(centre < 0, -eps, eps), centre)
    return new_state(cfg.optim, params, frozen=centre)


def svdd_score(
    cfg: SVDDConfig, params: Any, centre: jax.Array, x: jax.Array, key: jax.Array
) -> jax.Array:
    """(b,) squared distance of the embedding to the centre."""
    return jnp.sum((cfg.network().apply(params, x) - centre) ** 2, axis=1)


def svdd_loss(
    cfg: SVDDConfig, params: Any, centre: Any, xb: jax.Array, mask: jax.Array, key: jax.Array
) -> jax.Array:
    return masked_mean(svdd_score(cfg, params, centre, xb, key), mask)


SVDD_FUNCTIONS = ModelFunctions("deepsvdd", svdd_init, svdd_score, loss=svdd_loss)


class DeepSVDD(DeepDetector):
    """One-class Deep SVDD (JAX); score = squared distance of the embedding to the centre.

    Guards against the trivial solution (every input mapped to the centre): the network
    has no bias terms, LeakyReLU keeps it unbounded, and the centre ``c`` is fixed from
    the untrained network's mean embedding of the training data (coordinates with
    ``|c| < eps`` are pushed to ``+-eps``). A model whose training embeddings still end up
    all equal raises :class:`~anobench.detectors.deep.training.TrainingError`.

    Parameters
    ----------
    hidden : widths of the bias-free network; the last is the embedding size.
    eps : minimum magnitude of each centre coordinate.
    weight_decay : AdamW weight decay (the paper's L2 term; the network has no biases).
    Others as in :class:`~anobench.detectors.deep.autoencoders.AE`.
    """

    name = "deepsvdd"

    def __init__(
        self,
        hidden: tuple[int, ...] = (64, 32),
        eps: float = 0.1,
        epochs: int = 100,
        batch_size: int = 128,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-6,
        n_seeds: int = 1,
        standardize: bool = True,
        random_state: int | None = None,
    ) -> None:
        self.hidden = hidden
        self.eps = eps
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.n_seeds = n_seeds
        self.standardize = standardize
        self.random_state = random_state

    functions = SVDD_FUNCTIONS

    def config(self) -> SVDDConfig:
        optim = Optim(self.learning_rate, self.weight_decay)
        return SVDDConfig(tuple(self.hidden), float(self.eps), optim)

    def _fit(self, X: np.ndarray) -> None:
        super()._fit(X)
        self._check_collapse(X)

    def _check_collapse(self, X: np.ndarray) -> None:
        spread = np.ptp(self.scores_per_model(X, validated=True), axis=1)
        if np.any(spread <= 1e-12):
            raise TrainingError(
                "Deep SVDD collapsed: every training row maps to the same point "
                "(try fewer epochs, a larger eps or weight_decay)"
            )

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        return {"hidden": (32, 8), "epochs": 60, "batch_size": 64, "learning_rate": 3e-3}
