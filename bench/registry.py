"""Registry of detectors and data sets built from Python entry points.

Groups ``anobench.detectors`` and ``anobench.datasets``. anobench declares its built-ins
in its own ``pyproject.toml`` the same way a plugin does, so both share one path.

Listing names imports nothing; :meth:`Registry.load` imports one object on demand. A
plugin whose import fails is reported as unavailable with its error and never breaks the
rest. There is no global mutable registry: build one with :func:`detector_registry` /
:func:`dataset_registry`, or pass your own entry points (tests do).
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from anobench.types import DETECTOR_METHODS, check_modality

__all__ = [
    "DATASET_GROUP",
    "DETECTOR_GROUP",
    "DETECTOR_METHODS",
    "Entry",
    "Registry",
    "UnavailableError",
    "UnknownNameError",
    "dataset_registry",
    "detector_registry",
    "did_you_mean",
    "import_ref",
    "validate_dataset",
    "validate_detector",
]

logger = logging.getLogger(__name__)

DETECTOR_GROUP = "anobench.detectors"
DATASET_GROUP = "anobench.datasets"

# Optional third-party modules and the extra (or package) that provides them.
_EXTRA_FOR_MODULE = {"torch": "torch", "tqdm": "torch"}


class UnknownNameError(KeyError):
    """Raised for a name that no entry point declares; the message suggests close names."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0])


class UnavailableError(ImportError):
    """Raised when a declared entry point cannot be imported."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`` Did you mean 'x'?`` for the closest candidates, or an empty string."""
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.5)
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(c) for c in close) + "?"


@dataclass(frozen=True)
class Entry:
    """A declared name: where it points and which distribution declared it."""

    name: str
    ref: str
    distribution: str


class Registry:
    """Names -> lazily loaded objects, from an entry-point group.

    Parameters
    ----------
    group : str
        Entry-point group, e.g. ``"anobench.detectors"``.
    source : callable, optional
        Returns the entry points to use; defaults to the installed ones in ``group``.
        Tests pass a fake source.
    validate : callable, optional
        Called on each loaded object; raises ``TypeError``/``ValueError`` saying why it is
        not what the group holds (e.g. an entry point naming a scikit-learn estimator
        where a detector class is expected). The entry is then unavailable, with that reason.
    """

    def __init__(
        self,
        group: str,
        source: Callable[[], Iterable[EntryPoint]] | None = None,
        validate: Callable[[Any], None] | None = None,
    ):
        self.group = group
        self._validate = validate
        self._source = source or (lambda: entry_points(group=group))
        self._entries: dict[str, tuple[Entry, EntryPoint]] | None = None
        self._loaded: dict[str, Any] = {}
        self._errors: dict[str, str] = {}

    def _scan(self) -> dict[str, tuple[Entry, EntryPoint]]:
        if self._entries is None:
            entries: dict[str, tuple[Entry, EntryPoint]] = {}
            for ep in self._source():
                dist = ep.dist.name if ep.dist is not None else "unknown"
                entry = Entry(ep.name, ep.value, dist)
                if ep.name in entries:
                    kept = entries[ep.name][0]
                    if (kept.distribution, kept.ref) == (dist, ep.value):
                        continue  # the same distribution seen twice on sys.path
                    # A plugin must not silently replace a built-in.
                    if kept.distribution == "anobench" or dist != "anobench":
                        logger.warning(
                            "%s %r is declared by both %s and %s; keeping %s",
                            self.group,
                            ep.name,
                            kept.distribution,
                            dist,
                            kept.distribution,
                        )
                        continue
                    logger.warning(
                        "%s %r is declared by both %s and anobench; keeping anobench",
                        self.group,
                        ep.name,
                        kept.distribution,
                    )
                entries[ep.name] = (entry, ep)
            self._entries = dict(sorted(entries.items()))
        return self._entries

    def names(self) -> list[str]:
        """Sorted declared names. Imports nothing."""
        return list(self._scan())

    def entry(self, name: str) -> Entry:
        """The declaration of ``name``; :class:`UnknownNameError` if none."""
        entries = self._scan()
        if name not in entries:
            kind = self.group.rsplit(".", 1)[-1].rstrip("s")
            raise UnknownNameError(f"unknown {kind} {name!r}." + did_you_mean(name, entries))
        return entries[name][0]

    def load(self, name: str) -> Any:
        """Import and return the object behind ``name``.

        Raises
        ------
        UnknownNameError
            No such name.
        UnavailableError
            The entry point failed to import; the message names the missing module and,
            when known, the extra to install.
        """
        self.entry(name)
        if name in self._loaded:
            return self._loaded[name]
        if name in self._errors:
            raise UnavailableError(self._errors[name])
        ep = self._scan()[name][1]
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plugin must never break the rest
            message = _describe_import_failure(name, ep, exc)
            self._errors[name] = message
            logger.warning("%s", message)
            raise UnavailableError(message) from exc
        if self._validate is not None:
            try:
                self._validate(obj)
            except (TypeError, ValueError) as exc:
                message = f"{name!r} ({ep.value}) is unavailable: {exc}"
                self._errors[name] = message
                logger.warning("%s", message)
                raise UnavailableError(message) from exc
        self._loaded[name] = obj
        return obj

    def availability(self, name: str) -> str | None:
        """``None`` if ``name`` loads, else the reason it does not."""
        try:
            self.load(name)
        except UnavailableError as exc:
            return str(exc)
        return None


def _describe_import_failure(name: str, ep: EntryPoint, exc: BaseException) -> str:
    message = f"{name!r} ({ep.value}) is unavailable: {type(exc).__name__}: {exc}"
    missing = getattr(exc, "name", None)
    if isinstance(exc, ImportError) and missing:
        root = missing.split(".")[0]
        extra = _EXTRA_FOR_MODULE.get(root)
        if extra and ep.value.startswith("anobench."):
            message += f" (install it with: pip install 'anobench[{extra}]')"
        else:
            message += f" (install the package that provides {root!r})"
    return message


def validate_detector(obj: Any) -> None:
    """Raise ``TypeError``/``ValueError`` unless ``obj`` is an anobench detector class
    with valid metadata (``modalities`` from :class:`anobench.types.Modality`); the
    methods are :data:`anobench.types.DETECTOR_METHODS`
    (:class:`anobench.contract.BaseDetector` has them all)."""
    if not isinstance(obj, type):
        raise TypeError(f"{obj!r} is not a class; a detector entry point names a class")
    missing = [m for m in DETECTOR_METHODS if not callable(getattr(obj, m, None))]
    if missing:
        raise TypeError(
            f"{obj.__module__}.{obj.__qualname__} is not an anobench detector (no "
            f"{', '.join(missing)}): derive from anobench.contract.BaseDetector, or "
            "use a scikit-learn / PyOD estimator by reference in a suite "
            '(ref = "module:Class")'
        )
    modalities = getattr(obj, "modalities", None)
    if not modalities or isinstance(modalities, str):
        raise ValueError(f"{obj.__qualname__}.modalities must be a non-empty tuple")
    for modality in modalities:
        check_modality(modality, obj.__qualname__)


def validate_dataset(obj: Any) -> None:
    """Raise ``TypeError``/``ValueError`` unless ``obj`` is a data-set spec (a name, a
    valid modality, and ``load_data``/``split``/``fingerprint``)."""
    from anobench.types import check_modality

    missing = [
        m for m in ("load_data", "split", "fingerprint") if not callable(getattr(obj, m, None))
    ]
    if missing or not isinstance(getattr(obj, "name", None), str):
        raise TypeError(
            f"{obj!r:.80} is not a data-set spec (no {', '.join(missing) or 'name'}): "
            "declare an anobench.data.spec.DatasetSpec"
        )
    check_modality(getattr(obj, "modality", None), f"data set {obj.name!r}")


def detector_registry() -> Registry:
    """A fresh registry of the installed detectors (each validated on load)."""
    return Registry(DETECTOR_GROUP, validate=validate_detector)


def dataset_registry() -> Registry:
    """A fresh registry of the installed data sets (each validated on load)."""
    return Registry(DATASET_GROUP, validate=validate_dataset)


def import_ref(ref: str) -> Any:
    """Import ``module:attr`` (an entry-point value) in this process."""
    return EntryPoint(name="_", value=ref, group="_").load()
