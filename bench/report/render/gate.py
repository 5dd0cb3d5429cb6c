"""Text of the regression gate's findings (:func:`anobench.results.gate.check`)."""

from __future__ import annotations

from tabulate import tabulate

from anobench.results.gate import FAILING, Finding

__all__ = ["format_findings"]


def format_findings(findings: list[Finding], n_keys: int) -> str:
    """A table of findings and a one-line verdict."""

    order = {k: i for i, k in enumerate((*FAILING, "improvement", "fixed", "new"))}
    rows = []
    for f in sorted(findings, key=lambda f: (order[f.kind], f.metric, f.detector, f.dataset)):
        delta = (
            (f.current - f.baseline) if f.current is not None and f.baseline is not None else None
        )
        rows.append(
            [
                f.kind.upper() if f.fails else f.kind,
                f.detector,
                f.dataset,
                f.protocol,
                f.metric,
                _fmt(f.baseline),
                _fmt(f.current),
                "" if delta is None else f"{delta:+.3f}",
                "" if f.allowed_drop is None else f"{f.allowed_drop:.3f}",
                f.detail,
            ]
        )
    failing = sum(f.fails for f in findings)
    verdict = (
        f"FAILED: {failing} of {n_keys} baseline keys regressed, newly fail or are missing"
        if failing
        else f"passed: {n_keys} baseline keys within their allowed drop"
    )
    if not rows:
        return verdict
    table = tabulate(
        rows,
        headers=[
            "finding",
            "detector",
            "data set",
            "protocol",
            "metric",
            "baseline",
            "now",
            "change",
            "allowed drop",
            "detail",
        ],
        tablefmt="github",
        disable_numparse=True,
    )
    return f"{table}\n\n{verdict}"


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"
