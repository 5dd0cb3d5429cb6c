"""What the harness needs to know of a detector named by reference, learnt in a separate
process under a time budget.

A suite's ``ref = "my_detectors.py:MyDetector"`` (or ``"package.module:Class"``) is user
code. Importing it runs whatever its module does at import: an ``os._exit(0)`` would end
``anobench run`` with status 0 and nothing recorded, an endless loop would hang it with no
budget. So the process that plans and drives a run never imports it: the expansion (also
of ``--dry-run``) asks a spawned child (:func:`describe`) for the class's parameters,
defaults, flags and code identity, and the cells import it in their isolated workers. A
child that exits, crashes or outlives its budget makes the reference unavailable with
the reason, so its cells are recorded as skipped and the rest of the suite runs.
Objects registered in memory, classes of the running ``__main__`` module and modules
this process has imported already are described here (nothing new runs).
"""

from __future__ import annotations

import functools
import multiprocessing
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from anobench.plan.imports import (
    MEMORY_PREFIX,
    BadReferenceError,
    detector_class,
    provider,
    version_of,
)
from anobench.provenance import code_identity
from anobench.registry import UnavailableError
from anobench.spawning import main_script_not_rerun

__all__ = ["DESCRIBE_SECONDS", "Described", "describe", "describe_class"]

#: seconds a reference's import (and its class's description) may take
DESCRIBE_SECONDS = 60.0


@dataclass(frozen=True)
class Described:
    """A detector class as the expansion sees it, without the class itself.

    ``names`` / ``defaults``: its parameters and their defaults; ``modalities``,
    ``family``, ``transductive``, ``uses_labels``: its flags; ``code``: its
    :func:`anobench.provenance.code_identity` (the source hash taken in the child).
    """

    reference: str
    modalities: tuple[str, ...]
    family: str
    transductive: bool
    uses_labels: bool
    names: tuple[str, ...]
    defaults: dict[str, Any] = field(default_factory=dict)
    code: dict[str, Any] = field(default_factory=dict)

    def param_names(self) -> list[str]:
        """The parameters a suite may set (as the class's ``param_names()``)."""
        return list(self.names)

    def param_defaults(self) -> dict[str, Any]:
        """The class's defaults (as its ``param_defaults()``)."""
        return dict(self.defaults)


def describe_class(ref: str) -> Described:
    """Import ``ref`` here and describe its (adapted) class; what the child runs."""
    cls: Any = detector_class(ref)
    defaults = cls.param_defaults() if hasattr(cls, "param_defaults") else {}
    return Described(
        reference=ref,
        modalities=tuple(getattr(cls, "modalities", ("tabular", "image", "series"))),
        family=str(getattr(cls, "family", "unknown")),
        transductive=bool(getattr(cls, "transductive", False)),
        uses_labels=bool(getattr(cls, "uses_labels", False)),
        names=tuple(cls.param_names()),
        defaults=dict(defaults),
        code=code_identity(cls, provider(ref)),
    )


def _child(ref: str, conn: Any) -> None:
    try:
        message: tuple[str, Any] = ("ok", describe_class(ref))
    except BadReferenceError as exc:
        message = ("bad", str(exc))
    except BaseException as exc:  # user code at import may raise anything
        message = ("error", f"importing it raised {type(exc).__name__}: {exc}")
    try:
        conn.send(message)
    except Exception as exc:  # e.g. a default that cannot be pickled
        conn.send(("error", f"its description could not be sent: {exc}"))
    conn.close()


def describe(ref: str, seconds: float = DESCRIBE_SECONDS) -> Described:
    """Describe the detector class behind ``ref`` without importing it here.

    Raises
    ------
    BadReferenceError
        ``ref`` cannot be imported or is not a detector (the suite is wrong).
    UnavailableError
        Its import exited, crashed or took longer than ``seconds``.
    """
    module = ref.split(":")[0]
    if ref.startswith(MEMORY_PREFIX) or module == "__main__" or module in sys.modules:
        return describe_class(ref)  # already imported in this process: nothing new runs
    return _describe_cached(ref, version_of(ref), seconds)


@functools.cache
def _describe_cached(ref: str, version: str, seconds: float) -> Described:
    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(ref, send), daemon=True, name="anobench-describe")
    with main_script_not_rerun():
        process.start()
    send.close()
    message, timed_out = None, False
    deadline = time.monotonic() + seconds
    try:
        # poll in steps and watch the child: the pipe's end-of-file alone is not enough
        # (another process started meanwhile may hold a copy of the sending end)
        while True:
            if time.monotonic() >= deadline:
                timed_out = True
                break
            if receive.poll(0.2):
                message = receive.recv()
                break
            if not process.is_alive():
                if receive.poll(0):  # sent just before it ended
                    message = receive.recv()
                break
    except (EOFError, OSError):
        message = None  # it ended without a word
    finally:
        receive.close()
    if message is None:
        if timed_out:
            process.kill()
            process.join(5)
            raise UnavailableError(
                f"importing {ref} did not finish within {seconds:.0f} s (stopped; "
                "user code is imported only in separate processes)"
            )
        process.join(5)  # it closed the pipe: let it finish exiting
        code = process.exitcode
        raise UnavailableError(
            f"importing {ref} ended its process (exit code {code}) before it could be "
            "described"
        )
    process.join(5)
    if process.is_alive():
        process.kill()
    kind, payload = message
    if kind == "ok":
        described: Described = payload
        return described
    if kind == "bad":
        raise BadReferenceError(payload)
    raise UnavailableError(f"{ref}: {payload}")
