"""The HTML report of a `quick` run, opened in headless Chromium: it must render its
tables and linked images (not a blank page), open with the summary, and sort a table
when a header is clicked."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from anobench.cli import main

#: a Chromium page per test and the quick suite's report behind it: `make test-slow`
pytestmark = pytest.mark.slow

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


def _cells(dom: str, table_id: str) -> list[list[str]]:
    """Text of each body row's cells of the table ``table_id`` in a dumped DOM."""
    match = re.search(rf'<table[^>]*id="{table_id}".*?<tbody>(.*?)</tbody>', dom, re.S)
    assert match, f"no table {table_id}"
    rows = re.findall(r"<tr>(.*?)</tr>", match.group(1), re.S)
    return [
        [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
        for row in rows
    ]


def _number(text: str) -> float:
    match = re.match(r"[\s(*]*([-+]?\d*\.?\d+)", text)
    return float(match.group(1)) if match else float("inf")


def test_report_folder_holds_the_page_and_its_figures(quick_report: Path) -> None:
    page = quick_report.read_text()
    folder = quick_report.parent
    assert "<table" in page and "data:image" not in page  # figures linked, not embedded
    assert len(page.encode()) < 1_000_000
    assert not re.search(r"""(src|href)=["']https?://""", page)  # nothing fetched
    sources = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert len(sources) >= 10
    for src in sources:
        assert not src.startswith(("/", "file:")) and (folder / src).is_file(), src
    for part in (
        "Friedman",
        "Critical-difference",
        "reconstructions",
        "latent codes",
        "Run metadata",
        "scikit-learn",
    ):
        assert part in page, part
    # the answer first: the summary section opens <main>, before the leaderboards
    assert page.index('<section id="summary">') < page.index('<section id="leaderboards">')
    assert page.index("<main>") < page.index('<section id="summary">') < page.index("<table")
    # summary figures and CD diagrams in PNG, PDF and SVG (per-data-set ones in PNG unless
    # --vector-all), every file name slugged
    pngs = sorted(folder.rglob("*.png"))
    per_dataset = ("overview_", "recon_", "latent_")
    summary = [p for p in pngs if not p.name.startswith(per_dataset)]
    assert summary and len(summary) < len(pngs)
    for png in summary:
        assert png.with_suffix(".pdf").is_file() and png.with_suffix(".svg").is_file(), png
    for png in set(pngs) - set(summary):
        assert not png.with_suffix(".pdf").exists(), png
    for path in folder.rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            assert re.fullmatch(r"[a-z0-9_-]+\.[a-z]+", path.name), path.name
    assert (folder / "leaderboard_novelty_roc_auc.tex").is_file()


def test_report_renders_in_chromium_summary_first_and_sorts(
    quick_report: Path, tmp_path: Path
) -> None:
    if CHROMIUM is None:
        pytest.skip(
            "Debian's chromium is not installed (make test installs it with apt-get "
            "when run as root)"
        )
    url = quick_report.resolve().as_uri()
    dom = subprocess.run(
        [CHROMIUM, *FLAGS, "--window-size=1400,1000", "--dump-dom", url],
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
    assert attrs["images-ok"] == attrs["images-total"], "some images did not load"
    # the summary is the first section and starts on the first screen
    assert attrs["first-section"] == "summary"
    assert 0 <= int(attrs["first-section-top"]) < 400

    # clicking the "mean" header (column 2) sorts the leaderboard by it, ascending
    table = "lb-novelty_roc_auc"
    before = _cells(dom, table)
    ranks = [_number(row[1]) for row in before if row[1] != "not ranked"]
    assert ranks == sorted(ranks)  # by average rank as written
    clicked = subprocess.run(
        [CHROMIUM, *FLAGS, "--dump-dom", f"{url}#click={table}:2"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    after = _cells(clicked, table)
    means = [_number(row[2]) for row in after]
    assert sorted(map(tuple, after)) == sorted(map(tuple, before))  # same rows
    assert means == sorted(means) and after != before
    assert re.search(r'<th aria-sort="ascending">mean</th>', clicked)

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
