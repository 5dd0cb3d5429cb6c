"""Data by path: ``file:`` data sets in CSV, Parquet, NPZ and .mat, string labels,
categorical columns encoded on the training part only, explicit NaN handling, a time
column, and a fingerprint that is the file's content."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.io

from anobench.data.files import file_dataset, load_file
from anobench.data.io import DataFileError, DataMissingError
from anobench.plan.expansion import expand
from anobench.plan.suite import load_suite
from anobench.registry import dataset_registry, detector_registry

DET, DS = detector_registry(), dataset_registry()


def _frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    status = np.where(np.arange(n) % 10 == 0, "fault", "ok")
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=n) + 5.0 * (status == "fault"),
            "b": rng.normal(size=n),
            "colour": rng.choice(["red", "blue", "green"], n),
            "status": status,
        }
    )
    return frame


def test_csv_with_string_labels_and_a_categorical_column(tmp_path: Path) -> None:
    path = tmp_path / "plant.csv"
    _frame().to_csv(path, index=False)
    spec = file_dataset(path)
    params = {"label": "status", "anomaly_values": ["fault"]}
    data = spec.load_data(params)
    assert data.X.shape == (300, 3) and data.y.sum() == 30
    split = spec.split("novelty", 0, params=params)
    # colour is one-hot encoded (3 columns) by an encoder fitted on the training part
    assert split.X_train.shape[1] == 2 + 3
    assert split.metadata["files"] == {"plant.csv": spec.fetch()["plant.csv"]}
    assert split.metadata["data_fingerprint"] == spec.fingerprint(params)


def test_category_seen_only_in_test_is_ignored_not_learnt(tmp_path: Path) -> None:
    frame = _frame()
    frame.loc[frame["status"] == "fault", "colour"] = "purple"  # only anomalies are purple
    path = tmp_path / "p.csv"
    frame.to_csv(path, index=False)
    split = file_dataset(path).split(
        "novelty", 0, params={"label": "status", "anomaly_values": ["fault"]}
    )
    # novelty training has no anomaly, so no purple column: learnt on train only
    assert split.X_train.shape[1] == 2 + 3


@pytest.mark.parametrize("kind", ["parquet", "npz", "mat"])
def test_parquet_npz_and_mat(tmp_path: Path, kind: str) -> None:
    frame = _frame()
    X = frame[["a", "b"]].to_numpy()
    y = (frame["status"] == "fault").to_numpy().astype(int)
    path = tmp_path / f"d.{kind}"
    params: dict = {}
    if kind == "parquet":
        frame.drop(columns="colour").assign(y=y).drop(columns="status").to_parquet(path)
        params = {"label": "y"}
    elif kind == "npz":
        np.savez(path, features=X, labels=y)
        params = {"features": "features", "label": "labels"}
    else:
        scipy.io.savemat(path, {"X": X, "y": y.reshape(-1, 1)})
    data = load_file(path, **params)
    assert data.X.shape == (300, 2) and int(data.y.sum()) == 30
    assert np.allclose(data.X, X)


def test_missing_values_need_an_explicit_choice(tmp_path: Path) -> None:
    frame = _frame()
    frame.loc[[3, 7, 11], "b"] = np.nan
    frame.loc[5, "colour"] = np.nan
    path = tmp_path / "nan.csv"
    frame.to_csv(path, index=False)
    base = {"label": "status", "anomaly_values": ["fault"]}
    with pytest.raises(ValueError, match=r"column\(s\) 'b' \(3\), 'colour' \(1\).*nan = 'drop'"):
        load_file(path, **base)
    assert len(load_file(path, **base, nan="drop").y) == 296
    spec = file_dataset(path)
    split = spec.split("novelty", 0, params={**base, "nan": "impute"})
    assert np.isfinite(split.X_train).all() and np.isfinite(split.X_test).all()
    assert split.metadata["n_rows"] == 300


def test_bad_files_and_labels_are_clear_errors(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    _frame().to_csv(path, index=False)
    with pytest.raises(ValueError, match="no label column given; set label = one of"):
        load_file(path)
    with pytest.raises(ValueError, match="labels must be 0 .* anomaly_values"):
        load_file(path, label="status")
    with pytest.raises(ValueError, match="none of anomaly_values"):
        load_file(path, label="status", anomaly_values=["broken"])
    with pytest.raises(DataMissingError, match="does not exist"):
        load_file(tmp_path / "absent.csv", label="status")
    (tmp_path / "x.xlsx").write_text("?")
    with pytest.raises(DataFileError, match="unknown file type"):
        load_file(tmp_path / "x.xlsx")
    (tmp_path / "bad.npz").write_text("not a zip")
    with pytest.raises(DataFileError, match="not a readable npz"):
        load_file(tmp_path / "bad.npz")
    frame = _frame()
    frame.loc[0, "a"] = np.inf
    frame.to_csv(tmp_path / "inf.csv", index=False)
    with pytest.raises(ValueError, match=r"infinite values in column\(s\) \['a'\]"):
        load_file(tmp_path / "inf.csv", label="status", anomaly_values=["fault"], nan="drop")


def test_id_columns_huge_values_and_empty_files_are_named(tmp_path: Path) -> None:
    frame = _frame()
    frame["row_id"] = [f"id{i}" for i in range(len(frame))]
    frame.to_csv(tmp_path / "ids.csv", index=False)
    base = {"label": "status", "anomaly_values": ["fault"]}
    with pytest.raises(ValueError, match="text column 'row_id' has 300 distinct values"):
        load_file(tmp_path / "ids.csv", **base)
    assert load_file(tmp_path / "ids.csv", **base, features=["a", "b"]).X.shape == (300, 2)
    frame = _frame()
    frame.loc[0, "b"] = 1e300
    frame.to_csv(tmp_path / "huge.csv", index=False)
    with pytest.raises(ValueError, match=r"values beyond 1e\+150 in column\(s\) \['b'\]"):
        load_file(tmp_path / "huge.csv", **base)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataFileError, match="empty.csv: the file is empty"):
        load_file(tmp_path / "empty.csv", label="y")
    _frame().to_csv(tmp_path / "semi.csv", index=False, sep=";")
    assert load_file(tmp_path / "semi.csv", **base).X.shape == (300, 3)


def test_time_column_makes_windows_split_in_time(tmp_path: Path) -> None:
    n = 400
    rng = np.random.default_rng(0)
    value = np.sin(np.arange(n) / 5) + 0.05 * rng.normal(size=n)
    label = np.zeros(n, dtype=int)
    label[300:305] = 1
    value[300:305] += 3
    frame = pd.DataFrame({"t": np.arange(n)[::-1], "value": value[::-1], "anomaly": label[::-1]})
    frame.to_csv(tmp_path / "s.csv", index=False)
    data = load_file(tmp_path / "s.csv", label="anomaly", time_column="t", window=16, stride=4)
    assert data.X.shape[1] == 16 and data.train_mask is not None
    assert data.y[data.train_mask].sum() == 0 and data.y[~data.train_mask].sum() > 0


def test_suite_with_file_data_and_fingerprint_from_content(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    _frame().to_csv(tmp_path / "data" / "plant.csv", index=False)
    suite_file = tmp_path / "s.toml"
    suite_file.write_text(
        'name = "files"\nprotocols = ["novelty"]\nseeds = [0]\ndetectors = ["iforest"]\n'
        '[datasets."file:data/plant.csv"]\nlabel = "status"\nanomaly_values = ["fault"]\n'
    )
    cells = expand(load_suite(suite_file), DET, DS)
    assert len(cells) == 1 and cells[0].skip_reason is None
    assert cells[0].dataset_params["anomaly_values"] == ["fault"]  # a list, not a grid
    frame = _frame(seed=1)
    frame.to_csv(tmp_path / "data" / "plant.csv", index=False)
    again = expand(load_suite(suite_file), DET, DS)
    assert again[0].data_fingerprint != cells[0].data_fingerprint
