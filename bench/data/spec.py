"""Data-set specifications: what a data set is, its files, and how to load and split it."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from anobench.data.io import RemoteFile, file_hash, find_local, locate
from anobench.data.splits import make_split
from anobench.provenance import source_hash
from anobench.seeding import canonical_json
from anobench.types import Data, Protocol, Split, check_modality

__all__ = ["Catalog", "Data", "DatasetSpec", "Loader", "data_digest", "identifier"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Catalog:
    """A namespace of specs that entry points reach as ``module:CATALOG.<identifier>``."""

    specs: dict[str, DatasetSpec]

    def __getattr__(self, attr: str) -> DatasetSpec:
        try:
            return self.specs[attr]
        except KeyError:
            raise AttributeError(attr) from None

    def names(self) -> list[str]:
        """Registry ids of the specs, e.g. ``adbench/cardio``."""
        return sorted(spec.name for spec in self.specs.values())


def data_digest(data: Data) -> str:
    """sha256 of a :class:`Data`'s arrays (dtype, shape and bytes of each)."""
    digest = hashlib.sha256()
    for array in (data.X, data.y, data.groups, data.train_mask):
        if array is None:
            digest.update(b"none")
            continue
        arr = np.ascontiguousarray(array)
        if arr.dtype.kind in "OU":  # labels of groups: hash their text
            arr = np.asarray(arr.astype(str)).astype("U")
        digest.update(f"{arr.dtype.str}{arr.shape}".encode())
        digest.update(arr.tobytes())
    return digest.hexdigest()


def _file_identity(file: RemoteFile) -> str:
    """A file's content identity: its pinned checksum (every read is checked against it),
    else the sha256 of the local copy (``<relpath>:missing`` when there is none)."""
    if file.known_hash:
        return file.known_hash
    path = find_local(file)
    return f"sha256:{file_hash(path)}" if path is not None else f"{file.relpath}:missing"


def identifier(name: str) -> str:
    """``satimage-2`` -> ``satimage_2``: a name as an attribute that an entry point can
    reference."""
    return re.sub(r"\W", "_", name)


Loader = Callable[..., "Data | tuple[np.ndarray, np.ndarray]"]


@dataclass(frozen=True)
class DatasetSpec:
    """What a data set is and how to load it.

    Parameters
    ----------
    name : registry id.
    modality : ``"tabular"``, ``"image"`` or ``"series"``.
    load : callable ``load(**params)`` returning a :class:`Data` (or a tuple ``(X, y)``).
        Must be deterministic.
    description, licence, citation : provenance shown by ``anobench data list / info``.
    files : the public files the loader reads (URL + checksum); empty for embedded data.
    params : the loader's parameters and their defaults; a suite may override them.
    transform : builds a fresh scikit-learn transformer that is fitted on the training
        part of each split only and applied to both parts (e.g. one-hot encoding).
    version : bump when the generator or preprocessing changes (enters the fingerprint).
    """

    name: str
    modality: str
    load: Loader
    description: str = ""
    licence: str = ""
    citation: str = ""
    files: tuple[RemoteFile, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    transform: Callable[[], Any] | None = None
    version: str = "1"

    def __post_init__(self) -> None:
        # a misspelt modality would silently give the data set no cells
        object.__setattr__(
            self, "modality", check_modality(self.modality, f"data set {self.name!r}")
        )
        if not callable(self.load):
            raise TypeError(f"data set {self.name!r}: load must be callable")

    def param_names(self) -> list[str]:
        """Names of the loader parameters a suite may set."""
        return sorted(self.params)

    def resolve_params(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults updated with ``params``; :class:`ValueError` for an unknown name."""
        params = dict(params or {})
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            accepted = ", ".join(self.param_names()) or "none"
            raise ValueError(
                f"data set {self.name!r} has no parameter {unknown[0]!r} (parameters: {accepted})"
            )
        return {**self.params, **params}

    def fingerprint(self, params: Mapping[str, Any] | None = None) -> str:
        """Identity of the data for cell ids, from what is actually loaded.

        File-backed data: each file's pinned checksum (every read is checked against it)
        or, unpinned, the sha256 of the local copy; and the source hash of the loader and
        transform code that turns the files into arrays. Embedded or generated data: the
        bytes of the loaded arrays, so editing a generator or a file the loader reads
        changes the fingerprint. Also the name, version and resolved loader parameters.
        Returns 16 hex digits.
        """
        resolved = self.resolve_params(params)
        if self.files:
            parts = [_file_identity(f) for f in self.files] + self._code_identity()
        else:
            parts = [data_digest(self.load_data(resolved))]
        return self._fingerprint(parts, resolved)

    def _code_identity(self) -> list[str]:
        """Source hashes of the loader and transform (file-backed data only)."""
        return [f"code:{source_hash(obj)}" for obj in (self.load, self.transform) if obj]

    def _fingerprint(self, parts: list[str], resolved: Mapping[str, Any]) -> str:
        text = "|".join([self.name, self.version, *parts, canonical_json(resolved)])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def missing_files(self) -> list[RemoteFile]:
        """The files with no local copy (mirror or cache). Never downloads."""
        return [f for f in self.files if find_local(f) is None]

    def fetch(self, *, download: bool = True) -> dict[str, str]:
        """Make every file available and verified; returns ``{relpath: sha256}``.

        Raises :class:`~anobench.data.io.DataFileError` (or its subclass
        ``DataMissingError``) naming the file and what to do.
        """
        return {f.relpath: file_hash(locate(f, download=download)) for f in self.files}

    def load_data(self, params: Mapping[str, Any] | None = None) -> Data:
        """Load with the given parameters, as a :class:`Data`."""
        out = self.load(**self.resolve_params(params))
        return out if isinstance(out, Data) else Data(*out)

    def transform_for(self, params: Mapping[str, Any] | None = None) -> Callable[[], Any] | None:
        """The train-only transformer factory for these loader parameters (by default
        ``transform``; a file data set picks its encoder from the columns)."""
        return self.transform

    def split(
        self,
        protocol: Protocol | str,
        seed: int,
        *,
        params: Mapping[str, Any] | None = None,
        test_size: float = 0.4,
        max_train: int | None = None,
        max_test: int | None = None,
    ) -> Split:
        """Load the data and return a checked split (see
        :func:`anobench.data.splits.make_split`).

        The split's metadata records the sha256 of every file read and the fingerprint
        (:meth:`fingerprint`) of the data actually loaded, ``data_fingerprint``.
        """
        data, identity = self.load_verified(params)
        split = make_split(
            data.X,
            data.y,
            protocol,
            seed,
            name=self.name,
            groups=data.groups,
            train_mask=data.train_mask,
            transform=self.transform_for(params),
            test_size=test_size,
            max_train=max_train,
            max_test=max_test,
        )
        split.metadata.update(identity)
        return _with_points(split, data, self.name)

    def load_verified(self, params: Mapping[str, Any] | None = None) -> tuple[Data, dict[str, Any]]:
        """Fetch, verify and load the data; returns it with its identity for the record:
        ``files`` (``{relpath: sha256}`` of every file read) and ``data_fingerprint``
        (:meth:`fingerprint` of the data actually loaded)."""
        resolved = self.resolve_params(params)
        files = self.fetch()
        data = self.load_data(resolved)
        if self.files:
            parts = [_file_identity(f) for f in self.files] + self._code_identity()
        else:
            parts = [data_digest(data)]
        return data, {"files": files, "data_fingerprint": self._fingerprint(parts, resolved)}


def _with_points(split: Split, data: Data, name: str) -> Split:
    """``split`` with the point layout of its test windows (:attr:`Split.series`) when
    the data are windows of a series: the test rows (those outside ``train_mask``) in the
    split's order; a subsampled test part (``max_test``) gets no layout (its windows no
    longer cover the test region). The training windows' layout
    (:attr:`Split.train_series`, for calibration folds in time) is kept in every case."""
    if data.series is None or data.train_mask is None:
        return split
    if split.train_rows is not None:
        split = dataclasses.replace(split, train_series=data.series.take(split.train_rows))
    test_rows = ~np.asarray(data.train_mask, dtype=bool)
    if split.metadata.get("subsampled_test") or int(test_rows.sum()) != len(split.y_test):
        logger.info("%s: test windows subsampled, no point-level metrics", name)
        return split
    # the test windows in the split's (shuffled) order
    rows = split.test_rows if split.test_rows is not None else np.flatnonzero(test_rows)
    return dataclasses.replace(split, series=data.series.take(rows))
