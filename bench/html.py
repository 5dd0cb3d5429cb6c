"""The report's single self-contained HTML page: leaderboards, statistics, critical-
difference diagrams, plots (embedded as base64 PNG) and the run's metadata (versions,
seeds, data checksums, machine). No external file, script or font is referenced."""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from tabulate import tabulate

from anobench import presets
from anobench.metrics import metric

__all__ = ["write_html"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222;
background:#fafafa}
header{background:#123;color:#fff;padding:1rem 2rem}header h1{margin:0 0 .3rem 0}
main{padding:1rem 2rem;max-width:1600px}
section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
table{border-collapse:collapse;font-size:12px;margin:.5rem 0}
th,td{border:1px solid #ccc;padding:2px 6px;text-align:right;white-space:nowrap}
th{background:#eef}td:first-child,th:first-child{text-align:left}
.scroll{overflow-x:auto}figure{display:inline-block;margin:.5rem;vertical-align:top}
figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:12px;color:#555}
details summary{cursor:pointer;font-weight:600;margin:.4rem 0}
pre{background:#f4f4f4;padding:.5rem;font-size:12px;overflow-x:auto}
.bad{color:#b00}.note{font-size:12px;color:#555}
nav a{margin-right:1rem;color:#cde}
"""

# Lets a headless browser (and a person in the console) check the page rendered: counts
# tables and images that decoded, on the <body> element.
_CHECK = """
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute('data-tables', document.querySelectorAll('table').length);
  document.body.setAttribute('data-images-total', imgs.length);
  document.body.setAttribute('data-images-ok', ok);
  document.body.setAttribute('data-rendered', 'yes');
});
"""


def _e(text: Any) -> str:
    return html.escape(str(text))


def _img(path: Path | None, alt: str) -> str:
    if path is None or not Path(path).is_file():
        return ""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _figure(path: Path | None, caption: str) -> str:
    img = _img(path, caption)
    return f"<figure>{img}<figcaption>{_e(caption)}</figcaption></figure>" if img else ""


def _table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    return (
        '<div class="scroll">'
        + str(tabulate(rows, headers=list(headers), tablefmt="html", disable_numparse=True))
        + "</div>"
    )


def _flaws(protocol: str) -> str:
    """A published preset's description and known flaws as a list; ``""`` for a clean
    protocol."""
    preset = presets.get(protocol)
    if preset is None:
        return ""
    head, *flaws = preset.describe().split("\n")
    items = "".join(f"<li>{_e(f.removeprefix('- '))}</li>" for f in flaws if f.startswith("- "))
    return f"<p class='bad'>{_e(head)}. Known flaws:</p><ul class='note'>{items}</ul>"


def _section(section: Any) -> str:
    from anobench.leaderboard import format_leaderboard
    from anobench.stats import describe

    parts = [
        f'<h3 id="{_e(section.protocol)}-{_e(section.metric)}">{_e(section.title)}</h3>'
        + _flaws(section.protocol)
    ]
    if section.table.empty:
        return parts[0] + "<p>(no cells)</p>"
    parts.append(
        '<div class="scroll">'
        + format_leaderboard(section.table, tablefmt="html").split("\n\n")[0]
        + "</div>"
    )
    note = section.table.attrs.get("note", "")
    parts.append(
        '<p class="note">Mean ± std over seeds (ddof=1; "n=1" where one seed is ok); failures '
        f"shown as such (never 0). {_e(note)} (mean) of a detector not ranked: over its own "
        "data sets, not comparable; ‡ = saturated data set (every ranked detector within 0.01 "
        "of 1.0: adds ties, not evidence); † = subsampled rows.</p>"
    )
    if section.summary is not None:
        from anobench.stats import summary_rows

        headers, rows, _ = summary_rows(section.summary, section.missing)
        parts.append(_table(rows, headers))
        parts.append("<pre>" + _e(describe(section.comparison)) + "</pre>")
    parts.append(_figure(section.cd_png, f"Critical-difference diagram: {section.title}"))
    return "\n".join(parts)


def _seeds_by_protocol(frame: pd.DataFrame) -> str:
    """The seeds each protocol ran, e.g. ``adbench-2022: 1, 2, 3; unsupervised: 0, 1, 2``
    (a published protocol runs its paper's seeds unless the suite sets them)."""
    parts = []
    for protocol, seeds in frame.groupby("protocol")["seed"]:
        values = sorted({int(s) for s in seeds.dropna()})
        parts.append(f"{protocol}: {', '.join(map(str, values))}")
    return "; ".join(parts)


def _metadata(frame: pd.DataFrame, manifest: dict[str, Any]) -> str:
    suite = manifest.get("suite") or {}
    env = manifest.get("environment") or {}
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
    ]
    calibration = suite.get("calibration") or {}
    rows.append(
        [
            "label-free thresholds",
            f"calibrated out of sample: {calibration.get('method', '')}"
            + (
                f", {calibration.get('folds')} folds"
                if calibration.get("method") == "crossfit"
                else ""
            )
            + f"; expected contamination {suite.get('expected_contamination', '')}",
        ]
    )
    packages = [[k, v or "not installed"] for k, v in sorted((env.get("packages") or {}).items())]
    ran = frame[frame["status"] != "missing"]
    data_rows = []
    for name, part in ran.groupby("dataset"):
        fingerprints = sorted({str(f) for f in part["data_fingerprint"].dropna()})
        data_rows.append([name, ", ".join(fingerprints)])
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
    return (
        "<h3>Run</h3>"
        + _table(rows, ["", ""])
        + "<h3>Code behind the results</h3>"
        + _table(code_rows, ["detector", "provided by", "source sha256", "batch-dependent"])
        + f"<p class='note'>harness: {_e(', '.join(harness))}</p>"
        + "<h3>Packages</h3>"
        + _table(packages, ["package", "version"])
        + "<h3>Data sets (fingerprint: sha256 of the data actually loaded: its files, or its "
        "arrays for embedded data)</h3>" + _table(data_rows, ["data set", "fingerprint"])
    )


def _invocations(invocations: Sequence[dict[str, Any]]) -> str:
    rows = []
    for inv in invocations:
        suite = inv.get("suite") or {}
        rows.append(
            [
                inv.get("started_at", ""),
                suite.get("name", ""),
                inv.get("n_cells", ""),
                ", ".join(map(str, suite.get("seeds") or [])) or "each protocol's default",
                inv.get("anobench_version", ""),
                "yes" if inv.get("force") else "",
            ]
        )
    return "<h3>Invocations of this run directory</h3>" + _table(
        rows, ["started", "suite", "cells", "seeds", "anobench", "forced"]
    )


def _checksums(files: dict[str, str]) -> str:
    if not files:
        return ""
    rows = [[path, digest] for path, digest in sorted(files.items())]
    return "<h3>Data files read (sha256)</h3>" + _table(rows, ["file", "sha256"])


def _failures(frame: pd.DataFrame) -> str:
    bad = frame[frame["status"] != "ok"]
    if bad.empty:
        return "<p>Every cell finished ok.</p>"
    rows = [
        [r.label, r.dataset, r.protocol, r.seed, r.status, str(r.error or "")[:160]]
        for r in bad.sort_values(["status", "label", "dataset", "seed"]).itertuples()
    ]
    return _table(rows[:500], ["detector", "data set", "protocol", "seed", "status", "message"]) + (
        f"<p class='note'>... {len(rows) - 500} more in results.csv</p>" if len(rows) > 500 else ""
    )


def _comparisons(comparisons: Sequence[Any]) -> str:
    """Per detector, how many cells reproduce the published table; then every cell that
    does not, with its verdict."""
    from anobench.reference_report import CELL_HEADERS, SUMMARY_HEADERS, display_rows

    parts = []
    for c in comparisons:
        parts.append(f"<h3>{_e(c.title)}</h3>" + _flaws(c.protocol))
        if c.summary.empty:
            parts.append("<p>(no cell of the run matches a published value)</p>")
        else:
            rows = display_rows(c.summary, SUMMARY_HEADERS)
            parts.append(_table(rows, list(SUMMARY_HEADERS.values())))
        beyond = c.beyond.sort_values(["detector", "dataset"])
        if len(beyond):
            rows = display_rows(beyond, CELL_HEADERS)
            parts.append(
                f"<details open><summary>{len(beyond)} cells not reproduced</summary>"
                + _table(rows, list(CELL_HEADERS.values()))
                + "</details>"
            )
        if len(c.missing):
            items = "".join(
                f"<li>{_e(r.column)}: {_e(r.detector + ': ' if r.detector else '')}"
                f"{_e(r.reason)}</li>"
                for r in c.missing.itertuples()
            )
            parts.append(f"<p>Published columns not reproduced:</p><ul class='note'>{items}</ul>")
        if c.markdown is not None:
            parts.append(f"<p class='note'>Every cell: {_e(c.markdown.name)}, {_e(c.csv.name)}</p>")
    return "\n".join(parts)


def _effects(effects: Sequence[Any]) -> str:
    """Each preset against its clean protocol: rank correlation and top movers."""
    parts = []
    for e in effects:
        parts.append(
            f"<h3>{_e(e.preset.name)} vs {_e(e.clean)} ({_e(metric(e.metric).title)})</h3>"
            + _flaws(e.preset.name)
            + "<p>Spearman rank correlation of the detectors' means, over the data sets "
            f"every detector has under both protocols: {_e(e.spearman_text)}</p>"
        )
        headers, rows = e.mover_table()
        if rows:
            parts.append(
                f"<p>The {len(rows)} largest differences, with what was recorded for the data "
                "set:</p>" + _table(rows, headers)
            )
        if e.markdown is not None:
            parts.append(f"<p class='note'>Every cell: {_e(e.markdown.name)}, {_e(e.csv.name)}</p>")
    return "\n".join(parts)


def write_html(
    path: Path,
    frame: pd.DataFrame,
    manifest: dict[str, Any],
    sections: Sequence[Any],
    figures: Sequence[Any],
    files: dict[str, str] | None = None,
    stale: str = "",
    invocations: Sequence[dict[str, Any]] = (),
    comparisons: Sequence[Any] = (),
    effects: Sequence[Any] = (),
) -> Path:
    """Write the report page to ``path`` (see the module docstring). ``stale`` names the
    records excluded as not part of the current suite expansion; ``invocations`` is the
    run directory's history; ``comparisons`` (:class:`anobench.reference_report.Comparison`)
    and ``effects`` (:class:`anobench.protocol_effect.ProtocolEffect`) get a section
    each."""
    suite = manifest.get("suite") or {}
    counts = frame["status"].value_counts().to_dict()
    status_text = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    n_missing = int(counts.get("missing", 0))
    warnings_html = ""
    if n_missing:
        warnings_html += (
            f"<div class='bad'>{n_missing} of {len(frame)} cells of this suite never ran "
            "(interrupted run?): they are shown as <b>missing</b> in every table; run the "
            "same command again to finish them.</div>"
        )
    if stale:
        warnings_html += f"<div class='bad'>{_e(stale)}</div>"
    body = [
        "<header>",
        f"<h1>anobench report: {_e(suite.get('name', ''))}</h1>",
        f"<div>{len(frame)} cells ({_e(status_text)}); {frame['label'].nunique()} detector "
        f"configurations x {frame['dataset'].nunique()} data sets</div>",
        warnings_html,
        '<nav><a href="#leaderboards">leaderboards</a>'
        + ('<a href="#published">against published results</a>' if comparisons else "")
        + ('<a href="#protocol-effect">what the protocol does</a>' if effects else "")
        + '<a href="#plots">plots</a>'
        '<a href="#failures">failures</a><a href="#metadata">run metadata</a></nav>',
        "</header><main>",
        '<section id="leaderboards"><h2>Leaderboards and statistics</h2>',
    ]
    for section in sections:
        block = _section(section)
        if metric(section.metric).headline:
            body.append(block)
        else:
            body.append(f"<details><summary>{_e(section.title)}</summary>{block}</details>")
    body.append("</section>")
    if comparisons:
        body.append(
            '<section id="published"><h2>Against published results</h2>'
            + _comparisons(comparisons)
            + "</section>"
        )
    if effects:
        body.append(
            '<section id="protocol-effect"><h2>What the published protocol does</h2>'
            + _effects(effects)
            + "</section>"
        )
    body.append('<section id="plots"><h2>Plots</h2>')
    groups: dict[str, list[Any]] = {}
    for fig in figures:
        groups.setdefault(fig.group, []).append(fig)
    for i, (group, figs) in enumerate(groups.items()):
        inner = "".join(_figure(f.path, f.caption) for f in figs)
        if i < 2 or group.startswith(("protocol", "published protocol")):
            body.append(f"<h3>{_e(group)}</h3>{inner}")
        else:
            body.append(f"<details><summary>{_e(group)}</summary>{inner}</details>")
    body.append("</section>")
    body.append(
        f'<section id="failures"><h2>Cells without a result</h2>{_failures(frame)}</section>'
    )
    body.append(
        f'<section id="metadata"><h2>Run metadata</h2>{_metadata(frame, manifest)}'
        f"{_invocations(invocations)}{_checksums(files or {})}</section>"
    )
    body.append("</main>")
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>anobench report: {_e(suite.get('name', ''))}</title>"
        f"<style>{_CSS}</style><script>{_CHECK}</script></head><body>"
        + "\n".join(body)
        + f"<script type='application/json' id='manifest'>{_e(json.dumps(suite))}</script>"
        + "</body></html>"
    )
    path.write_text(page, encoding="utf-8")
    return path
