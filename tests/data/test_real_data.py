"""Public data sets: file lookup and checksums, loaders on the offline mirror (when it is
beside the project) and on files the tests generate, and the split checks."""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from anobench.data import io as files
from anobench.data.io import DataFileError, DataMissingError, RemoteFile, locate
from anobench.data.splits import SplitError, make_split
from anobench.datasets.images import FASHION, MNIST, load_images, read_idx, vs_fashion_task
from anobench.datasets.series import parse_ucr_name, sliding_windows
from anobench.datasets.tabular import read_mat, read_npz
from anobench.registry import dataset_registry

REGISTRY = dataset_registry()
MIRROR = Path(os.environ.get("ANOBENCH_DATA_DIR", "../shared/data"))
needs_mirror = pytest.mark.skipif(
    not (MIRROR / "MANIFEST.sha256").is_file(), reason=f"no offline data mirror at {MIRROR}"
)


@pytest.fixture
def mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty mirror and cache, downloads off."""
    monkeypatch.setenv(files.DATA_DIR_ENV, str(tmp_path / "mirror"))
    monkeypatch.setenv(files.CACHE_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(files.OFFLINE_ENV, "1")
    (tmp_path / "mirror").mkdir()
    return tmp_path / "mirror"


def _put(mirror: Path, source: str, name: str, payload: bytes) -> RemoteFile:
    (mirror / source).mkdir(parents=True, exist_ok=True)
    (mirror / source / name).write_bytes(payload)
    digest = hashlib.sha256(payload).hexdigest()
    return RemoteFile(source, name, (f"https://example.org/{name}",), f"sha256:{digest}")


def test_locate_reads_the_mirror_and_checks_the_checksum(mirror: Path) -> None:
    file = _put(mirror, "src", "a.bin", b"hello")
    assert locate(file) == mirror / "src" / "a.bin"
    (mirror / "src" / "a.bin").write_bytes(b"hellO")  # corrupted copy
    with pytest.raises(DataFileError, match=r"src/a.bin.*sha256 is .*expected"):
        locate(file)


def test_missing_file_names_the_file_and_what_to_do(mirror: Path) -> None:
    file = RemoteFile("src", "gone.npz", ("https://example.org/gone.npz",), None)
    with pytest.raises(
        DataMissingError, match=r"src/gone.npz is not present .*anobench data fetch"
    ):
        locate(file)


def test_truncated_files_are_clear_errors(mirror: Path) -> None:
    file = _put(mirror, "adbench", "9_x.npz", b"PK\x03\x04 not really a zip")
    with pytest.raises(DataFileError, match="not a readable ADBench .npz"):
        read_npz(file)
    images = gzip.compress(b"\x00\x00\x08\x03" + (10).to_bytes(4, "big") + b"\x00" * 16)
    idx = _put(mirror, "mnist", "short-idx3-ubyte.gz", images)
    with pytest.raises(DataFileError, match="truncated or corrupt"):
        read_idx(str(locate(idx)))


def test_matlab_v73_files_are_read_through_hdf5(mirror: Path) -> None:
    h5py = pytest.importorskip("h5py")
    path = mirror / "odds" / "v73.mat"
    path.parent.mkdir(parents=True)
    X = np.arange(12.0).reshape(4, 3)
    with h5py.File(path, "w", userblock_size=512) as fh:  # MATLAB v7.3 layout: transposed
        fh["X"] = X.T
        fh["y"] = np.array([[0.0, 0.0, 1.0, 0.0]])
    with path.open("r+b") as fh:  # the MATLAB text header in the user block
        fh.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64".ljust(116) + b"\0" * 8 + b"\x00\x02IM")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    data = read_mat(
        RemoteFile("odds", "v73.mat", ("https://example.org/v73.mat",), f"sha256:{digest}")
    )
    np.testing.assert_array_equal(data.X, X)
    np.testing.assert_array_equal(data.y, [0, 0, 1, 0])


def _idx(array: np.ndarray) -> bytes:
    header = (
        b"\x00\x00\x08"
        + bytes([array.ndim])
        + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    )
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def test_fashion_mnist_loader_on_generated_idx_files(
    mirror: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(0)
    for source, table in (("fashion-mnist", FASHION), ("mnist", MNIST)):
        for part, n in (("train", 30), ("t10k", 20)):
            images = rng.integers(0, 256, size=(n, 28, 28))
            labels = np.arange(n) % 10
            for kind, payload in (("images-idx3", _idx(images)), ("labels-idx1", _idx(labels))):
                name = f"{part}-{kind}-ubyte.gz"
                _put(mirror, source, name, payload)
                digest = hashlib.sha256(payload).hexdigest()
                monkeypatch.setitem(
                    table, name, RemoteFile(source, name, table[name].urls, f"sha256:{digest}")
                )
    load_images.cache_clear()
    X, y = load_images("fashion-mnist", "all")
    assert X.shape == (50, 28, 28, 1) and X.max() <= 1.0 and len(y) == 50
    data = vs_fashion_task("test", 5, 0.2)
    assert set(np.unique(data.groups)) == {"normal", "digit-5", "fashion"}
    assert data.y[data.groups == "fashion"].all() and not data.y[data.groups == "normal"].any()
    load_images.cache_clear()


def test_fixed_split_drops_train_rows_that_reappear_in_test() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 3))
    y = np.r_[np.zeros(50, int), np.ones(10, int)]
    X[5] = X[40]  # a training row repeated in the test part
    X[45] = X[44]  # a row repeated inside the test part: both copies stay
    mask = np.arange(60) < 30
    split = make_split(X, y, "novelty", 0, name="fixed", train_mask=mask)
    assert split.metadata["fixed_split"] and split.metadata["train_rows_dropped_as_in_test"] == 1
    assert len(split.X_train) == 29 and len(split.X_test) == 30
    # the published test part, whole (in the split's shuffled order)
    np.testing.assert_array_equal(np.sort(split.test_rows), np.arange(30, 60))
    np.testing.assert_array_equal(split.X_test, X[split.test_rows])
    again = make_split(X, y, "novelty", 7, name="fixed", train_mask=mask)
    np.testing.assert_array_equal(np.sort(split.test_rows), np.sort(again.test_rows))  # any seed
    with pytest.raises(SplitError, match="fixed: test set needs both classes"):
        make_split(X, y, "novelty", 0, name="fixed", train_mask=np.arange(60) < 55)


def test_windows_are_labelled_by_the_points_they_contain() -> None:
    values = np.arange(20.0)
    labels = np.zeros(20, int)
    labels[10] = 1
    X, y, starts = sliding_windows(values, labels, 4, 2)
    assert X.shape == (9, 4) and list(starts) == list(range(0, 17, 2))
    assert [int(v) for v in y] == [0, 0, 0, 0, 1, 1, 0, 0, 0]  # windows 8-11 and 10-13
    with pytest.raises(ValueError, match="window"):
        sliding_windows(values, labels, 1, 1)
    assert parse_ucr_name("135_UCR_Anomaly_InternalBleeding16_1200_4187_4199.txt") == (
        135,
        "InternalBleeding16",
        1200,
        4187,
        4199,
    )


@needs_mirror
def test_every_local_public_data_set_loads_and_splits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(files.DATA_DIR_ENV, str(MIRROR.resolve()))
    monkeypatch.setenv(files.OFFLINE_ENV, "1")
    checked = 0
    for name in REGISTRY.names():
        spec = REGISTRY.load(name)
        if not spec.files or spec.missing_files():
            continue
        split = spec.split("novelty", 0, max_train=500, max_test=500)
        assert split.metadata["n_test_anomalies"] >= 1, name
        assert set(split.metadata["files"]) == {f.relpath for f in spec.files}
        checked += 1
    assert checked >= 70


@needs_mirror
def test_offline_files_match_their_published_facts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(files.DATA_DIR_ENV, str(MIRROR.resolve()))
    cardio = REGISTRY.load("odds/cardio").load_data()
    assert cardio.X.shape == (1831, 21) and cardio.y.sum() == 176
    # the UCR file-name convention equals the TimeEval conversion of the same series
    ucr = REGISTRY.load("ucr/135-internalbleeding16").split("novelty", 0)
    tsad = REGISTRY.load("timeeval/kdd-tsad-135").split("novelty", 0)
    np.testing.assert_array_equal(ucr.X_test, tsad.X_test)
    np.testing.assert_array_equal(ucr.y_test, tsad.y_test)
    # and its training windows lie where they are in time (calibration folds need it)
    np.testing.assert_array_equal(
        np.sort(ucr.train_series.starts), np.sort(tsad.train_series.starts)
    )
    kdd = REGISTRY.load("kddcup99").split("novelty", 0, max_train=2000, max_test=2000)
    assert kdd.metadata["fixed_split"] and kdd.X_train.shape[1] > 41  # one-hot on train
    ecg = REGISTRY.load("ecg5000").load_data()
    assert ecg.X.shape == (4998, 140) and 0.4 < ecg.y.mean() < 0.45


#: ADBench files pinned by issue 12 (not in the offline mirror)
PINNED_LATE = {
    "12_fault": "ec27301f9a4cf7c5d8b22c360cf37ddb043b7fb062465723dfd8b34e2771e5dd",
    "15_Hepatitis": "4a87a2f7d8013e5bfde63294fae61ec7a612322de72f338a7f9491749025ad98",
    "19_landsat": "ba17e2158c07469597b89db49d3982c874c6b713ff6670721ddc88969da77987",
    "21_Lymphography": "dad977b04f4ea65b78ccd0e9f76b45175bad605165b37e63f3cc177845e67037",
    "37_Stamps": "99fe739447284f613fa54bf2dccdb51c5120175ce6260adec6dad77576c42509",
    "44_Wilt": "c70b72aa611ec87b20efb400943ef3ce4f8bf7aa58fcef825fbd28cc5cee3cc9",
    "46_WPBC": "68a6d67242643855713bcdad07d89ecc472bd00000dccc17ba87916eb2693d19",
    "47_yeast": "bbb15c873d78a4f6a589f46d0f75814595e2282d2ae7ce7779c750f276c3770d",
}


@pytest.mark.parametrize("stem", sorted(PINNED_LATE))
def test_late_pinned_adbench_files_are_read_from_the_data_directory(
    stem: str, mirror: Path
) -> None:
    """The loader of a file the mirror lacks reads it the moment a user puts it into
    the data directory, checked against the published sha256."""
    spec = REGISTRY.load(f"adbench/{stem.split('_', 1)[1].lower()}")
    (file,) = spec.files
    assert file.known_hash == f"sha256:{PINNED_LATE[stem]}"
    assert file.relpath == f"adbench/{stem}.npz"
    with pytest.raises(DataMissingError, match=f"adbench/{stem}.npz"):
        spec.fetch()
    # a copy that is not the published file is refused, naming the expected checksum
    (mirror / "adbench").mkdir(exist_ok=True)
    buffer = mirror / "adbench" / f"{stem}.npz"
    np.savez(buffer, X=np.zeros((3, 2)), y=np.array([0, 0, 1]))
    with pytest.raises(DataFileError, match=PINNED_LATE[stem]):
        spec.fetch()
    # the published bytes (simulated by pinning what we wrote) load through the same code
    import dataclasses
    import functools

    from anobench.datasets.tabular import read_npz as reader

    digest = hashlib.sha256(buffer.read_bytes()).hexdigest()
    same = dataclasses.replace(file, known_hash=f"sha256:{digest}")
    data = functools.partial(reader, same)()
    assert data.X.shape == (3, 2) and data.y.tolist() == [0, 0, 1]
