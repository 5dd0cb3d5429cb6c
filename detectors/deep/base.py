"""What the deep detectors share: parameters, input handling, seed-batched training and
chunked, compiled scoring."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from anobench.detectors.base import BaseDetector
from anobench.detectors.deep.training import (
    Init,
    Step,
    TrainResult,
    enable_persistent_cache,
    resolve_seed,
    seed_keys,
    train,
)

#: (one model's state, X (b, ...), key) -> (b,) scores, higher = more anomalous
ScoreFn = Callable[[Any, jax.Array, jax.Array], jax.Array]

#: rows scored per compiled call
SCORE_CHUNK = 4096

_SCORERS: dict[Hashable, Any] = {}


class DeepDetector(BaseDetector):
    """Base of the JAX detectors.

    Subclasses set the usual parameters (``epochs``, ``batch_size``, ``learning_rate``,
    ``n_seeds``, ``standardize``, ``random_state``) and implement :meth:`_programs`
    (initialise + step) and :meth:`_score_one`. ``n_seeds`` > 1 trains that many
    independent models in one vmapped program; the score is their mean.

    Fitted attributes: ``state_`` (trained pytree, leading axis ``n_seeds``),
    ``loss_history_`` (n_seeds, epochs), ``seed_`` (the integer seed used),
    ``compile_seconds_`` (the runner records it) and ``train_seconds_``,
    ``input_shape_`` (one sample's shape).
    """

    family: ClassVar[str] = "deep"
    requires: ClassVar[tuple[str, ...]] = ("numpy", "jax", "jaxlib", "flax", "optax")
    #: True when the network needs the samples' own shape (images), not flat rows
    image_input: ClassVar[bool] = False

    epochs: int
    batch_size: int
    learning_rate: float
    n_seeds: int
    random_state: int | None

    # -- input ------------------------------------------------------------------------
    def _check_input(self, X: Any, *, reset: bool) -> np.ndarray:
        shape = tuple(np.shape(X)[1:])
        if reset:
            self.input_shape_ = shape
        elif self.image_input and shape != self.input_shape_:
            raise ValueError(
                f"{type(self).__name__} was fitted on samples of shape {self.input_shape_}, "
                f"got {shape}"
            )
        return super()._check_input(X, reset=reset)

    def _model_input(self, X2: np.ndarray) -> np.ndarray:
        """(n, features) validated rows -> the array the network takes, float32."""
        return np.asarray(X2, dtype=np.float32)

    def _model_shape(self) -> tuple[int, ...]:
        """Shape of one sample as the network takes it (flat rows unless overridden)."""
        return (self.n_features_in_,)

    def _program_key(self) -> Hashable:
        params = {
            k: v for k, v in self.get_params().items() if k not in {"random_state", "n_seeds"}
        }
        return (type(self).__qualname__, self.input_shape_, repr(sorted(params.items())))

    # -- to implement -----------------------------------------------------------------
    def _programs(self, shape: tuple[int, ...]) -> tuple[Init, Step]:
        """``(init, step)`` for one model on samples of ``shape``."""
        raise NotImplementedError

    def _score_one(self, shape: tuple[int, ...]) -> ScoreFn:
        raise NotImplementedError

    @classmethod
    def warm_up(cls) -> None:
        """Only set up the persistent compilation cache: an XLA program is specific to its
        shapes, so a fit on tiny data compiled programs no real cell reuses (14-23 s per
        worker in a cold quick run). A cell's own compilation is measured apart from its
        training (``compile_seconds``)."""
        enable_persistent_cache()

    # -- training and scoring ----------------------------------------------------------
    def _fit(self, X: np.ndarray) -> None:
        data = self._model_input(X)
        self.seed_ = resolve_seed(self.random_state)
        self._record(self._train(data, seed_keys(self.seed_, self.n_seeds)))

    def _train(self, data: np.ndarray, keys: jax.Array) -> TrainResult:
        init, step = self._programs(self._model_shape())
        return train(
            self._program_key(),
            init,
            step,
            data,
            keys,
            epochs=self.epochs,
            batch_size=self.batch_size,
        )

    def _record(self, result: TrainResult, *more: TrainResult) -> None:
        results = (result, *more)
        self.state_ = results[-1].state
        self.loss_history_ = result.losses
        self.compile_seconds_ = sum(r.compile_seconds for r in results)
        self.train_seconds_ = sum(r.train_seconds for r in results)

    def _score(self, X: np.ndarray) -> np.ndarray:
        per_model = self.scores_per_model(X, validated=True)
        return per_model.mean(axis=0)

    def scores_per_model(self, X: Any, *, validated: bool = False) -> np.ndarray:
        """Scores of each of the ``n_seeds`` models, shape (n_seeds, n), higher = more
        anomalous (``anomaly_score`` is their mean over models)."""
        if not validated:
            X = self._validated(X)
        fn = self._compiled(
            ("score", self._program_key()), lambda: self._score_one(self._model_shape())
        )
        data = self._model_input(X)
        return self._chunked(fn, (self.state_, self._keys()), data)

    def _keys(self) -> jax.Array:
        """(n_seeds,) keys for sampling at scoring time (fixed by the fit's seed)."""
        return jax.vmap(lambda k: jax.random.fold_in(k, 1))(seed_keys(self.seed_, self.n_seeds))

    def _validated(self, X: Any) -> np.ndarray:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "is_fitted_")
        X2 = self._check_input(X, reset=False)
        if getattr(self, "standardize", False):
            X2 = self.scaler_.transform(X2)
        return X2

    @staticmethod
    def _compiled(key: Hashable, build: Callable[[], Callable[..., jax.Array]]) -> Any:
        fn = _SCORERS.get(key)
        if fn is None:
            one = build()

            def per_model(state: Any, keys: jax.Array, x: jax.Array) -> jax.Array:
                if keys.shape[0] == 1:  # no batch-of-one matmuls (slower on CPU)
                    return one(jax.tree.map(lambda a: a[0], state), x, keys[0])[None]
                return jax.vmap(one, in_axes=(0, None, 0))(state, x, keys)

            fn = jax.jit(per_model)
            _SCORERS[key] = fn
        return fn

    @staticmethod
    def _chunked(fn: Any, args: tuple[Any, ...], data: np.ndarray) -> np.ndarray:
        """Apply ``fn(*args, chunk)`` to fixed-size chunks of ``data`` (the last one padded,
        so one compiled shape serves all) and join the (models, rows, ...) outputs."""
        n = data.shape[0]
        size = min(SCORE_CHUNK, 1 << max(0, (n - 1).bit_length()))
        parts = []
        for start in range(0, n, size):
            chunk = data[start : start + size]
            rows = chunk.shape[0]
            if rows < size:
                chunk = np.concatenate([chunk, np.repeat(chunk[-1:], size - rows, axis=0)])
            parts.append(np.asarray(fn(*args, jnp.asarray(chunk)))[:, :rows])
        return np.concatenate(parts, axis=1).astype(np.float64)


class Reconstructor(DeepDetector):
    """A detector whose networks reconstruct their input and have a latent code.

    :meth:`reconstruct` and :meth:`encode` use the first of the ``n_seeds`` models and
    serve the report's reconstruction grids and latent-space plots.
    """

    def _reconstruct_one(self, shape: tuple[int, ...]) -> ScoreFn:
        raise NotImplementedError

    def _encode_one(self, shape: tuple[int, ...]) -> ScoreFn:
        raise NotImplementedError

    def reconstruct(self, X: Any) -> np.ndarray:
        """Reconstructions of ``X`` in the input's units and shape ``(n, *sample shape)``."""
        X2 = self._validated(X)
        fn = self._compiled(
            ("rec", self._program_key()), lambda: self._reconstruct_one(self._model_shape())
        )
        out = self._chunked(fn, (self.state_, self._keys()), self._model_input(X2))[0]
        out = self._from_model_output(out)
        if getattr(self, "standardize", False):
            out = self.scaler_.inverse_transform(out)
        return out.reshape((-1, *self.input_shape_))

    def encode(self, X: Any) -> np.ndarray:
        """Latent codes of ``X``, shape (n, code size) (the posterior mean for the VAE)."""
        X2 = self._validated(X)
        fn = self._compiled(
            ("enc", self._program_key()), lambda: self._encode_one(self._model_shape())
        )
        return self._chunked(fn, (self.state_, self._keys()), self._model_input(X2))[0]

    def _from_model_output(self, out: np.ndarray) -> np.ndarray:
        """Network output (n, ...) -> flat rows (n, features)."""
        return out.reshape(out.shape[0], -1)
