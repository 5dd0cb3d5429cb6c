"""Performance benchmarks the project ships (``anobench perf deep``).

Everything is measured side by side in one process on the same data, and reported as
figures and ratios: never as pass/fail timings (machines are shared and noisy).

The deep benchmark trains the same dense autoencoder (784-128-64-16-64-128-784, batch
128, Adam 1e-3, 20 epochs by default) with anobench's JAX ``ae``, PyOD's
``AutoEncoder`` and a plain PyTorch loop (these two when torch is installed), reports
training time with and without compilation, samples/s and achieved GFLOP/s next to the
machine's measured float32 matmul throughput, ROC-AUC on a held-out test set, and
``jax.vmap`` over seeds against sequential trainings.
"""

from __future__ import annotations

import importlib.util
import itertools
import logging
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from anobench.settings import overridden

__all__ = [
    "DeepPerfReport",
    "PerfData",
    "PerfRow",
    "batch_matmul_gflops",
    "deep_perf",
    "dense_ae_flops",
    "matmul_gflops",
    "perf_data",
]

logger = logging.getLogger(__name__)


@dataclass
class PerfData:
    """Training rows, a labelled test set, and where they came from."""

    X_train: np.ndarray  # (n, d) float32
    X_test: np.ndarray  # (m, d) float32
    y_test: np.ndarray  # (m,) 0/1, 1 = anomaly
    source: str


@dataclass
class PerfRow:
    """One implementation's figures."""

    name: str
    train_seconds: float  # median over repeats, compilation excluded
    first_fit_seconds: float  # the first fit in this process, compilation included
    compile_seconds: float | None
    roc_auc: float  # mean over the repeats (one model per seed)
    roc_auc_std: float
    samples_per_second: float
    gflops: float

    @classmethod
    def of(
        cls,
        name: str,
        train_times: list[float],
        first_fit: float,
        compile_seconds: float | None,
        aucs: list[float],
        samples: int,
        flops_per_sample: float,
    ) -> PerfRow:
        """A row from per-repeat training times and ROC-AUCs; ``samples`` = rows x epochs."""
        train = statistics.median(train_times)
        return cls(
            name,
            train,
            first_fit,
            compile_seconds,
            float(np.mean(aucs)),
            float(np.std(aucs)),
            samples / train,
            flops_per_sample * samples / train / 1e9,
        )


@dataclass
class DeepPerfReport:
    """Everything ``anobench perf deep`` prints."""

    config: dict[str, Any]
    device: str
    matmul_gflops: float  # large square float32 matmul, best of repeats
    matmul_gflops_at_batch: float  # (batch x width) @ (width x width) matmuls of the model
    rows: list[PerfRow] = field(default_factory=list)
    vmap: dict[str, float] = field(default_factory=dict)


def dense_ae_flops(widths: list[int]) -> float:
    """Training FLOPs per sample of a dense network with layer sizes ``widths``
    (e.g. [784, 128, 64, 16, 64, 128, 784]): forward 2 * sum(in * out) multiply-adds,
    backward twice that (gradients of inputs and weights); activations and the optimiser
    are ignored."""
    macs = sum(a * b for a, b in itertools.pairwise(widths))
    return 3 * 2 * float(macs)


def matmul_gflops(size: int = 2048, repeats: int = 5) -> float:
    """Measured float32 matmul throughput of JAX's default device (best of ``repeats``)."""
    import jax
    import jax.numpy as jnp

    a = jax.random.normal(jax.random.key(0), (size, size), dtype=jnp.float32)
    f = jax.jit(lambda x: x @ x)
    f(a).block_until_ready()
    best = min(_timed(lambda: f(a).block_until_ready()) for _ in range(repeats))
    return 2 * size**3 / best / 1e9


def batch_matmul_gflops(batch: int, width_in: int, width_out: int, repeats: int = 10) -> float:
    """Throughput of the (batch x in) @ (in x out) products a training step is made of:
    ``x <- (x @ w) @ w.T`` (w with orthonormal columns, so values neither blow up nor
    vanish) chained 200 times in one program, so dispatch overhead does not count."""
    import jax
    import jax.numpy as jnp

    x = jax.random.normal(jax.random.key(1), (batch, width_in), dtype=jnp.float32)
    w = jnp.linalg.qr(jax.random.normal(jax.random.key(2), (width_in, width_out)))[0]
    length = 200

    @jax.jit
    def chain(x: jax.Array, w: jax.Array) -> jax.Array:
        return jax.lax.scan(lambda x, _: ((x @ w) @ w.T, None), x, None, length=length)[0]

    chain(x, w).block_until_ready()
    best = min(_timed(lambda: chain(x, w).block_until_ready()) for _ in range(repeats))
    return length * 4 * batch * width_in * width_out / best / 1e9


def _timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def perf_data(n_train: int = 6000, seed: int = 0) -> PerfData:
    """MNIST-shaped data: ``n_train`` training images (784 pixels in [0, 1]).

    Uses the registry's ``mnist-test/corrupted`` set when its file is available (mirror or
    cache): ``n_train`` of its clean digits train, the test set is the remaining clean
    digits plus every corrupted one (rotated, noised or patched). Otherwise a synthetic
    stand-in of the same shape (normal rows near a 16-dimensional subspace, anomalies
    near another) keeps the benchmark runnable.
    """
    rng = np.random.default_rng(seed)
    try:
        from anobench.registry import dataset_registry

        spec = dataset_registry().load("mnist-test/corrupted")
        spec.fetch()
        loaded = spec.load_data()
        X = np.asarray(loaded.X, dtype=np.float32).reshape(len(loaded.X), -1)
        y = np.asarray(loaded.y)
        normal = np.flatnonzero(y == 0)
        rng.shuffle(normal)
        train, rest = normal[:n_train], normal[n_train:]
        test = np.r_[rest, np.flatnonzero(y == 1)]
        return PerfData(X[train], X[test], y[test], "mnist-test/corrupted (clean digits train)")
    except Exception as exc:  # no data files here: fall back to synthetic
        logger.info("MNIST not available (%s): synthetic 784-d data", exc)
    basis = rng.normal(size=(16, 784)) / 4
    other = rng.normal(size=(16, 784)) / 4

    def rows(n: int, b: np.ndarray) -> np.ndarray:
        return (rng.normal(size=(n, 16)) @ b + 0.1 * rng.normal(size=(n, 784))).astype(np.float32)

    X_test = np.vstack([rows(2000, basis), rows(500, other)])
    y = np.r_[np.zeros(2000, int), np.ones(500, int)]
    return PerfData(rows(n_train, basis), X_test, y, "synthetic (MNIST not available)")


def _jax_rows(
    data: PerfData, cfg: dict[str, Any], flops: float
) -> tuple[PerfRow, dict[str, float]]:
    from anobench.registry import detector_registry

    ae_cls = detector_registry().load("ae")
    n, epochs, repeats = len(data.X_train), cfg["epochs"], cfg["repeats"]
    params = dict(
        hidden=tuple(cfg["hidden"]),
        epochs=epochs,
        batch_size=cfg["batch_size"],
        learning_rate=cfg["learning_rate"],
    )
    fits, trains, compiles, aucs = [], [], [], []
    for i in range(repeats):
        det = ae_cls(**params, random_state=i)
        fits.append(_timed(partial(det.fit, data.X_train)))
        trains.append(det.train_seconds_)
        compiles.append(det.compile_seconds_)
        aucs.append(roc_auc_score(data.y_test, det.anomaly_score(data.X_test)))
    row = PerfRow.of(
        "anobench ae (JAX, one compiled program)",
        trains,
        fits[0],
        compiles[0],
        aucs,
        n * epochs,
        flops,
    )

    seeds = cfg["seeds"]
    batched = ae_cls(**params, n_seeds=seeds, random_state=0)
    batched_first = _timed(lambda: batched.fit(data.X_train))
    batched_compile = batched.compile_seconds_
    batched.fit(data.X_train)
    sequential = [ae_cls(**params, random_state=s) for s in range(seeds)]
    seq_seconds = sum(_timed(partial(d.fit, data.X_train)) for d in sequential)
    seq_train = sum(d.train_seconds_ for d in sequential)
    vmap = {
        "seeds": float(seeds),
        "vmap_train_seconds": batched.train_seconds_,
        "vmap_first_fit_seconds": batched_first,
        "vmap_compile_seconds": batched_compile,
        "sequential_train_seconds": seq_train,
        "sequential_fit_seconds": seq_seconds,
        "speedup": seq_train / batched.train_seconds_,
    }
    return row, vmap


def _torch_model(widths: list[int]) -> Any:
    import torch

    layers: list[Any] = []
    for i, (a, b) in enumerate(itertools.pairwise(widths)):
        layers.append(torch.nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(torch.nn.LeakyReLU(0.2))
    return torch.nn.Sequential(*layers)


def _torch_row(data: PerfData, cfg: dict[str, Any], widths: list[int], flops: float) -> PerfRow:
    """The same network trained by a plain PyTorch loop (randperm batches, Adam)."""
    import torch

    mean, std = data.X_train.mean(0), data.X_train.std(0) + 1e-8
    X = torch.from_numpy((data.X_train - mean) / std)
    Xt = torch.from_numpy((data.X_test - mean) / std)
    n, epochs, bs = len(X), cfg["epochs"], cfg["batch_size"]

    def fit(seed: int) -> Any:
        torch.manual_seed(seed)
        model = _torch_model(widths)
        opt = torch.optim.Adam(model.parameters(), lr=cfg["learning_rate"])
        for _ in range(epochs):
            for idx in torch.randperm(n).split(bs):
                xb = X[idx]
                loss = torch.mean((model(xb) - xb) ** 2)
                opt.zero_grad()
                loss.backward()
                opt.step()
        return model

    times, aucs = [], []
    for i in range(cfg["repeats"]):
        start = time.perf_counter()
        model = fit(i)
        times.append(time.perf_counter() - start)
        with torch.no_grad():
            scores = torch.mean((model(Xt) - Xt) ** 2, dim=1).numpy()
        aucs.append(roc_auc_score(data.y_test, scores))
    return PerfRow.of(
        f"plain PyTorch loop (torch {torch.__version__})",
        times,
        times[0],
        None,
        aucs,
        n * epochs,
        flops,
    )


def _pyod_row(data: PerfData, cfg: dict[str, Any], flops: float) -> PerfRow:
    """PyOD's AutoEncoder at the same architecture: no batch norm, no dropout, no weight
    decay, LeakyReLU (PyOD's slope is 0.01, ours 0.2: same cost)."""
    import pyod
    from pyod.models.auto_encoder import AutoEncoder

    n, epochs = len(data.X_train), cfg["epochs"]
    times, aucs = [], []
    for i in range(cfg["repeats"]):
        model = AutoEncoder(
            hidden_neuron_list=list(cfg["hidden"]),
            hidden_activation_name="leaky_relu",
            batch_norm=False,
            dropout_rate=0.0,
            optimizer_params={"weight_decay": 0.0},
            epoch_num=epochs,
            batch_size=cfg["batch_size"],
            lr=cfg["learning_rate"],
            random_state=i,
            verbose=0,
            device="cpu",
        )
        times.append(_timed(partial(model.fit, data.X_train)))
        aucs.append(roc_auc_score(data.y_test, model.decision_function(data.X_test)))
    return PerfRow.of(
        f"PyOD {pyod.__version__} AutoEncoder (torch)",
        times,
        times[0],
        None,
        aucs,
        n * epochs,
        flops,
    )


def deep_perf(
    *,
    n_train: int = 6000,
    epochs: int = 20,
    batch_size: int = 128,
    hidden: tuple[int, ...] = (128, 64, 16),
    learning_rate: float = 1e-3,
    repeats: int = 3,
    seeds: int = 5,
    with_torch: bool = True,
) -> DeepPerfReport:
    """Run the deep-model benchmark (see the module docstring).

    The persistent XLA cache stays off while it runs (unless it was switched on earlier
    in this process), so the compile figures are real compilations.
    """
    with overridden(xla_cache=False):
        import jax

        data = perf_data(n_train)
        d = data.X_train.shape[1]
        widths = [d, *hidden, *reversed(hidden[:-1]), d]
        flops = dense_ae_flops(widths)
        cfg = dict(
            n_train=len(data.X_train),
            n_features=d,
            epochs=epochs,
            batch_size=batch_size,
            hidden=list(hidden),
            architecture="-".join(map(str, widths)),
            learning_rate=learning_rate,
            repeats=repeats,
            seeds=seeds,
            data=data.source,
            train_gflop=flops * len(data.X_train) * epochs / 1e9,
        )
        device = jax.devices()[0]
        report = DeepPerfReport(
            config=cfg,
            device=f"{device.platform}: {device.device_kind} ({jax.device_count()} device(s), "
            f"{os.cpu_count()} CPU cores)",
            matmul_gflops=matmul_gflops(),
            matmul_gflops_at_batch=batch_matmul_gflops(batch_size, d, hidden[0]),
        )
        row, report.vmap = _jax_rows(data, cfg, flops)
        report.rows.append(row)
        if with_torch and importlib.util.find_spec("torch") is not None:
            import torch

            torch.set_num_threads(os.cpu_count() or 1)
            report.rows.append(_pyod_row(data, cfg, flops))
            report.rows.append(_torch_row(data, cfg, widths, flops))
        elif with_torch:
            logger.warning("torch is not installed: pip install 'anobench[torch]' to compare")
        return report
