"""Building blocks of the report page (:mod:`anobench.report.render.html`): escaped tables that the
page's script sorts (click a header) and filters (a text box), figures linked as files
of the report folder, and the sections that list: comparisons with published tables,
protocol effects, failures, the run's metadata and history."""

from __future__ import annotations

import hashlib
import html
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from anobench.metrics.cell import metric
from anobench.plan import presets
from anobench.report.model import FigureFile, Report, file_stem
from anobench.report.render.protocol_effect import mover_table, spearman_text

__all__ = [
    "comparisons",
    "e",
    "effects",
    "failures",
    "figure",
    "flaws",
    "metadata",
    "table",
]


def e(text: Any) -> str:
    """``text`` escaped for HTML."""
    return html.escape(str(text))


def table(
    rows: Sequence[Sequence[Any]],
    headers: Sequence[str],
    *,
    best: Collection[tuple[int, int]] = (),
    search: bool = False,
    table_id: str | None = None,
) -> str:
    """A sortable table (click a header: the page's script sorts the rows by that
    column, numbers by value) in a horizontally scrolling box; the ``best`` cells in
    bold; with ``search``, a text box above that hides the rows not containing its
    text."""
    tid = table_id or "t" + hashlib.sha256(repr((headers, rows)).encode()).hexdigest()[:10]
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cells = []
        for j, cell in enumerate(row):
            text = e(cell)
            cells.append(
                f"<td><b>{text}</b></td>" if (i, j) in best and text else f"<td>{text}</td>"
            )
        body.append("<tr>" + "".join(cells) + "</tr>")
    box = (
        f'<input class="filter" type="search" placeholder="filter rows" data-table="{tid}">'
        if search
        else ""
    )
    return (
        f'{box}<div class="scroll"><table class="sortable" id="{tid}"><thead><tr>{head}</tr>'
        f"</thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def figure(path: Path | None, caption: str, root: Path) -> str:
    """``<figure>`` showing the PNG ``path`` by its path relative to the report folder
    ``root`` (not embedded: the page stays small), with links to its PDF and SVG."""
    if path is None or not Path(path).is_file():
        return ""
    fig = FigureFile(Path(path), caption, "")
    src = Path(path).relative_to(root).as_posix()
    links = " ".join(
        f'<a href="{e(p.relative_to(root).as_posix())}">{p.suffix[1:].upper()}</a>'
        for p in fig.formats()
    )
    return (
        f'<figure><a href="{e(src)}"><img alt="{e(caption)}" src="{e(src)}"></a>'
        f"<figcaption>{e(caption)} <span class='note'>{links}</span></figcaption></figure>"
    )


def flaws(protocol: str) -> str:
    """A published preset's description and known flaws as a list; ``""`` for a clean
    protocol."""
    preset = presets.get(protocol)
    if preset is None:
        return ""
    head, *lines = preset.describe().split("\n")
    items = "".join(f"<li>{e(f.removeprefix('- '))}</li>" for f in lines if f.startswith("- "))
    return f"<p class='bad'>{e(head)}. Known flaws:</p><ul class='note'>{items}</ul>"


def _seeds_by_protocol(frame: pd.DataFrame) -> str:
    """The seeds each protocol ran, e.g. ``adbench-2022: 1, 2, 3; unsupervised: 0, 1, 2``."""
    parts = []
    for protocol, seeds in frame.groupby("protocol")["seed"]:
        values = sorted({int(s) for s in seeds.dropna()})
        parts.append(f"{protocol}: {', '.join(map(str, values))}")
    return "; ".join(parts)


def metadata(report: Report) -> str:
    """The run (suite, versions, seeds, machine), the code behind each detector's
    results, the packages, the data fingerprints, the invocations and the data files
    read."""
    frame, manifest, suite = report.frame, report.manifest, report.suite
    env = manifest.get("environment") or {}
    calibration = suite.get("calibration") or {}
    folds = calibration.get("folds") if calibration.get("method") == "crossfit" else None
    rows = [
        ["suite", suite.get("name", "")],
        ["description", suite.get("description", "")],
        ["anobench", manifest.get("anobench_version", "")],
        ["started", manifest.get("started_at", "")],
        ["protocols", ", ".join(suite.get("protocols", []))],
        ["seeds", _seeds_by_protocol(frame)],
        ["time budget per cell (s)", suite.get("time_budget", "")],
        ["python", f"{env.get('python', '')} ({env.get('implementation', '')})"],
        ["platform", env.get("platform", "")],
        ["CPU cores", env.get("cpu_count", "")],
        [
            "label-free thresholds",
            f"calibrated out of sample: {calibration.get('method', '')}"
            + (f", {folds} folds" if folds else "")
            + f"; expected contamination {suite.get('expected_contamination', '')}",
        ],
    ]
    packages = [[k, v or "not installed"] for k, v in sorted((env.get("packages") or {}).items())]
    ran = frame[frame["status"] != "missing"]
    data_rows = [
        [name, ", ".join(sorted({str(f) for f in part["data_fingerprint"].dropna()}))]
        for name, part in ran.groupby("dataset")
    ]
    code_rows = []
    for label, part in ran.groupby("label"):
        first = part.iloc[0]
        code_rows.append(
            [
                label,
                first.get("provider", ""),
                first.get("source_hash") or "(versioned release)",
                "yes" if first.get("transductive") else "",
            ]
        )
    harness = sorted({str(h) for h in ran.get("harness", pd.Series(dtype=str)).dropna()})
    inv_rows = [
        [
            inv.get("started_at", ""),
            (inv.get("suite") or {}).get("name", ""),
            inv.get("n_cells", ""),
            ", ".join(map(str, (inv.get("suite") or {}).get("seeds") or []))
            or "each protocol's default",
            inv.get("anobench_version", ""),
            "yes" if inv.get("force") else "",
        ]
        for inv in report.invocations
    ]
    files = [[path, digest] for path, digest in sorted(report.files.items())]
    return (
        "<h3>Run</h3>"
        + table(rows, ["", ""])
        + "<h3>Code behind the results</h3>"
        + table(code_rows, ["detector", "provided by", "source sha256", "batch-dependent"])
        + f"<p class='note'>harness: {e(', '.join(harness))}</p>"
        + "<h3>Packages</h3>"
        + table(packages, ["package", "version"], search=True)
        + "<h3>Data sets (fingerprint: sha256 of the data actually loaded: its files, or its "
        "arrays for embedded data)</h3>"
        + table(data_rows, ["data set", "fingerprint"])
        + "<h3>Invocations of this run directory</h3>"
        + table(inv_rows, ["started", "suite", "cells", "seeds", "anobench", "forced"])
        + ("<h3>Data files read (sha256)</h3>" + table(files, ["file", "sha256"]) if files else "")
    )


def failures(report: Report, limit: int = 500) -> str:
    """The cells without a result, grouped by (detector, status, message): one row per
    cause with its full message, how many cells it hit and where (data sets, seeds), at
    most ``limit`` rows; every cell is in ``results.csv``."""
    bad = report.failures
    if bad.empty:
        return "<p>Every cell finished ok.</p>"
    frame = bad.assign(message=bad["error"].fillna("").astype(str))
    groups = frame.groupby(["label", "status", "message"], sort=False, dropna=False)
    rows = []
    for (label, status, message), part in groups:
        datasets = sorted(part["dataset"].astype(str).unique())
        shown = ", ".join(datasets[:4]) + (f" (+{len(datasets) - 4})" if len(datasets) > 4 else "")
        seeds = sorted({int(s) for s in part["seed"].dropna()})
        rows.append([label, status, len(part), shown, ", ".join(map(str, seeds)), message])
    rows.sort(key=lambda r: (-r[2], str(r[0])))
    more = len(rows) - limit
    return table(
        rows[:limit], ["detector", "status", "cells", "data sets", "seeds", "message"], search=True
    ) + (f"<p class='note'>... {more} more causes in results.csv</p>" if more > 0 else "")


def comparisons(report: Report) -> str:
    """Per comparison with a published table: per detector, how many cells reproduce
    it; then every cell that does not, with its verdict."""
    from anobench.report.render.published import (
        CELL_HEADERS,
        SUMMARY_HEADERS,
        display_rows,
        file_stem,
    )

    parts = []
    for c in report.comparisons:
        parts.append(f"<h3>{e(c.title)}</h3>" + flaws(c.protocol))
        if c.summary.empty:
            parts.append("<p>(no cell of the run matches a published value)</p>")
        else:
            rows = display_rows(c.summary, SUMMARY_HEADERS)
            parts.append(table(rows, list(SUMMARY_HEADERS.values())))
        beyond = c.beyond.sort_values(["detector", "dataset"])
        if len(beyond):
            rows = display_rows(beyond, CELL_HEADERS)
            parts.append(
                f"<details open><summary>{len(beyond)} cells not reproduced</summary>"
                + table(rows, list(CELL_HEADERS.values()), search=True)
                + "</details>"
            )
        if len(c.missing):
            items = "".join(
                f"<li>{e(r.column)}: {e(r.detector + ': ' if r.detector else '')}{e(r.reason)}</li>"
                for r in c.missing.itertuples()
            )
            parts.append(f"<p>Published columns not reproduced:</p><ul class='note'>{items}</ul>")
        stem = file_stem(c)
        parts.append(f"<p class='note'>Every cell: {stem}.md, {stem}.csv</p>")
    return "\n".join(parts)


def effects(report: Report) -> str:
    """Each published protocol against its clean one: rank correlation, top movers."""
    parts = []
    for ef in report.effects:
        parts.append(
            f"<h3>{e(ef.preset.name)} vs {e(ef.clean)} ({e(metric(ef.metric).title)})</h3>"
            + flaws(ef.preset.name)
            + "<p>Spearman rank correlation of the detectors' means, over the data sets "
            f"every detector has under both protocols: {e(spearman_text(ef))}</p>"
        )
        headers, rows = mover_table(ef)
        if rows:
            parts.append(
                f"<p>The {len(rows)} largest differences, with what was recorded for the data "
                "set:</p>" + table(rows, headers)
            )
        stem = file_stem(f"protocol_effect_{ef.preset.name}")
        parts.append(f"<p class='note'>Every cell: {stem}.md, {stem}.csv</p>")
    return "\n".join(parts)
