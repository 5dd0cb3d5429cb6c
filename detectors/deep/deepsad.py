"""Deep SAD (Ruff et al., 2020): Deep SVDD with a term for labelled rows. Unlabelled and
labelled-normal rows are pulled towards the centre, labelled anomalies pushed away
(their inverse distance is penalised), so a few labelled anomalies shape the embedding;
score = squared distance to the centre (higher = more anomalous).

It is trained by the shared training routine: each row's label travels as an extra last
column of the training array, so the routine's shuffling keeps it with its row, and the
loss splits it off. Scoring takes the features alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from anobench.detectors.deep.deepsvdd import DeepSVDD, SVDDConfig, svdd_init, svdd_score
from anobench.detectors.deep.training import (
    ModelFunctions,
    Optim,
    TrainState,
    masked_mean,
    resolve_seed,
    seed_keys,
)

__all__ = ["SAD_FUNCTIONS", "DeepSAD", "SADConfig", "sad_init", "sad_loss"]


@dataclass(frozen=True)
class SADConfig(SVDDConfig):
    """Deep SVDD's network, plus ``eta``: the weight of the labelled rows' term."""

    eta: float = 1.0


def sad_init(
    cfg: SADConfig, key: jax.Array, X: jax.Array, weights: jax.Array, context: Any
) -> TrainState:
    """Deep SVDD's initialisation on the features, the centre from the rows that are not
    labelled anomalies (label column last: 1 anomaly, 0 normal, -1 unlabelled)."""
    features, labels = X[:, :-1], X[:, -1]
    return svdd_init(cfg, key, features, weights * (labels != 1), context)


def sad_loss(
    cfg: SADConfig, params: Any, centre: Any, xb: jax.Array, mask: jax.Array, key: jax.Array
) -> jax.Array:
    """Mean over the batch of: the squared distance d (unlabelled rows), ``eta * d``
    (labelled normals) and ``eta / (d + 1e-6)`` (labelled anomalies)."""
    features, labels = xb[:, :-1], xb[:, -1]
    d = svdd_score(cfg, params, centre, features, key)
    term = jnp.where(labels == 1, cfg.eta / (d + 1e-6), jnp.where(labels == 0, cfg.eta * d, d))
    return masked_mean(term, mask)


SAD_FUNCTIONS = ModelFunctions("deepsad", sad_init, svdd_score, loss=sad_loss)


class DeepSAD(DeepSVDD):
    """Deep SAD (JAX): Deep SVDD with labelled anomalies pushed away from the centre;
    score = squared distance of the embedding to the centre. Uses labels: runs under the
    ``semi-supervised`` protocol only.

    Parameters
    ----------
    eta : weight of the labelled rows' term (the paper's default 1).
    Others as in :class:`~anobench.detectors.deep.deepsvdd.DeepSVDD`.
    """

    name = "deepsad"
    uses_labels: ClassVar[bool] = True
    functions = SAD_FUNCTIONS

    def __init__(
        self,
        hidden: tuple[int, ...] = (64, 32),
        eta: float = 1.0,
        eps: float = 0.1,
        epochs: int = 100,
        batch_size: int = 128,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-6,
        n_seeds: int = 1,
        standardize: bool = True,
        random_state: int | None = None,
    ) -> None:
        super().__init__(
            hidden=hidden,
            eps=eps,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            n_seeds=n_seeds,
            standardize=standardize,
            random_state=random_state,
        )
        self.eta = eta

    def config(self) -> SADConfig:
        optim = Optim(self.learning_rate, self.weight_decay)
        return SADConfig(tuple(self.hidden), float(self.eps), optim, float(self.eta))

    def _fit_labelled(self, X: np.ndarray, y: np.ndarray) -> None:
        data = self._model_input(X)
        rows = data.reshape(len(data), -1)
        with_labels = np.concatenate([rows, y[:, None].astype(rows.dtype)], axis=1)
        self.seed_ = resolve_seed(self.random_state)
        self._record(self._train(with_labels, seed_keys(self.seed_, self.n_seeds)))
        self._check_collapse(X)

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        return {**super().test_params(), "eta": 1.0}
