"""MNIST-style image protocols on the canonical idx files.

Sources (the id says which images a task uses, so a name never silently changes meaning):

- ``mnist``: all 70 000 MNIST images (training + test files);
- ``mnist-test``: the canonical 10 000-image test file alone;
- ``fashion-mnist`` / ``fashion-mnist-test``: the same for Fashion-MNIST.

Protocols (``<source>/<protocol>``); images are (n, 28, 28, 1) floats in [0, 1], and
tabular detectors see them flattened to 784 features:

- ``7-vs-5``, ``2-vs-6``, ``pair`` (parameter ``pair = [normal, anomalous]``): one digit
  normal, another anomalous, subsampled to ``anomaly_ratio`` of the set;
- ``one-vs-rest`` (parameter ``digit``): one class normal, every other class anomalous,
  all kept (the Deep SVDD protocol: about 90% of the test set is anomalous);
- ``corrupted``: every digit normal; a fraction of images is corrupted (rotated, noised, or
  with a blacked-out patch) and anomalous; each row's corruption is recorded as its group,
  and ROC-AUC is also reported per corruption type;
- ``vs-fashion``: digits other than 5 normal; held-out 5s and Fashion-MNIST images anomalous
  (groups ``digit-5`` and ``fashion``), so a run shows near (5s) and far (clothes)
  novelty separately.
"""

from __future__ import annotations

import functools
import gzip
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import ndimage

from anobench.data.io import DataFileError, RemoteFile, locate
from anobench.data.spec import Catalog, Data, DatasetSpec

__all__ = [
    "CORRUPTIONS",
    "DATA_SEED",
    "FASHION",
    "FASHION_ALL",
    "FASHION_TEST",
    "FASHION_URLS",
    "MNIST",
    "MNIST_ALL",
    "MNIST_TEST",
    "MNIST_URLS",
    "corrupt",
    "corrupted_task",
    "load_images",
    "one_vs_rest_task",
    "pair_task",
    "read_idx",
    "vs_fashion_task",
]

#: fixed seed of the anomaly subsampling and corruptions (the cell seed changes the split)
DATA_SEED = 20240521

MNIST_URLS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
FASHION_URLS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)


def _files(source: str, bases: Sequence[str], md5: dict[str, str]) -> dict[str, RemoteFile]:
    return {
        name: RemoteFile(source, name, tuple(b + name for b in bases), f"md5:{digest}")
        for name, digest in md5.items()
    }


MNIST = _files(
    "mnist",
    MNIST_URLS,
    {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
)
FASHION = _files(
    "fashion-mnist",
    FASHION_URLS,
    {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
)

_IDX_DTYPES: dict[int, Any] = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}


def read_idx(path: str) -> np.ndarray:
    """Read a gzipped idx file (the MNIST format) into an array of its stated shape.

    Raises :class:`DataFileError` for a bad header, a truncated body or broken gzip.
    """
    try:
        with gzip.open(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataFileError(f"{path}: not a readable gzip file ({exc})") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataFileError(f"{path}: not an idx file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataFileError(
            f"{path}: idx header says shape {shape} ({expected} bytes) but the file holds "
            f"{len(raw) - header} bytes: truncated or corrupt; delete it and fetch it again"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


@functools.lru_cache(maxsize=4)
def load_images(source: str, part: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (n, 28, 28, 1) float32 in [0, 1] and class labels (n,) of one source.

    ``source``: ``"mnist"`` or ``"fashion-mnist"``; ``part``: ``"all"`` (train + test
    files) or ``"test"``.
    """
    files = MNIST if source == "mnist" else FASHION
    parts = ("train", "t10k") if part == "all" else ("t10k",)
    images, labels = [], []
    for p in parts:
        X = read_idx(str(locate(files[f"{p}-images-idx3-ubyte.gz"])))
        y = read_idx(str(locate(files[f"{p}-labels-idx1-ubyte.gz"])))
        if X.ndim != 3 or y.ndim != 1 or len(X) != len(y):
            raise DataFileError(f"{source} {p}: images {X.shape} and labels {y.shape} do not match")
        images.append(X)
        labels.append(y)
    X = (np.concatenate(images).astype(np.float32) / 255.0)[..., None]
    return X, np.concatenate(labels).astype(np.int64)


def _pick(idx: np.ndarray, count: int | None, rng: np.random.Generator) -> np.ndarray:
    if count is None or count >= len(idx):
        return idx
    return np.sort(rng.choice(idx, size=count, replace=False))


def _count(n_normal: int, ratio: float | None) -> int | None:
    """Anomalies needed for ``ratio`` of the final set (None keeps them all)."""
    if ratio is None:
        return None
    if not 0 < ratio < 1:
        raise ValueError(f"anomaly_ratio must be in (0, 1), got {ratio}")
    return max(2, round(ratio * n_normal / (1 - ratio)))


def _data(X: np.ndarray, is_anomaly: np.ndarray, groups: np.ndarray) -> Data:
    return Data(X, is_anomaly.astype(np.int64), groups=groups)


def _digit(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= value <= 9:
        raise ValueError(f"{what} must be a class 0-9, got {value!r}")
    return int(value)


def pair_task(source: str, part: str, pair: Sequence[int], anomaly_ratio: float | None) -> Data:
    """Class ``pair[0]`` normal, class ``pair[1]`` anomalous (subsampled to the ratio)."""
    if len(pair) != 2:
        raise ValueError(f"pair must be [normal, anomalous], got {pair!r}")
    normal, anomalous = _digit(pair[0], "pair[0]"), _digit(pair[1], "pair[1]")
    if normal == anomalous:
        raise ValueError(f"pair needs two different classes, got {pair!r}")
    X, labels = load_images(source, part)
    rng = np.random.default_rng(DATA_SEED)
    idx_n = np.flatnonzero(labels == normal)
    idx_a = _pick(np.flatnonzero(labels == anomalous), _count(len(idx_n), anomaly_ratio), rng)
    idx = np.r_[idx_n, idx_a]
    y = np.r_[np.zeros(len(idx_n)), np.ones(len(idx_a))]
    groups = np.where(y == 1, f"digit-{anomalous}", "normal")
    return _data(X[idx], y, groups)


def one_vs_rest_task(source: str, part: str, digit: int, anomaly_ratio: float | None) -> Data:
    """Class ``digit`` normal; every other class anomalous (all kept by default)."""
    digit = _digit(digit, "digit")
    X, labels = load_images(source, part)
    rng = np.random.default_rng(DATA_SEED)
    idx_n = np.flatnonzero(labels == digit)
    idx_a = _pick(np.flatnonzero(labels != digit), _count(len(idx_n), anomaly_ratio), rng)
    idx = np.r_[idx_n, idx_a]
    y = (labels[idx] != digit).astype(np.int64)
    groups = np.where(y == 1, np.char.add("class-", labels[idx].astype(str)), "normal")
    return _data(X[idx], y, groups)


CORRUPTIONS = ("rotate", "noise", "patch")


def corrupt(images: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """Corrupt (n, 28, 28, 1) images in [0, 1].

    ``rotate``: by a random angle of 90-270 degrees; ``noise``: Gaussian noise with
    standard deviation 0.5, clipped to [0, 1]; ``patch``: a random 12x12 square set to 0.
    """
    out = images.copy()
    n = len(out)
    if kind == "rotate":
        for i, angle in enumerate(rng.uniform(90, 270, size=n)):
            out[i, :, :, 0] = ndimage.rotate(out[i, :, :, 0], angle, reshape=False, order=1)
    elif kind == "noise":
        out = out + rng.normal(0.0, 0.5, size=out.shape).astype(out.dtype)
    elif kind == "patch":
        size = 12
        for i, (r, c) in enumerate(rng.integers(4, 28 - size - 4 + 1, size=(n, 2))):
            out[i, r : r + size, c : c + size, :] = 0.0
    else:
        raise ValueError(f"unknown corruption {kind!r}; choose from {', '.join(CORRUPTIONS)}")
    return np.clip(out, 0.0, 1.0)


def corrupted_task(source: str, part: str, fraction: float, kinds: Sequence[str]) -> Data:
    """All classes normal; ``fraction`` of the images corrupted (kinds in equal shares)."""
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    kinds = list(kinds)
    for kind in kinds:
        if kind not in CORRUPTIONS:
            raise ValueError(f"unknown corruption {kind!r}; choose from {', '.join(CORRUPTIONS)}")
    X, _ = load_images(source, part)
    rng = np.random.default_rng(DATA_SEED)
    chosen = rng.choice(len(X), size=round(fraction * len(X)), replace=False)
    X = X.copy()
    groups = np.full(len(X), "normal", dtype=object)
    for kind, rows in zip(kinds, np.array_split(chosen, len(kinds)), strict=True):
        X[rows] = corrupt(X[rows], kind, rng)
        groups[rows] = kind
    y = (groups != "normal").astype(np.int64)
    return _data(X, y, groups.astype(str))


def vs_fashion_task(part: str, held_out: int, anomaly_ratio: float) -> Data:
    """Digits other than ``held_out`` normal; the held-out digit and Fashion-MNIST images
    anomalous, each group half of ``anomaly_ratio``."""
    held_out = _digit(held_out, "held_out")
    X, labels = load_images("mnist", part)
    F, _ = load_images("fashion-mnist", part)
    rng = np.random.default_rng(DATA_SEED)
    idx_n = np.flatnonzero(labels != held_out)
    total = _count(len(idx_n), anomaly_ratio)
    assert total is not None
    idx_d = _pick(np.flatnonzero(labels == held_out), (total + 1) // 2, rng)
    idx_f = _pick(np.arange(len(F)), total // 2, rng)
    X_all = np.concatenate([X[idx_n], X[idx_d], F[idx_f]])
    y = np.r_[np.zeros(len(idx_n)), np.ones(len(idx_d) + len(idx_f))]
    groups = np.array(
        ["normal"] * len(idx_n) + [f"digit-{held_out}"] * len(idx_d) + ["fashion"] * len(idx_f)
    )
    return _data(X_all, y, groups)


_LECUN = (
    "LeCun, Bottou, Bengio, Haffner (1998). Gradient-based learning applied to document "
    "recognition."
)
_XIAO = "Xiao, Rasul, Vollgraf (2017). Fashion-MNIST. arXiv:1708.07747."


def _load_pair(source: str, part: str, *, pair: Sequence[int], anomaly_ratio: float | None) -> Data:
    return pair_task(source, part, tuple(pair), anomaly_ratio)


def _load_ovr(source: str, part: str, *, digit: int, anomaly_ratio: float | None) -> Data:
    return one_vs_rest_task(source, part, digit, anomaly_ratio)


def _load_corrupted(source: str, part: str, *, fraction: float, kinds: Sequence[str]) -> Data:
    return corrupted_task(source, part, fraction, tuple(kinds))


def _load_vs_fashion(part: str, *, held_out: int, anomaly_ratio: float) -> Data:
    return vs_fashion_task(part, held_out, anomaly_ratio)


def _specs(source: str, part: str) -> dict[str, DatasetSpec]:
    files = MNIST if source == "mnist" else FASHION
    wanted = ("train", "t10k") if part == "all" else ("t10k",)
    own = tuple(f for name, f in files.items() if name.split("-")[0] in wanted)
    prefix = source + ("-test" if part == "test" else "")
    images = (
        "all 70 000 images (training and test files)"
        if part == "all"
        else "the canonical 10 000-image test file"
    )
    what = f"{prefix}: {images}"
    kind = "digit" if source == "mnist" else "class"
    common = {
        "modality": "image",
        "licence": "CC BY-SA 3.0" if source == "mnist" else "MIT",
        "citation": _LECUN if source == "mnist" else _XIAO,
        "files": own,
    }
    specs = {
        "pair": DatasetSpec(
            name=f"{prefix}/pair",
            load=functools.partial(_load_pair, source, part),
            params={"pair": [7, 5], "anomaly_ratio": 0.1},
            description=f"{what}; {kind} pair[0] normal, {kind} pair[1] anomalous "
            "(subsampled to anomaly_ratio).",
            **common,
        ),
        "one_vs_rest": DatasetSpec(
            name=f"{prefix}/one-vs-rest",
            load=functools.partial(_load_ovr, source, part),
            params={"digit": 0, "anomaly_ratio": None},
            description=f"{what}; one {kind} normal, all others anomalous (Deep SVDD protocol).",
            **common,
        ),
    }
    if source == "mnist":
        for a, b in ((7, 5), (2, 6)):
            specs[f"d{a}_vs_{b}"] = DatasetSpec(
                name=f"{prefix}/{a}-vs-{b}",
                load=functools.partial(_load_pair, source, part),
                params={"pair": [a, b], "anomaly_ratio": 0.1},
                description=f"{what}; digit {a} normal, digit {b} anomalous (10%).",
                **common,
            )
        specs["corrupted"] = DatasetSpec(
            name=f"{prefix}/corrupted",
            load=functools.partial(_load_corrupted, source, part),
            params={"fraction": 0.1, "kinds": list(CORRUPTIONS)},
            description=f"{what}; all digits normal, a fraction rotated / noised / patched "
            "(per-corruption ROC-AUC recorded).",
            **common,
        )
        fashion = tuple(f for name, f in FASHION.items() if name.split("-")[0] in wanted)
        specs["vs_fashion"] = DatasetSpec(
            name=f"{prefix}/vs-fashion",
            load=functools.partial(_load_vs_fashion, part),
            params={"held_out": 5, "anomaly_ratio": 0.1},
            description=f"{what} + Fashion-MNIST; digits except 5 normal, 5s and clothes "
            "anomalous (per-group ROC-AUC recorded).",
            modality="image",
            licence="CC BY-SA 3.0 (MNIST), MIT (Fashion-MNIST)",
            citation=f"{_LECUN} {_XIAO}",
            files=own + fashion,
        )
    return specs


MNIST_ALL = Catalog(_specs("mnist", "all"))
MNIST_TEST = Catalog(_specs("mnist", "test"))
FASHION_ALL = Catalog(_specs("fashion-mnist", "all"))
FASHION_TEST = Catalog(_specs("fashion-mnist", "test"))
