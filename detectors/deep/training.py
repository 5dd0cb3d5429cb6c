"""The one training routine every deep detector uses.

The whole training, epochs x mini-batches, is ONE jitted XLA program (two nested
``jax.lax.fori_loop``): the data are placed on the device once, each epoch draws a
permutation with ``jax.random``, and ``jax.vmap`` over PRNG keys trains ``n_seeds``
independent models in the same program.

One program per model shape, not per row count. The row count ``n`` and the number of
epochs are run-time arguments of the program; what is compiled in is the model's config,
the batch size and the *capacity*: the rows the program holds, at least
:data:`MIN_BATCHES` batches and otherwise the batch count rounded up to a power of two
(:func:`capacity`). So every fit of a configuration on data of one width (all seeds,
both protocols, the calibration's held-out fits, every data set of up to 16 batches of
rows) runs one compiled program, and larger sets share one per doubling.

Partial batches: an epoch runs ``ceil(n / batch_size)`` batches; the fewer than one
batch of empty slots after the ``n`` rows weigh 0 in the loss (``mask``) and each
epoch's permutation spreads them at random over its batches, so every row is seen
exactly once per epoch with weight 1, the data are never cut to a multiple of the batch
size, and the number of updates per epoch is that of plain mini-batch training. The
capacity beyond the used slots is never read.

A model is described by a frozen, hashable config (its sizes and :class:`Optim`) and a
:class:`ModelFunctions` of pure module-level functions that take the config first
(``init``, ``loss`` or a custom ``step``, ``score``, ...). Nothing closes over a detector
instance. Compiled programs live in :mod:`anobench.detectors.deep.programs` (in process,
keyed by ``(functions, config, loss buffer, shapes, XLA options)``, and in JAX's
persistent compilation cache between processes). Compile time is measured apart from
training.
Only ``TrainState.params`` is optimised; weight decay never applies to biases.

Reproducibility: the same seed, data, machine and thread count give bit-identical
parameters. Changing the number of CPU threads changes how XLA splits reductions, so
the bits (not the quality) change; and a model trained inside a ``vmap`` batch is not
bit-equal to the same seed trained alone (batched matmuls sum in another order).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from anobench.detectors.deep.programs import (
    PROGRAMS,
    compiler_options,
    enable_persistent_cache,
    options_key,
)
from anobench.execution import compile_clock

__all__ = [
    "MIN_BATCHES",
    "MIN_EPOCHS",
    "Apply",
    "Config",
    "Init",
    "Loss",
    "ModelFunctions",
    "Optim",
    "Step",
    "TrainResult",
    "TrainState",
    "TrainingError",
    "batch_layout",
    "capacity",
    "epoch_capacity",
    "masked_mean",
    "new_state",
    "optimiser",
    "resolve_seed",
    "seed_keys",
    "train",
]

logger = logging.getLogger(__name__)

#: a frozen, hashable dataclass describing one model (sizes, :class:`Optim`, ...)
Config = Hashable
#: (config, key, X (slots, ...), weights (slots,) 1 = real row / 0 = empty slot, context)
#: -> initial training state of one model
Init = Callable[[Any, jax.Array, jax.Array, jax.Array, Any], "TrainState"]
#: (config, params, frozen, x_batch, mask, key) -> scalar loss
Loss = Callable[[Any, Any, Any, jax.Array, jax.Array, jax.Array], jax.Array]
#: (config, state, x_batch, mask, key) -> (new state, masked mean loss of the batch)
Step = Callable[[Any, Any, jax.Array, jax.Array, jax.Array], tuple[Any, jax.Array]]
#: (config, params, frozen, X (b, ...), key) -> (b, ...) scores or outputs of one model
Apply = Callable[[Any, Any, Any, jax.Array, jax.Array], jax.Array]


class TrainingError(RuntimeError):
    """Training produced an unusable model (loss became NaN/inf, or collapsed)."""


class TrainState(NamedTuple):
    """Parameters being trained, their optimiser state and frozen inputs (a pytree).
    Only ``params`` is optimised; ``frozen`` (a centre, a frozen network) is carried."""

    params: Any
    opt_state: Any
    frozen: Any = None


@dataclass(frozen=True)
class Optim:
    """Adam settings: AdamW (decoupled weight decay, biases excluded) when
    ``weight_decay`` > 0."""

    learning_rate: float
    weight_decay: float = 0.0
    b1: float = 0.9
    b2: float = 0.999


def _decay_mask(params: Any) -> Any:
    """True for every leaf but biases (flax names them ``bias``)."""
    return jax.tree_util.tree_map_with_path(
        lambda path, _: getattr(path[-1], "key", None) != "bias", params
    )


def optimiser(optim: Optim) -> optax.GradientTransformation:
    """The optax transformation of ``optim``."""
    if optim.weight_decay:
        return optax.adamw(
            optim.learning_rate,
            b1=optim.b1,
            b2=optim.b2,
            weight_decay=optim.weight_decay,
            mask=_decay_mask,
        )
    return optax.adam(optim.learning_rate, b1=optim.b1, b2=optim.b2)


def new_state(optim: Optim, params: Any, frozen: Any = None) -> TrainState:
    """A fresh :class:`TrainState` for ``params`` (the optimiser state initialised)."""
    return TrainState(params, optimiser(optim).init(params), frozen)


@dataclass(frozen=True)
class ModelFunctions:
    """The pure functions of one kind of model; each takes the model's config first.

    name : identifies the functions in the program cache (e.g. ``"ae"``).
    init : builds one model's :class:`TrainState`.
    loss : the training loss; training does one :func:`optimiser` step per batch on it
        (the config must have an ``optim`` field). Or give ``step`` instead.
    step : a custom update (e.g. a GAN's critic and generator updates).
    score : (b,) anomaly scores, higher = more anomalous.
    reconstruct, encode : (b, ...) reconstructions and (b, code) latent codes, if any.
    """

    name: str
    init: Init
    score: Apply
    loss: Loss | None = None
    step: Step | None = None
    reconstruct: Apply | None = None
    encode: Apply | None = None

    def training_step(self, config: Any) -> Callable[..., tuple[Any, jax.Array]]:
        """``(state, x_batch, mask, key) -> (state, loss)`` for ``config``."""
        if self.step is not None:
            return functools.partial(self.step, config)
        if self.loss is None:
            raise TypeError(f"{self.name}: give ModelFunctions a loss or a step")
        loss, tx = self.loss, optimiser(config.optim)

        def step(state: TrainState, xb: jax.Array, mask: jax.Array, key: jax.Array) -> Any:
            value, grads = jax.value_and_grad(
                lambda params: loss(config, params, state.frozen, xb, mask, key)
            )(state.params)
            updates, opt_state = tx.update(grads, state.opt_state, state.params)
            params = optax.apply_updates(state.params, updates)
            return TrainState(params, opt_state, state.frozen), value

        return step


#: a training program holds at least this many batches of rows (see :func:`capacity`)
MIN_BATCHES = 16
#: a training program records the losses of at least this many epochs
MIN_EPOCHS = 128


def masked_mean(values: jax.Array, mask: jax.Array) -> jax.Array:
    """Mean of ``values`` (shape (b,)) over rows with ``mask`` 1 (filler rows have 0)."""
    return jnp.sum(values * mask) / jnp.maximum(jnp.sum(mask), 1.0)


def batch_layout(n: int, batch_size: int) -> tuple[int, int]:
    """``(batch size, batches per epoch)`` for ``n`` rows: ``ceil(n / batch_size)``
    batches, the last one partly empty (see the module docstring)."""
    if n < 1:
        raise ValueError("training needs at least one row")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    return batch_size, -(-n // batch_size)


def capacity(slots: int, size: int) -> int:
    """Rows the compiled program holds for ``slots`` used rows in batches of ``size``:
    at least :data:`MIN_BATCHES` batches, else the batch count rounded up to a power of
    two, so every training set of up to ``MIN_BATCHES * size`` rows (and every set within
    a factor of two above that) runs the same program."""
    batches = slots // size
    return size * max(MIN_BATCHES, 1 << (batches - 1).bit_length())


def epoch_capacity(epochs: int) -> int:
    """Length of the program's loss buffer: ``epochs`` up to :data:`MIN_EPOCHS` share one
    program, above that the next power of two."""
    return max(MIN_EPOCHS, 1 << max(0, (epochs - 1).bit_length()))


def _program(
    functions: ModelFunctions, config: Any, rows: int, size: int, max_epochs: int
) -> Callable[..., Any]:
    """The training program for data laid in ``rows`` slots (see :func:`capacity`), the
    row count ``n`` and the epoch count being run-time arguments."""
    step = functions.training_step(config)

    def train_one(
        key: jax.Array, X: jax.Array, n: jax.Array, epochs: jax.Array, context: Any
    ) -> tuple[Any, jax.Array]:
        k_init, k_run = jax.random.split(key)
        weights = (jnp.arange(rows) < n).astype(X.dtype)
        state = functions.init(config, k_init, X, weights, context)
        n_batches = (n + size - 1) // size
        used = n_batches * size

        def epoch(e: jax.Array, carry: tuple[Any, jax.Array]) -> tuple[Any, jax.Array]:
            state, history = carry
            k_perm, k_steps = jax.random.split(jax.random.fold_in(k_run, e))
            # a random order of the `used` slots (the rows and the < one batch of empty
            # slots after them); the unused capacity sorts last and is never read
            order = jax.random.uniform(k_perm, (rows,))
            perm = jnp.argsort(jnp.where(jnp.arange(rows) < used, order, 2.0))

            def batch(i: jax.Array, carry: tuple[Any, jax.Array]) -> tuple[Any, jax.Array]:
                state, total = carry
                idx = jax.lax.dynamic_slice(perm, (i * size,), (size,))
                mask = weights[idx]
                state, loss = step(state, X[idx], mask, jax.random.fold_in(k_steps, i))
                return state, total + loss * jnp.sum(mask)

            state, total = jax.lax.fori_loop(0, n_batches, batch, (state, jnp.zeros((), X.dtype)))
            return state, history.at[e].set(total / n)

        history = jnp.zeros((max_epochs,), X.dtype)
        return jax.lax.fori_loop(0, epochs, epoch, (state, history))

    batched = jax.vmap(train_one, in_axes=(0, None, None, None, 0))

    def program(
        keys: jax.Array, X: jax.Array, n: jax.Array, epochs: jax.Array, context: Any
    ) -> tuple[Any, jax.Array]:
        if keys.shape[0] > 1:
            return batched(keys, X, n, epochs, context)
        # one model: no vmap, so matmuls stay plain (a batch-of-one dot is slower on CPU)
        first = jax.tree.map(lambda a: a[0], context)
        return jax.tree.map(lambda a: a[None], train_one(keys[0], X, n, epochs, first))

    return program


@dataclass
class TrainResult:
    """What :func:`train` returns.

    state : the trained states, every leaf with a leading axis of length ``n_seeds``.
    losses : (n_seeds, epochs) mean training loss of each epoch.
    compile_seconds : tracing + XLA compilation (0 on an in-process cache hit).
    train_seconds : running the compiled program, data transfer included.
    """

    state: Any
    losses: np.ndarray
    compile_seconds: float
    train_seconds: float


def resolve_seed(random_state: int | None) -> int:
    """``random_state`` as an int; fresh entropy when None (sklearn's convention)."""
    if random_state is None:
        return int(np.random.default_rng().integers(2**31 - 1))
    return int(random_state)


def seed_keys(seed: int, n_seeds: int) -> jax.Array:
    """``n_seeds`` independent PRNG keys, shape (n_seeds,), from an integer seed."""
    if n_seeds < 1:
        raise ValueError(f"n_seeds must be >= 1, got {n_seeds}")
    return jax.random.split(jax.random.key(seed), n_seeds)


def train(
    functions: ModelFunctions,
    config: Any,
    X: np.ndarray,
    keys: jax.Array,
    *,
    epochs: int,
    batch_size: int,
    context: Any = None,
) -> TrainResult:
    """Train ``len(keys)`` models of ``config`` on ``X`` in one compiled program.

    Parameters
    ----------
    functions : the model's pure functions (init and loss or step).
    config : frozen, hashable description of the model; with ``functions``, the
        epochs and the shapes, it keys the compiled program, so equal configs on data of
        the same slots share one compilation per process.
    X : (n, ...) float32 training data.
    keys : (n_seeds,) PRNG keys, one per independent model.
    epochs : passes over the data (0 returns the initial state).
    batch_size : rows per step (see the module docstring for partial batches).
    context : pytree with a leading ``n_seeds`` axis handed to ``init`` (e.g. frozen
        networks), or None.

    Raises
    ------
    TrainingError
        When any model's loss becomes NaN or infinite.
    """
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    compile_clock.install()
    enable_persistent_cache()
    n = X.shape[0]
    size, n_batches = batch_layout(n, batch_size)
    rows = capacity(size * n_batches, size)
    padded = np.zeros((rows, *X.shape[1:]), dtype=np.float32)
    padded[:n] = X
    X_dev = jax.device_put(padded)
    max_epochs = epoch_capacity(epochs)
    shapes = (X_dev.shape, keys.shape, jax.tree.map(lambda a: (a.shape, a.dtype), context))
    n_dev = jnp.asarray(n, dtype=jnp.int32)
    epochs_dev = jnp.asarray(epochs, dtype=jnp.int32)

    def build() -> Any:
        program = jax.jit(_program(functions, config, rows, size, max_epochs))
        lowered = program.lower(keys, X_dev, n_dev, epochs_dev, context)
        return lowered.compile(compiler_options())

    start = time.perf_counter()
    # the batch size and capacity are compiled in (no config holds the batch size)
    key = ("train", functions, config, size, rows, max_epochs, repr(shapes), options_key())
    compiled = PROGRAMS.get(key, build)
    compile_seconds = time.perf_counter() - start
    start = time.perf_counter()
    state, history = compiled(keys, X_dev, n_dev, epochs_dev, context)
    losses = np.asarray(jax.block_until_ready(history))[:, :epochs]
    train_seconds = time.perf_counter() - start
    bad = ~np.isfinite(losses)
    if bad.any():
        seed, epoch = np.argwhere(bad)[0]
        raise TrainingError(
            f"training loss became {losses[seed, epoch]} in epoch {epoch + 1} of model {seed}; "
            "lower learning_rate or standardise the input"
        )
    return TrainResult(state, losses, compile_seconds, train_seconds)
