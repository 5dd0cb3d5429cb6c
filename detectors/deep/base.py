"""What the deep detectors share: parameters, input handling, seed-batched training and
chunked, compiled scoring."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from anobench.contract import BaseDetector
from anobench.detectors.deep.programs import (
    COMPILER_OPTIONS,
    PROGRAMS,
    clear_cache,
    compiler_options,
    enable_persistent_cache,
    options_key,
)
from anobench.detectors.deep.training import (
    Apply,
    ModelFunctions,
    TrainResult,
    resolve_seed,
    seed_keys,
    train,
)
from anobench.execution import compile_clock

__all__ = ["SCORE_CHUNK", "DeepDetector", "Reconstructor"]

#: rows scored per compiled call: one scoring program per model, whatever the row count
SCORE_CHUNK = 1024


class DeepDetector(BaseDetector):
    """Base of the JAX detectors.

    Subclasses set the usual parameters (``epochs``, ``batch_size``, ``learning_rate``,
    ``n_seeds``, ``standardize``, ``random_state``), name their model's pure functions
    (:attr:`functions`) and build its frozen config from the parameters and the input
    shape (:meth:`config`); the compiled programs are shared by every detector with an
    equal config. ``n_seeds`` > 1 trains that many independent models in one vmapped
    program; the score is their mean.

    Fitted attributes: ``state_`` (trained pytree, leading axis ``n_seeds``),
    ``loss_history_`` (n_seeds, epochs), ``seed_`` (the integer seed used),
    ``compile_seconds_`` (the runner records it) and ``train_seconds_``,
    ``input_shape_`` (one sample's shape).
    """

    family: ClassVar[str] = "deep"
    requires: ClassVar[tuple[str, ...]] = ("numpy", "jax", "jaxlib", "flax", "optax")
    #: True when the network needs the samples' own shape (images), not flat rows
    image_input: ClassVar[bool] = False
    #: the model's pure init / loss / score functions
    functions: ClassVar[ModelFunctions]

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

    # -- to implement -----------------------------------------------------------------
    def config(self) -> Any:
        """The frozen, hashable config of the fitted input's model (sizes, optimiser, loss
        settings): everything the compiled programs depend on besides the shapes."""
        raise NotImplementedError

    @staticmethod
    def xla_options() -> dict[str, Any] | None:
        """The XLA options deep programs are compiled with on the default backend."""
        return compiler_options()

    @staticmethod
    @contextlib.contextmanager
    def compiling_with(options: dict[str, Any]) -> Iterator[None]:
        """Compile every deep program inside the block with ``options`` on the default
        backend, from an empty in-process program cache (benchmarks:
        ``anobench perf compile``); the library's options are restored after."""
        backend = jax.default_backend()
        saved = dict(COMPILER_OPTIONS)
        COMPILER_OPTIONS[backend] = options
        clear_cache()
        try:
            yield
        finally:
            COMPILER_OPTIONS.clear()
            COMPILER_OPTIONS.update(saved)
            clear_cache()

    @classmethod
    def warm_up(cls) -> None:
        """Only set up the persistent compilation cache: an XLA program is specific to its
        shapes, so a fit on tiny data compiled programs no real cell reuses (14-23 s per
        worker in a cold quick run). A cell's own compilation is measured apart from its
        training (``compile_seconds``)."""
        compile_clock.install()
        enable_persistent_cache()

    # -- training and scoring ----------------------------------------------------------
    def _fit(self, X: np.ndarray) -> None:
        data = self._model_input(X)
        self.seed_ = resolve_seed(self.random_state)
        self._record(self._train(data, seed_keys(self.seed_, self.n_seeds)))

    def _train(self, data: np.ndarray, keys: jax.Array) -> TrainResult:
        return train(
            self.functions,
            self.config(),
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
        data = self._model_input(X)
        return self._apply(self.functions.score, data)

    def _apply(self, fn: Apply | None, data: np.ndarray) -> np.ndarray:
        """``fn`` of every model on ``data`` (in the network's input form), in chunks:
        (n_seeds, n, ...)."""
        if fn is None:
            raise NotImplementedError(f"{type(self).__name__} has no such function")
        compiled = PROGRAMS.get(
            ("apply", self.functions, fn, self.config(), options_key()), lambda: _per_model(fn)
        )
        return self._chunked(compiled, (self.config(), self.state_, self._keys()), data)

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
    def _chunked(fn: Any, args: tuple[Any, ...], data: np.ndarray) -> np.ndarray:
        """Apply ``fn(*args, chunk)`` to chunks of :data:`SCORE_CHUNK` rows of ``data``
        (the last one padded, so one compiled shape serves every row count) and join the
        (models, rows, ...) outputs."""
        n = data.shape[0]
        size = SCORE_CHUNK
        parts = []
        for start in range(0, n, size):
            chunk = data[start : start + size]
            rows = chunk.shape[0]
            if rows < size:
                chunk = np.concatenate([chunk, np.repeat(chunk[-1:], size - rows, axis=0)])
            parts.append(np.asarray(fn(*args, jnp.asarray(chunk)))[:, :rows])
        return np.concatenate(parts, axis=1).astype(np.float64)


def _per_model(fn: Apply) -> Any:
    """``fn`` jitted over the models: (config, states, keys, X) -> (n_seeds, b, ...)."""

    def per_model(config: Any, state: Any, keys: jax.Array, x: jax.Array) -> jax.Array:
        if keys.shape[0] == 1:  # no batch-of-one matmuls (slower on CPU)
            one = jax.tree.map(lambda a: a[0], state)
            return fn(config, one.params, one.frozen, x, keys[0])[None]
        return jax.vmap(lambda s, k: fn(config, s.params, s.frozen, x, k))(state, keys)

    return jax.jit(per_model, static_argnums=0, compiler_options=compiler_options())


class Reconstructor(DeepDetector):
    """A detector whose networks reconstruct their input and have a latent code.

    :meth:`reconstruct` and :meth:`encode` use the first of the ``n_seeds`` models and
    serve the report's reconstruction grids and latent-space plots.
    """

    def reconstruct(self, X: Any) -> np.ndarray:
        """Reconstructions of ``X`` in the input's units and shape ``(n, *sample shape)``."""
        X2 = self._validated(X)
        out = self._apply(self.functions.reconstruct, self._model_input(X2))[0]
        out = self._from_model_output(out)
        if getattr(self, "standardize", False):
            out = self.scaler_.inverse_transform(out)
        return out.reshape((-1, *self.input_shape_))

    def encode(self, X: Any) -> np.ndarray:
        """Latent codes of ``X``, shape (n, code size) (the posterior mean for the VAE)."""
        X2 = self._validated(X)
        return self._apply(self.functions.encode, self._model_input(X2))[0]

    def _from_model_output(self, out: np.ndarray) -> np.ndarray:
        """Network output (n, ...) -> flat rows (n, features)."""
        return out.reshape(out.shape[0], -1)
