"""The HTML report of a `quick` run, opened in headless Chromium: it must render its
tables and images (not a blank page)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from anobench.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--virtual-time-budget=10000",
]


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of a slice of the `quick` suite: classical and deep detectors, a tabular
    and an image data set, both protocols, one seed."""
    out = tmp_path_factory.mktemp("quick")
    code = main(
        [
            "run",
            "quick",
            "--detectors",
            "iforest,pyod-knn,ae,cae",
            "--datasets",
            "wine,digits-0",
            "--seeds",
            "0",
            "--jobs",
            "2",
            "--quiet",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return out / "report" / "index.html"


def test_report_is_self_contained_and_renders_in_chromium(
    quick_report: Path, tmp_path: Path
) -> None:
    page = quick_report.read_text()
    assert "<table" in page and "data:image/png;base64," in page
    assert not re.search(r"""(src|href)=["']https?://""", page)  # nothing fetched
    for part in (
        "Friedman",
        "Critical-difference",
        "reconstructions",
        "latent codes",
        "Run metadata",
        "scikit-learn",
    ):
        assert part in page, part
    if CHROMIUM is None:
        pytest.skip(
            "Debian's chromium is not installed (make test installs it with apt-get "
            "when run as root)"
        )
    url = quick_report.resolve().as_uri()
    dom = subprocess.run(
        [CHROMIUM, *FLAGS, "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    body = re.search(r"<body([^>]*)>", dom)
    assert body, "no <body> in the rendered DOM"
    attrs = dict(re.findall(r'data-([\w-]+)="([^"]*)"', body.group(1)))
    assert attrs.get("rendered") == "yes", "the page's load handler did not run"
    assert int(attrs["tables"]) >= 8
    assert int(attrs["images-total"]) >= 10
    assert attrs["images-ok"] == attrs["images-total"], "some images did not decode"

    shot = tmp_path / "report.png"
    subprocess.run(
        [CHROMIUM, *FLAGS, "--window-size=1400,2000", f"--screenshot={shot}", url],
        capture_output=True,
        timeout=120,
        check=True,
    )
    import matplotlib.image as mpimg

    pixels = mpimg.imread(shot)[..., :3]
    assert pixels.shape[:2] == (2000, 1400)
    not_background = np.mean(np.abs(pixels - pixels[-1, -1]).sum(axis=-1) > 0.1)
    assert not_background > 0.05, f"only {not_background:.1%} of the page differs from blank"
    assert pixels.std() > 0.05
