"""The report's page, ``index.html``, rendered from a
:class:`~anobench.report.model.Report`. It opens with the answer: a summary per protocol
and metric (the best detectors with their confidence intervals and coverage, failed and
missing cells, saturated data sets, and whether the tests can separate anything); then
the leaderboards and statistics, the comparisons with published results, the plots,
the failures and the run's metadata. Tables sort when a header is clicked and filter
through a text box (a small inline script); wide tables scroll inside their box; figures
are linked as files of the report folder (PNG shown, PDF and SVG linked), so the page
stays small. Nothing outside the report folder is referenced: no network, no external
script or font."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from anobench.report.model import Board, Highlight, Report
from anobench.report.render.board_layout import grid
from anobench.report.render.html_parts import (
    comparisons,
    e,
    effects,
    failures,
    figure,
    flaws,
    metadata,
    table,
)
from anobench.report.render.selection import html_selection, summary_grid
from anobench.report.render.text import stale_text
from anobench.types import short_value

__all__ = ["write_html"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222;
background:#fafafa}
header{background:#123;color:#fff;padding:1rem 2rem}header h1{margin:0 0 .3rem 0}
main{padding:1rem 2rem;max-width:1600px}
section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.5rem 1rem;margin:1rem 0;
overflow-x:auto}
table{border-collapse:collapse;font-size:12px;margin:.5rem 0}
th,td{border:1px solid #ccc;padding:2px 6px;text-align:right;white-space:nowrap}
th{background:#eef;cursor:pointer;user-select:none;position:sticky;top:0}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
td:first-child,th:first-child{text-align:left}td b{color:#000}
.scroll{overflow-x:auto;max-width:100%}figure{display:inline-block;margin:.5rem;vertical-align:top;
max-width:100%}
figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:12px;color:#555}
details summary{cursor:pointer;font-weight:600;margin:.4rem 0}
pre{background:#f4f4f4;padding:.5rem;font-size:12px;overflow-x:auto;white-space:pre-wrap}
.bad{color:#b00}.note{font-size:12px;color:#555}.good{color:#060}
input.filter{margin:.3rem 0;padding:2px 6px;font-size:12px;width:16rem}
#summary{border:2px solid #123}#summary td{white-space:normal;vertical-align:top;text-align:left}
.lead{font-size:15px}.lead li{margin:.2rem 0}
nav a{margin-right:1rem;color:#cde}
"""

# Sorting (click a header; again to reverse; numbers by value, text after them), row
# filtering (the text box above a table), and a check for a headless browser (and a
# person in the console) on <body>: tables and images that loaded, the first section.
# "#click=<table id>:<column>" in the address clicks that header once loaded (tests).
_SCRIPT = """
function abKey(cell){var m=/^[\\s(*]*([-+]?\\d*\\.?\\d+(?:e[-+]?\\d+)?)/i.exec(cell.textContent);
  return m ? parseFloat(m[1]) : null;}
function abSort(th){
  var table=th.closest('table'), i=th.cellIndex, body=table.tBodies[0];
  var dir=th.getAttribute('aria-sort')==='ascending' ? -1 : 1;
  Array.prototype.forEach.call(th.parentNode.cells,function(c){c.removeAttribute('aria-sort');});
  th.setAttribute('aria-sort', dir===1 ? 'ascending' : 'descending');
  var rows=Array.prototype.slice.call(body.rows);
  rows.sort(function(a,b){
    var x=abKey(a.cells[i]), y=abKey(b.cells[i]);
    if(x!==null && y!==null && x!==y) return dir*(x-y);
    if(x!==null && y===null) return -1;
    if(x===null && y!==null) return 1;
    return dir*a.cells[i].textContent.localeCompare(b.cells[i].textContent);});
  rows.forEach(function(r){body.appendChild(r);});
}
function abFilter(box){
  var q=box.value.toLowerCase(), t=document.getElementById(box.getAttribute('data-table'));
  Array.prototype.forEach.call(t.tBodies[0].rows,function(r){
    r.style.display=r.textContent.toLowerCase().indexOf(q)>=0 ? '' : 'none';});
}
document.addEventListener('click',function(ev){
  var th=ev.target.closest && ev.target.closest('table.sortable thead th');
  if(th){abSort(th);}});
document.addEventListener('input',function(ev){
  if(ev.target.classList && ev.target.classList.contains('filter')){abFilter(ev.target);}});
window.addEventListener('load', function () {
  var m=/^#click=([\\w-]+):(\\d+)$/.exec(location.hash);
  if(m){var t=document.getElementById(m[1]); if(t){t.tHead.rows[0].cells[+m[2]].click();}}
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  var b = document.body, first = document.querySelector('main section');
  b.setAttribute('data-tables', document.querySelectorAll('table').length);
  b.setAttribute('data-images-total', imgs.length);
  b.setAttribute('data-images-ok', ok);
  b.setAttribute('data-first-section', first ? first.id : '');
  var top = first ? Math.round(first.getBoundingClientRect().top) : -1;
  b.setAttribute('data-first-section-top', top);
  b.setAttribute('data-rendered', 'yes');
});
"""


def _leaders(h: Highlight) -> str:
    parts = []
    for d in h.leaders:
        ci = f" [{d['ci_low']:.3f}, {d['ci_high']:.3f}]" if d["ci_low"] == d["ci_low"] else ""
        parts.append(
            f"{d['detector']} (rank {d['avg_rank']:.2f}; mean {d['mean']:.3f}{ci}; "
            f"{d['coverage']} sets)"
        )
    return "; ".join(parts) or "no ranking"


def _summary(report: Report) -> str:
    """The first section: what the run found, per protocol and metric."""
    counts = report.status_counts
    n_det, n_sets = report.frame["label"].nunique(), report.frame["dataset"].nunique()
    status = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    items = [
        f"<li>{len(report.frame)} cells ({e(status)}): {n_det} detector configurations x "
        f"{n_sets} data sets x {len(report.protocols)} protocol(s); "
        + (f"<b class='bad'>{report.n_failed} failed</b>" if report.n_failed else "none failed")
        + (f", <b class='bad'>{report.n_missing} never ran</b>" if report.n_missing else "")
        + "</li>"
    ]
    if stale_text(report.stale, report.run_dir):
        items.append(
            f"<li class='bad'>{len(report.stale)} stale record(s) excluded: see below</li>"
        )
    highlights = report.highlights()
    # the modality's headline first: VUS-PR for series points, then ROC-AUC
    lead = [h for m in ("vus_pr", "roc_auc") for h in highlights if h.metric == m]
    for h in lead:
        verdict_class = "good" if h.separable else "bad"
        items.append(
            f"<li><b>{e(h.title)}</b>: best by average rank {e(_leaders(h))}. "
            f"<span class='{verdict_class}'>{e(h.verdict)}</span>"
            + (f"; saturated: {e(', '.join(h.saturated))}" if h.saturated else "")
            + "</li>"
        )
    rows = [
        [h.protocol, h.title.split(",")[0], _leaders(h), f"{h.n_ranked}/{h.n_detectors}",
         h.n_sets, h.failed, h.missing, ", ".join(h.saturated) or "none", h.verdict]
        for h in highlights
    ]  # fmt: skip
    headers = [
        "protocol", "metric", "best by average rank (mean [95% CI], sets)", "ranked",
        "data sets", "failed cells", "missing / not computed", "saturated data sets",
        "can the tests separate detectors?",
    ]  # fmt: skip
    return (
        '<section id="summary"><h2>Summary</h2><ul class="lead">'
        + "".join(items)
        + "</ul>"
        + table(rows, headers, search=True, table_id="summary-table")
        + "<p class='note'>Best detectors: the three best average ranks, in that order, each "
        "with its mean over the data sets every ranked detector covers and its stratified "
        "bootstrap 95% CI over data sets and seeds (a lower mean can rank higher: ranks "
        "count wins per data set, the mean weighs margins). Missing / not computed: cells "
        "that never ran, and finished cells without this metric (a threshold policy that "
        "was not computed: batch-dependent detectors, published protocols, a failed "
        "calibration; a series metric on a table). Oracle metrics read the test labels "
        "(upper bounds).</p>" + _selection_summary(report) + "</section>"
    )


def _selection_summary(report: Report) -> str:
    """Per protocol (ROC-AUC, else the first metric): per detector, each rule's mean
    value and oracle gap."""
    parts = []
    for b in report.selections:
        if b.metric != "roc_auc" and any(
            o.protocol == b.protocol and o.metric == "roc_auc" for o in report.selections
        ):
            continue
        headers, rows = summary_grid(b)
        parts.append(
            f"<h3>Selection without test labels: {e(b.metric)}, {e(b.protocol)}</h3>"
            + table(rows, headers, table_id=f"sel-sum-{b.key}")
            + "<p class='note'>Per detector, each rule's mean over the data sets and, in "
            "brackets, its oracle gap (oracle minus rule). <a href='#selection'>Details"
            "</a>.</p>"
        )
    return "".join(parts)


def _board(b: Board, root: Path, grid_warning: str = "") -> str:
    from anobench.report.render.statistics import describe, summary_rows

    head = f'<h3 id="{e(b.stem)}">{e(b.title)}</h3>' + flaws(b.protocol)
    if grid_warning:
        head += f"<div class='bad'>{e(grid_warning)}</div>"
    if b.table.empty:
        return head + "<p>(no cells)</p>"
    g = grid(b.table, "detectors")
    parts = [
        head,
        table(g.rows, g.headers, best=g.best, search=len(g.rows) > 10, table_id=f"lb-{b.stem}"),
        '<p class="note">Mean ± std over seeds (ddof=1; "n=1" where one seed is ok); failures '
        "shown as such (never 0); bold: best per data set, best mean and average rank. "
        + " ".join(e(n) for n in g.notes)
        + "</p>",
    ]
    if b.summary is not None:
        headers, rows, _ = summary_rows(b.summary, b.missing)
        parts.append(table(rows, headers, table_id=f"st-{b.stem}"))
        parts.append("<pre>" + e(describe(b.comparison)) + "</pre>")
    parts.append(figure(b.cd, f"Critical-difference diagram: {b.title}", root))
    return "\n".join(parts)


def _plots(report: Report, root: Path) -> str:
    groups: dict[str, list] = {}
    for fig in report.figures:
        groups.setdefault(fig.group, []).append(fig)
    out = ['<section id="plots"><h2>Plots</h2>']
    for i, (group, figs) in enumerate(groups.items()):
        inner = "".join(figure(f.path, f.caption, root) for f in figs)
        if i < 2 or group.startswith(("protocol", "published protocol")):
            out.append(f"<h3>{e(group)}</h3>{inner}")
        else:
            out.append(f"<details><summary>{e(group)}</summary>{inner}</details>")
    return "".join(out) + "</section>"


def write_html(path: Path, report: Report) -> Path:
    """Write the report page of ``report`` to ``path`` (see the module docstring);
    figures are linked relative to ``path``'s folder."""
    root = path.parent
    suite = report.suite
    warnings_html = ""
    if report.n_missing:
        warnings_html += (
            f"<div class='bad'>{report.n_missing} of {len(report.frame)} cells of this suite "
            "never ran (interrupted run?): they are shown as <b>missing</b> in every table; "
            "run the same command again to finish them.</div>"
        )
    if stale_text(report.stale, report.run_dir):
        warnings_html += f"<div class='bad'>{e(stale_text(report.stale, report.run_dir))}</div>"
    nav = [("summary", "summary"), ("leaderboards", "leaderboards")]
    nav += [("published", "against published results")] if report.comparisons else []
    nav += [("protocol-effect", "what the protocol does")] if report.effects else []
    nav += [("selection", "selection")] if report.selections else []
    nav += [("plots", "plots"), ("failures", "failures"), ("metadata", "run metadata")]
    body = [
        f"<header><h1>anobench report: {e(suite.get('name', ''))}</h1>{warnings_html}<nav>"
        + "".join(f'<a href="#{k}">{e(v)}</a>' for k, v in nav)
        + "</nav></header><main>",
        _summary(report),
        '<section id="leaderboards"><h2>Leaderboards and statistics</h2>',
    ]
    for b in report.boards:
        block = _board(b, root, report.grid_warning)
        if b.info.headline:
            body.append(block)
        else:
            body.append(f"<details><summary>{e(b.title)}</summary>{block}</details>")
    body.append("</section>")
    body.append(html_selection(report.selections, report.selection_figures, root))
    if report.comparisons:
        body.append(
            '<section id="published"><h2>Against published results</h2>'
            f"{comparisons(report)}</section>"
        )
    if report.effects:
        body.append(
            '<section id="protocol-effect"><h2>What the published protocol does</h2>'
            f"{effects(report)}</section>"
        )
    body.append(_plots(report, root))
    body.append(
        f'<section id="failures"><h2>Cells without a result</h2>{failures(report)}</section>'
        f'<section id="metadata"><h2>Run metadata</h2>{metadata(report)}</section></main>'
    )
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>anobench report: {e(suite.get('name', ''))}</title>"
        f"<style>{_CSS}</style><script>{_SCRIPT}</script></head><body>"
        + "\n".join(body)
        + f"<script type='application/json' id='manifest'>{e(json.dumps(_bounded(suite)))}</script>"
        + "</body></html>"
    )
    path.write_text(page, encoding="utf-8")
    return path


def _bounded(value: Any, limit: int = 2000) -> Any:
    """``value`` (the suite, JSON) with every list or text longer than ``limit``
    characters replaced by its type, size and hash: the page embeds the suite for a
    reader, and ``run.json`` keeps it whole."""
    if isinstance(value, dict):
        return {k: _bounded(v, limit) for k, v in value.items()}
    if isinstance(value, list | str) and len(repr(value)) > limit:
        return short_value(value, limit)
    if isinstance(value, list):
        return [_bounded(v, limit) for v in value]
    return value
