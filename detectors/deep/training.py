"""The one training routine every deep detector uses.

The whole training, epochs x mini-batches, is ONE jitted XLA program built from
``jax.lax.scan``: the data are placed on the device once, each epoch draws a permutation
with ``jax.random``, and ``jax.vmap`` over PRNG keys trains ``n_seeds`` independent models
in the same program.

Partial batches: the ``n`` rows are laid into ``slots`` = ``n`` rounded up to whole
batches (``ceil(n / batch_size)`` batches; a set smaller than one batch gets one batch of
the next power of two). The fewer than one batch of empty slots weigh 0 in the loss
(``mask``) and each epoch's permutation spreads them at random over its batches, so
every row is seen exactly once per epoch with weight 1 and the data are never cut to a
multiple of the batch size. The row count is an argument of the program, not part of
its shape: data sets whose sizes round to the same slots share one compiled program.

Compiled programs are cached in-process by ``(program key, shapes)`` and, between
processes, by JAX's persistent compilation cache (``<anobench cache>/xla``, or
``JAX_COMPILATION_CACHE_DIR`` when set). Compile time is measured apart from training.

Reproducibility: the same seed, data, machine and thread count give bit-identical
parameters. Changing the number of CPU threads changes how XLA splits reductions, so
the bits (not the quality) change; and a model trained inside a ``vmap`` batch is not
bit-equal to the same seed trained alone (batched matmuls sum in another order).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from anobench import settings

logger = logging.getLogger(__name__)

#: (key, X (slots, ...), weights (slots,) 1 = real row / 0 = empty slot, context) ->
#: initial training state of one model
Init = Callable[[jax.Array, jax.Array, jax.Array, Any], Any]
#: (state, x_batch, mask, key) -> (new state, masked mean loss of the batch)
Step = Callable[[Any, jax.Array, jax.Array, jax.Array], tuple[Any, jax.Array]]
#: (params, x_batch, mask, key, frozen) -> scalar loss
Loss = Callable[[Any, jax.Array, jax.Array, jax.Array, Any], jax.Array]


class TrainingError(RuntimeError):
    """Training produced an unusable model (loss became NaN/inf, or collapsed)."""


class TrainState(NamedTuple):
    """Parameters being trained, their optimiser state and frozen inputs (a pytree)."""

    params: Any
    opt_state: Any
    frozen: Any = None


def masked_mean(values: jax.Array, mask: jax.Array) -> jax.Array:
    """Mean of ``values`` (shape (b,)) over rows with ``mask`` 1 (filler rows have 0)."""
    return jnp.sum(values * mask) / jnp.maximum(jnp.sum(mask), 1.0)


def gradient_step(loss: Loss, tx: optax.GradientTransformation) -> Step:
    """A :data:`Step` doing one optimiser update of ``state.params`` on ``loss``."""

    def step(state: TrainState, xb: jax.Array, mask: jax.Array, key: jax.Array) -> Any:
        value, grads = jax.value_and_grad(loss)(state.params, xb, mask, key, state.frozen)
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        return TrainState(
            optax.apply_updates(state.params, updates), opt_state, state.frozen
        ), value

    return step


def batch_layout(n: int, batch_size: int) -> tuple[int, int]:
    """``(batch size used, batches per epoch)`` for ``n`` rows (see the module docstring)."""
    if n < 1:
        raise ValueError("training needs at least one row")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    size = min(batch_size, 1 << (n - 1).bit_length())
    return size, -(-n // size)


def _program(init: Init, step: Step, slots: int, size: int, epochs: int) -> Callable[..., Any]:
    n_batches = slots // size

    def train_one(
        key: jax.Array, X: jax.Array, n: jax.Array, context: Any
    ) -> tuple[Any, jax.Array]:
        k_init, k_run = jax.random.split(key)
        weights = (jnp.arange(slots) < n).astype(X.dtype)
        state = init(k_init, X, weights, context)

        def epoch(state: Any, k: jax.Array) -> tuple[Any, jax.Array]:
            k_perm, k_steps = jax.random.split(k)
            perm = jax.random.permutation(k_perm, slots)
            # one gather per epoch, then contiguous batches (faster than a gather per step)
            batches = X[perm].reshape(n_batches, size, *X.shape[1:])
            mask = weights[perm].reshape(n_batches, size)

            def batch(state: Any, inputs: tuple[jax.Array, ...]) -> tuple[Any, jax.Array]:
                xb, m, kb = inputs
                return step(state, xb, m, kb)

            keys = jax.random.split(k_steps, n_batches)
            state, losses = jax.lax.scan(batch, state, (batches, mask, keys))
            return state, jnp.sum(losses * mask.sum(axis=1)) / n

        return jax.lax.scan(epoch, state, jax.random.split(k_run, epochs))

    batched = jax.vmap(train_one, in_axes=(0, None, None, 0))

    def program(keys: jax.Array, X: jax.Array, n: jax.Array, context: Any) -> tuple[Any, jax.Array]:
        if keys.shape[0] > 1:
            return batched(keys, X, n, context)
        # one model: no vmap, so matmuls stay plain (a batch-of-one dot is slower on CPU)
        first = jax.tree.map(lambda a: a[0], context)
        return jax.tree.map(lambda a: a[None], train_one(keys[0], X, n, first))

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


_COMPILED: dict[Hashable, Any] = {}
_LOCK = threading.Lock()
_CACHE_READY = False


def enable_persistent_cache() -> None:
    """Point JAX's persistent compilation cache at ``<anobench cache>/xla`` (once), unless
    the user configured one (``JAX_COMPILATION_CACHE_DIR``) or set
    ``ANOBENCH_XLA_CACHE=0``."""
    global _CACHE_READY
    if _CACHE_READY:
        return
    _CACHE_READY = True
    if not settings.current().xla_cache:
        return
    if os.environ.get("JAX_COMPILATION_CACHE_DIR") or getattr(
        jax.config, "jax_compilation_cache_dir", None
    ):
        return
    path = settings.current().downloads() / "xla"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        logger.warning("persistent XLA cache disabled: cannot create %s: %s", path, exc)
        return
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)


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
    key: Hashable,
    init: Init,
    step: Step,
    X: np.ndarray,
    keys: jax.Array,
    *,
    epochs: int,
    batch_size: int,
    context: Any = None,
) -> TrainResult:
    """Train ``len(keys)`` models on ``X`` in one compiled program.

    Parameters
    ----------
    key : hashable description of the program (model, loss and optimiser settings);
        programs with the same key and shapes are compiled once per process.
    init : builds one model's training state from ``(key, X, context)``.
    step : one optimisation step on a batch (see :data:`Step`).
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
    enable_persistent_cache()
    n = X.shape[0]
    size, n_batches = batch_layout(n, batch_size)
    slots = size * n_batches
    padded = np.zeros((slots, *X.shape[1:]), dtype=np.float32)
    padded[:n] = X
    X_dev = jax.device_put(padded)
    shapes = (X_dev.shape, size, keys.shape, jax.tree.map(lambda a: (a.shape, a.dtype), context))
    cache_key = (key, epochs, repr(shapes))
    n_dev = jnp.asarray(n, dtype=jnp.int32)
    start = time.perf_counter()
    with _LOCK:
        compiled = _COMPILED.get(cache_key)
        if compiled is None:
            program = jax.jit(_program(init, step, slots, size, epochs))
            compiled = program.lower(keys, X_dev, n_dev, context).compile()
            _COMPILED[cache_key] = compiled
    compile_seconds = time.perf_counter() - start
    start = time.perf_counter()
    state, losses = compiled(keys, X_dev, n_dev, context)
    losses = np.asarray(jax.block_until_ready(losses))
    train_seconds = time.perf_counter() - start
    bad = ~np.isfinite(losses)
    if bad.any():
        seed, epoch = np.argwhere(bad)[0]
        raise TrainingError(
            f"training loss became {losses[seed, epoch]} in epoch {epoch + 1} of model {seed}; "
            "lower learning_rate or standardise the input"
        )
    return TrainResult(state, losses, compile_seconds, train_seconds)


def clear_cache() -> None:
    """Forget the in-process compiled programs (tests and benchmarks)."""
    with _LOCK:
        _COMPILED.clear()
