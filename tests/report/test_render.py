"""The HTML page's parts, rendered from small report stand-ins."""

from __future__ import annotations


def test_failures_are_grouped_by_cause_with_the_whole_message() -> None:
    """66 identical "torch missing" rows cut at "pip install" read as one cause."""
    from types import SimpleNamespace

    import pandas as pd

    from anobench.report.render.html_parts import failures

    message = "'pyod-deepsvdd' is unavailable: No module named 'torch' (install it with: " + (
        "pip install 'anobench[torch]')" + " " * 150 + "end"
    )
    rows = [
        {"label": "pyod-deepsvdd", "status": "skipped", "error": message,
         "dataset": f"set{i % 22}", "seed": i // 22}
        for i in range(66)
    ] + [{"label": "ae", "status": "error", "error": "boom", "dataset": "wine", "seed": 0}]  # fmt: skip
    html = failures(SimpleNamespace(failures=pd.DataFrame(rows)))  # type: ignore[arg-type]
    assert html.count("<tr>") == 3  # header and two causes
    assert ">66<" in html and "end" in html and "0, 1, 2" in html
