"""A plugin of misbehaving detectors and data sets, for the fault-injection tests.

Installed by ``tests/execution/test_faults.py`` as a throw-away distribution (the ``make_plugin``
fixture), so it is found through entry points exactly like a third-party plugin. Every
detector is the working :class:`Mean` detector with one fault; a fault that leaves
something behind (a thread, a process, global state) lets the cell itself finish.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np

from anobench.contract import BaseDetector
from anobench.data.spec import DatasetSpec

#: where detectors that start processes write their pids (set by the test)
PID_DIR = "ANOBENCH_FAULT_PID_DIR"


class Mean(BaseDetector):
    """Distance to the training mean (a working plugin detector)."""

    name = "fault-mean"

    def __init__(self, power: float = 2.0):
        self.power = power

    def _fit(self, X):
        self.mean_ = X.mean(axis=0)

    def _score(self, X):
        return np.sum(np.abs(X - self.mean_) ** self.power, axis=1)


class Raises(Mean):
    def _fit(self, X):
        raise RuntimeError("boom from the plugin")


class SysExit(Mean):
    def _fit(self, X):
        sys.exit()


class SystemExit4(Mean):
    def _score(self, X):
        raise SystemExit(4)


class Interrupts(Mean):
    def _fit(self, X):
        raise KeyboardInterrupt


class OsExit(Mean):
    def _fit(self, X):
        os._exit(7)


class Segfault(Mean):
    def _fit(self, X):
        ctypes.string_at(0)


class KillsItsHost(Mean):
    """Kills the process that started the cell's process: on a Dask cluster, the Dask
    worker (never run it with the local executor, whose parent is the runner)."""

    def _fit(self, X):
        os.kill(os.getppid(), signal.SIGKILL)
        time.sleep(30)


class HangsIgnoringTerm(Mean):
    def _fit(self, X):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            time.sleep(0.05)


class BlocksInC(Mean):
    """Waits forever inside one C call (signal handlers never run)."""

    def _fit(self, X):
        read_end, _write_end = os.pipe()
        os.read(read_end, 1)


class LeaksThread(Mean):
    """Leaves a thread spinning: later cells in the same worker would crawl."""

    def _fit(self, X):
        def spin():
            while True:
                sum(range(1000))

        threading.Thread(target=spin, daemon=True, name="fault-spinner").start()
        super()._fit(X)


def _note_pid(pid: int) -> None:
    folder = os.environ.get(PID_DIR)
    if folder:
        with open(os.path.join(folder, f"{pid}.pid"), "w") as fh:
            fh.write(str(pid))


class LeaksChild(Mean):
    """Starts a child and a daemonised grandchild (double fork + setsid), both sleeping."""

    def _fit(self, X):
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        _note_pid(child.pid)
        daemon = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import os, sys, subprocess; p = subprocess.Popen([sys.executable, '-c', "
                "'import time; time.sleep(600)'], start_new_session=True, "
                "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); print(p.pid)",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        out, _ = daemon.communicate()
        _note_pid(int(out.strip()))
        super()._fit(X)


class GlobalNumpy(Mean):
    """Changes process-wide NumPy state and the global RNG."""

    def _fit(self, X):
        np.seterr(all="raise")
        np.random.seed(12345)
        os.environ["OMP_NUM_THREADS"] = "64"
        os.chdir("/")
        super()._fit(X)


class Allocates(Mean):
    """Allocates (and touches) 2 GiB."""

    def _fit(self, X):
        self.block_ = np.ones(2 * 2**30 // 8)
        time.sleep(5)
        super()._fit(X)


class Prints(Mean):
    """Writes 50 MB to stdout and some to stderr from C level (fd 2)."""

    def _fit(self, X):
        line = "x" * 999 + "\n"
        sys.stdout.write(line * 50_000)
        sys.stdout.flush()
        os.write(2, b"native stderr line\n")
        super()._fit(X)


class WrongShape(Mean):
    def _score(self, X):
        return super()._score(X)[:-1]


class ReturnsNaN(Mean):
    def _score(self, X):
        out = super()._score(X)
        out[::2] = np.nan
        return out


FAULTY = {
    "fault-raises": "Raises",
    "fault-sys-exit": "SysExit",
    "fault-system-exit-4": "SystemExit4",
    "fault-keyboard-interrupt": "Interrupts",
    "fault-os-exit": "OsExit",
    "fault-segfault": "Segfault",
    "fault-hangs-ignoring-term": "HangsIgnoringTerm",
    "fault-blocks-in-c": "BlocksInC",
    "fault-leaks-thread": "LeaksThread",
    "fault-leaks-child": "LeaksChild",
    "fault-global-numpy": "GlobalNumpy",
    "fault-allocates": "Allocates",
    "fault-prints": "Prints",
    "fault-wrong-shape": "WrongShape",
    "fault-nan": "ReturnsNaN",
}

#: faults for a Dask cluster only (see KillsItsHost)
DASK_FAULTY = {"fault-kills-its-host": "KillsItsHost"}


# -- data sets ---------------------------------------------------------------------------
def _base(n: int = 300, d: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.zeros(n, dtype=int)
    y[: n // 10] = 1
    X[y == 1] += 4
    return X, y


def _with_nan(**_):
    X, y = _base()
    X[5, 1] = np.nan
    return X, y


def _with_inf(**_):
    X, y = _base()
    X[7, 0] = np.inf
    return X, y


def _one_class(**_):
    X, _ = _base()
    return X, np.zeros(len(X), dtype=int)


def _strings(**_):
    X, y = _base()
    return X.astype(str).astype(object), y


def _huge(**_):
    X, y = _base()
    return X * 1e300, y


def _tagged(tag: str = "x"):
    return _base()


DATASETS = {
    "fault-data-nan": DatasetSpec(name="fault-data-nan", modality="tabular", load=_with_nan),
    "fault-data-inf": DatasetSpec(name="fault-data-inf", modality="tabular", load=_with_inf),
    "fault-data-one-class": DatasetSpec(
        name="fault-data-one-class", modality="tabular", load=_one_class
    ),
    "fault-data-strings": DatasetSpec(name="fault-data-strings", modality="tabular", load=_strings),
    "fault-data-huge": DatasetSpec(name="fault-data-huge", modality="tabular", load=_huge),
    "fault-data-tagged": DatasetSpec(
        name="fault-data-tagged", modality="tabular", load=_tagged, params={"tag": "x"}
    ),
}
FAULT_DATA_NAN = DATASETS["fault-data-nan"]
FAULT_DATA_INF = DATASETS["fault-data-inf"]
FAULT_DATA_ONE_CLASS = DATASETS["fault-data-one-class"]
FAULT_DATA_STRINGS = DATASETS["fault-data-strings"]
FAULT_DATA_HUGE = DATASETS["fault-data-huge"]
FAULT_DATA_TAGGED = DATASETS["fault-data-tagged"]
