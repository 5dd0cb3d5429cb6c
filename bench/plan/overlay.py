"""A registry with a suite's references added (``ref = "file.py:Class"`` detectors,
``file:`` data sets) under the names the suite chose. A referenced detector is described
by a separate process (:mod:`anobench.plan.describe`), never imported here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from anobench.plan.describe import DESCRIBE_SECONDS, describe
from anobench.plan.imports import (
    FILE_PREFIX,
    BadReferenceError,
    absolute,
    dataset_spec,
    provider,
)
from anobench.registry import Entry, Registry, UnavailableError

__all__ = ["Overlay", "referenced_datasets", "referenced_detectors", "with_references"]


class Overlay:
    """A registry with references added under names chosen in a suite.

    Offers the registry methods the suite expansion uses (``names``, ``entry``,
    ``load``, ``availability``). A name given a reference must not also be registered:
    the suite would be ambiguous. A referenced detector loads as its
    :class:`~anobench.plan.describe.Described`, learnt by a separate process within
    ``seconds`` (the suite's time budget per cell).
    """

    def __init__(
        self,
        registry: Registry,
        refs: dict[str, str],
        kind: str,
        modality: dict[str, str] | None = None,
        seconds: float = DESCRIBE_SECONDS,
    ) -> None:
        self.registry = registry
        self.seconds = seconds
        self.modality = modality or {}
        self.group = registry.group
        self.refs = refs
        self.kind = kind
        clashes = sorted(set(refs) & set(registry.names()))
        if clashes:
            raise BadReferenceError(
                f"{kind} {clashes[0]!r} is a registered name and also given a reference; "
                "name the reference differently"
            )

    def names(self) -> list[str]:
        return sorted({*self.registry.names(), *self.refs})

    def entry(self, name: str) -> Entry:
        if name in self.refs:
            return Entry(name, self.refs[name], provider(self.refs[name]))
        return self.registry.entry(name)

    def load(self, name: str) -> Any:
        if name not in self.refs:
            return self.registry.load(name)
        ref = self.refs[name]
        try:
            if self.kind == "detector":
                return describe(ref, self.seconds)  # user code: described by a separate process
            return dataset_spec(ref, self.modality.get(name, "tabular"))
        except BadReferenceError:
            raise
        except Exception as exc:  # a file data set that cannot be read
            raise UnavailableError(f"{name!r} ({ref}): {type(exc).__name__}: {exc}") from exc

    #: ``None`` if ``name`` loads, else the reason it does not
    availability = Registry.availability


def referenced_detectors(tables: dict[str, dict[str, Any]], base: Path | None) -> dict[str, str]:
    """``{name: absolute reference}`` of a suite's ``[detectors.<name>]`` tables that
    carry a ``ref``."""
    refs = {}
    for name, table in tables.items():
        ref = table.get("ref")
        if ref is None:
            continue
        if not isinstance(ref, str):
            raise BadReferenceError(f"detector {name!r}: ref must be a string, got {ref!r}")
        refs[name] = absolute(ref, base)
    return refs


def referenced_datasets(names: list[str], base: Path | None) -> dict[str, str]:
    """``{name: absolute file: reference}`` of a suite's ``file:`` data sets."""
    return {name: absolute(name, base) for name in names if name.startswith(FILE_PREFIX)}


def with_references(
    detectors: Any,
    datasets: Any,
    detector_tables: dict[str, dict[str, Any]],
    dataset_options: dict[str, dict[str, Any]],
    base: Path | None,
    seconds: float = DESCRIBE_SECONDS,
) -> tuple[Any, Any]:
    """The registries with a suite's references added (:class:`Overlay`); registries
    already overlaid, or a suite with no references, are returned unchanged."""
    if not isinstance(detectors, Overlay):
        refs = referenced_detectors(detector_tables, base)
        if refs:
            detectors = Overlay(detectors, refs, "detector", seconds=seconds)
    if not isinstance(datasets, Overlay):
        refs = referenced_datasets(list(dataset_options), base)
        if refs:
            modality = {
                name: "series" if dataset_options[name].get("time_column") else "tabular"
                for name in refs
            }
            datasets = Overlay(datasets, refs, "dataset", modality)
    return detectors, datasets
