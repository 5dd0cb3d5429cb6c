"""Starting ``spawn`` child processes from any script, guarded or not.

The executors' workers and the report's figure workers are started with ``spawn`` (safe
with JAX's threads). A spawned child imports the parent's ``__main__`` module again before
it runs its target, so a user's script without an ``if __name__ == "__main__":`` guard
would run again in every child.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["main_script_not_rerun"]


@contextlib.contextmanager
def main_script_not_rerun(needed: bool = False) -> Iterator[None]:
    """Start ``spawn`` children without re-running the parent's main script.

    A spawned child imports the parent's ``__main__`` module again before it runs its
    target. A script without an ``if __name__ == "__main__":`` guard then runs the whole
    benchmark again in every worker (and multiprocessing refuses: the workers die and
    every cell used to be recorded as ``BrokenProcessPool``). The workers need nothing
    from the script (cells name detectors and data sets by importable references), so
    the script is hidden from :mod:`multiprocessing` while children start. ``needed``
    (a cell refers to ``__main__``) leaves it as it is.
    """
    main = sys.modules.get("__main__")
    if needed or main is None:
        yield
        return
    saved: dict[str, Any] = {
        k: main.__dict__[k] for k in ("__file__", "__spec__") if k in main.__dict__
    }
    main.__dict__.pop("__file__", None)
    main.__dict__["__spec__"] = None
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)
