"""Errors the user can fix, shared by the library and the command line.

Kept free of heavy imports: the CLI catches these without loading the harness.
"""

from __future__ import annotations

__all__ = ["RunLockedError", "UserError"]


class UserError(Exception):
    """Bad input or a state the user can change (a busy run directory, a bad option):
    the CLI prints it as one ``anobench: error:`` line, never a traceback."""


class RunLockedError(UserError, RuntimeError):
    """Another process is writing this run directory."""
