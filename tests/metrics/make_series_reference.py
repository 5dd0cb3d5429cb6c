"""Write tests/fixtures/vus_reference.json: series metrics computed by TSB-AD's reference code.

Not a test. TSB-AD (Apache-2.0) pins numpy < 2 and pulls heavy dependencies, so it is
not a dependency of anobench; this script loads only its ``basic_metrics.py`` from an
unpacked wheel and records the values it gives on seeded synthetic series (derived
numbers, no data fetched). ``tests/metrics/test_series.py`` checks anobench's own
implementation against them to 1e-6.

    pip download tsb-ad==1.5 --no-deps -d /tmp/tsbad
    unzip /tmp/tsbad/TSB_AD-1.5-py3-none-any.whl -d /tmp/tsbad/x
    python tests/metrics/make_series_reference.py /tmp/tsbad/x/TSB_AD/evaluation/basic_metrics.py
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "fixtures" / "vus_reference.json"


def series(seed: int) -> dict:
    """A seeded series: point labels (as ranges), integer scores with ties, a VUS window
    and a threshold. Anomalies at the start, the end, close together or alone."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(150, 700))
    labels = np.zeros(n, dtype=int)
    for _ in range(int(rng.integers(1, 5))):
        length = int(rng.integers(1, 40))
        start = int(rng.integers(0, n - length))
        labels[start : start + length] = 1
    if seed % 7 == 0:
        labels[:5] = 1
    if seed % 5 == 0:
        labels[-3:] = 1
    signal = rng.normal(size=n) + 2.0 * rng.uniform(0.2, 1.5) * labels
    smooth = np.convolve(signal, np.ones(3) / 3, mode="same")
    scores = np.round(smooth * (10 if seed % 3 == 0 else 1000)).astype(int)  # ties
    window = int(rng.integers(0, 60))
    cut = float(np.quantile(scores, rng.uniform(0.7, 0.98)))
    edges = np.flatnonzero(np.diff(np.r_[0, labels, 0]))
    return {
        "seed": seed,
        "n": n,
        "ranges": edges.reshape(-1, 2).tolist(),
        "scores": scores.tolist(),
        "window": window,
        "threshold": cut,
    }


def main(path: str) -> None:
    spec = importlib.util.spec_from_file_location("tsbad_basic_metrics", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = []
    for seed in range(24):
        case = series(seed)
        labels = np.zeros(case["n"], dtype=int)
        for start, stop in case["ranges"]:
            labels[start:stop] = 1
        scores = np.asarray(case["scores"], dtype=float)
        grader = module.basic_metricor()
        *_, vus_roc, vus_pr = module.generate_curve(labels, scores, case["window"])
        preds = (scores >= case["threshold"]).astype(int)
        rows.append(
            {
                **case,
                "vus_roc": float(vus_roc),
                "vus_pr": float(vus_pr),
                "range_f1": float(grader.metric_RF1(labels, scores, preds=preds)),
                "pa_f1": float(grader.metric_PointF1PA(labels, scores, preds=preds)),
            }
        )
    OUT.write_text(
        json.dumps(
            {"reference": "TSB-AD 1.5 (pip: tsb-ad), evaluation/basic_metrics.py", "series": rows}
        )
        + "\n"
    )
    print(f"wrote {OUT} ({len(rows)} series)")


if __name__ == "__main__":
    main(sys.argv[1])
