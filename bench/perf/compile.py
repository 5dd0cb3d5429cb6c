"""XLA compiler options against compile and training time (``anobench perf compile``).

For every built-in deep model (``ae``, ``vae``, ``deepsvdd``, ``fanogan`` at the quick
suite's schedule, ``cae`` on 8x8 images, ``lstm`` on windows of 32 points) and each
candidate option set, in one process with the persistent compilation cache off:

- ``compile s``: the first fit's compilation (training program), a fresh in-process
  program cache each time, so every figure is a real XLA compilation;
- ``train s``: the median training time of ``repeats`` further fits (other seeds) on the
  compiled program;
- ``score s``: the first scoring call (its program's compilation included).

Ratios are against XLA's defaults (``{}``), measured side by side in the same run. The
options the library uses are ``anobench.detectors.deep.programs.COMPILER_OPTIONS``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from anobench.settings import overridden

__all__ = ["CANDIDATES", "CompileRow", "compile_perf"]

logger = logging.getLogger(__name__)

#: option sets compared (name -> XLA debug options)
CANDIDATES: dict[str, dict[str, Any]] = {
    "xla defaults": {},
    "O1": {"xla_backend_optimization_level": 1},
    "O0": {"xla_backend_optimization_level": 0},
    "no expensive LLVM passes": {"xla_llvm_disable_expensive_passes": True},
}


@dataclass
class CompileRow:
    """One model under one option set (seconds)."""

    model: str
    options: str
    compile_seconds: float
    train_seconds: float
    score_seconds: float


def _models(n: int, seed: int = 0) -> list[tuple[str, Any, dict[str, Any], np.ndarray]]:
    from anobench.registry import detector_registry

    rng = np.random.default_rng(seed)
    table = rng.normal(size=(n, 30)).astype(np.float32)
    images = rng.random(size=(n, 8, 8)).astype(np.float32)
    t = np.arange(n + 32)
    windows = np.stack([np.sin(0.3 * t[i : i + 32]) for i in range(n)]).astype(np.float32)
    load = detector_registry().load
    return [
        ("ae", load("ae"), {}, table),
        ("vae", load("vae"), {}, table),
        ("deepsvdd", load("deepsvdd"), {}, table),
        ("fanogan", load("fanogan"), {"epochs": 50, "n_critic": 3}, table),
        ("cae", load("cae"), {}, images),
        ("lstm", load("lstm"), {}, windows),
    ]


def compile_perf(
    *,
    models: list[str] | None = None,
    candidates: dict[str, dict[str, Any]] | None = None,
    n: int = 400,
    repeats: int = 2,
) -> list[CompileRow]:
    """Measure each of ``models`` (default: all) under each option set of ``candidates``
    (default: :data:`CANDIDATES`) on ``n`` rows; see the module docstring."""
    candidates = CANDIDATES if candidates is None else candidates
    rows: list[CompileRow] = []
    with overridden(xla_cache=False):
        chosen = [m for m in _models(n) if not models or m[0] in models]
        from anobench.registry import detector_registry

        ae = detector_registry().load("ae")
        ae(epochs=1, random_state=0).fit(np.zeros((8, 3), np.float32))  # JAX's own start-up
        for name, cls, params, data in chosen:
            for label, options in candidates.items():
                with cls.compiling_with(options):
                    first = cls(**params, random_state=0).fit(data)
                    start = time.perf_counter()
                    first.anomaly_score(data)
                    score = time.perf_counter() - start
                    trains = [
                        cls(**params, random_state=1 + r).fit(data).train_seconds_
                        for r in range(repeats)
                    ]
                rows.append(
                    CompileRow(name, label, first.compile_seconds_, float(np.median(trains)), score)
                )
                logger.info("%s, %s: compile %.2f s", name, label, first.compile_seconds_)
    return rows
