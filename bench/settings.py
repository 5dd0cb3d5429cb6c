"""The harness's settings: folders, offline mode, worker pinning and the XLA cache.

One frozen :class:`Settings` object holds them. :func:`current` gives the settings in
force: the ones installed with :func:`configure` (the command line does this for
``--data-dir``) or :func:`overridden` (a block of code, e.g. a benchmark), else the ones
read from the ``ANOBENCH_*`` environment variables at the time of the call. The library
reads settings only through :func:`current` and never writes ``os.environ``; worker
processes receive the parent's settings with their start-up arguments.

=====================  ==========================  ==========================================
field                  variable                    meaning
=====================  ==========================  ==========================================
``data_dir``           ``ANOBENCH_DATA_DIR``       local mirror of public data files
``cache_dir``          ``ANOBENCH_CACHE_DIR``      downloads and the XLA cache (default: the
                                                   platform's user cache, ``~/.cache/anobench``)
``reference_dir``      ``ANOBENCH_REFERENCE_DIR``  published result tables
``offline``            ``ANOBENCH_OFFLINE``        forbid downloads
``pin_workers``        ``ANOBENCH_PIN_WORKERS``    pin each worker to its own cores (default on)
``fresh_workers``      ``ANOBENCH_FRESH_WORKERS``  a new worker process for every cell
``xla_cache``          ``ANOBENCH_XLA_CACHE``      JAX's persistent compilation cache (default
                                                   on)
=====================  ==========================  ==========================================
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ENV_VARS", "Settings", "configure", "current", "env_flag", "overridden"]

logger = logging.getLogger(__name__)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

#: field -> environment variable it is read from
ENV_VARS: dict[str, str] = {
    "data_dir": "ANOBENCH_DATA_DIR",
    "cache_dir": "ANOBENCH_CACHE_DIR",
    "reference_dir": "ANOBENCH_REFERENCE_DIR",
    "offline": "ANOBENCH_OFFLINE",
    "pin_workers": "ANOBENCH_PIN_WORKERS",
    "fresh_workers": "ANOBENCH_FRESH_WORKERS",
    "xla_cache": "ANOBENCH_XLA_CACHE",
}


def env_flag(name: str, default: bool, environ: Mapping[str, str] | None = None) -> bool:
    """The switch ``name``: ``1/true/yes/on`` or ``0/false/no/off`` (any case); unset or
    empty gives ``default``, and any other value is logged and gives ``default``."""
    value = (os.environ if environ is None else environ).get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if value:
        known = sorted(_TRUE | _FALSE)
        logger.warning("%s=%r is not one of %s: using %s", name, value, known, default)
    return default


def _env_path(name: str, environ: Mapping[str, str]) -> Path | None:
    value = environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


@dataclass(frozen=True)
class Settings:
    """Where anobench reads and keeps files, and how it runs workers (see the module
    docstring for each field's variable and default)."""

    data_dir: Path | None = None
    cache_dir: Path | None = None
    reference_dir: Path | None = None
    offline: bool = False
    pin_workers: bool = True
    fresh_workers: bool = False
    xla_cache: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from the ``ANOBENCH_*`` variables of ``environ`` (default: this
        process's environment); unset variables give the defaults."""
        env = os.environ if environ is None else environ
        return _parse(tuple((name, env.get(name)) for name in ENV_VARS.values()))

    @classmethod
    def _from_values(cls, env: Mapping[str, str]) -> Settings:
        defaults = cls()
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            name = ENV_VARS[field.name]
            default = getattr(defaults, field.name)
            if isinstance(default, bool):
                values[field.name] = env_flag(name, default, env)
            else:
                values[field.name] = _env_path(name, env)
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` (paths given as strings are made :class:`Path`)."""
        for key, value in changes.items():
            if key.endswith("_dir") and isinstance(value, str):
                changes[key] = Path(value).expanduser()
        return dataclasses.replace(self, **changes)

    def downloads(self) -> Path:
        """The download cache folder: ``cache_dir``, or the platform's user cache."""
        if self.cache_dir is not None:
            return self.cache_dir
        import pooch

        return Path(pooch.os_cache("anobench"))


@functools.lru_cache(maxsize=16)
def _parse(values: tuple[tuple[str, str | None], ...]) -> Settings:
    """Settings of one snapshot of the variables (parsed, and any bad value logged, once)."""
    return Settings._from_values({k: v for k, v in values if v is not None})


_installed: Settings | None = None


def current() -> Settings:
    """The settings in force: the installed ones, else those of the environment now."""
    return _installed if _installed is not None else Settings.from_env()


def configure(settings: Settings | None = None, **changes: Any) -> Settings:
    """Install ``settings`` (default: the current ones) with ``changes`` for this process
    and the workers it starts; ``configure(None)`` with no changes goes back to reading the
    environment. Returns the settings now in force."""
    global _installed
    if settings is None and not changes:
        _installed = None
        return current()
    _installed = (settings or current()).replace(**changes)
    return _installed


@contextmanager
def overridden(**changes: Any) -> Iterator[Settings]:
    """Run a block with ``changes`` applied to the current settings, then restore them."""
    global _installed
    before = _installed
    _installed = current().replace(**changes)
    try:
        yield _installed
    finally:
        _installed = before
