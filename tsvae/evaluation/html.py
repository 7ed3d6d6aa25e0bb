"""Render an :class:`EvaluationReport` as one self-contained HTML page."""

from __future__ import annotations

import html

from tsvae.evaluation.report import _fmt

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em;color:#222;max-width:1400px}
table{border-collapse:collapse;font-size:13px;margin:1em 0}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3} td.text{text-align:left}
tr.pass td.flag{background:#d4f4d4} tr.fail td.flag{background:#f8d0d0;font-weight:bold}
.verdict{font-size:1.4em;padding:.4em .8em;display:inline-block;border-radius:4px}
.verdict.pass{background:#d4f4d4} .verdict.fail{background:#f8d0d0}
img{max-width:100%} dt{font-weight:bold;margin-top:.6em}
"""


def _img(encoded: str, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'


def _table(report) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in report.table.columns)
    body = []
    for record in report.table.itertuples(index=False):
        css = "pass" if record.passed else "fail"
        cells = []
        for name, value in zip(report.table.columns, record, strict=True):
            klass = "flag" if name == "passed" else ("text" if name in ("check", "group",
                                                                         "feature") else "")
            cells.append(f'<td class="{klass}">{html.escape(_fmt(value))}</td>')
        body.append(f'<tr class="{css}">{"".join(cells)}</tr>')
    return f'<table id="check-table"><tr>{head}</tr>{"".join(body)}</table>'


def render_report(report) -> str:
    verdict = "pass" if report.passed else "fail"
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        "<title>tsvae evaluation report</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>tsvae evaluation report</h1>",
        '<section id="summary"><h2>Summary</h2>',
        f'<p class="verdict {verdict}">Verdict: {verdict.upper()}</p>',
        f"<p>{report.pass_rate:.0%} of rows pass. A group passes when at least 80% of its "
        "rows pass; the verdict needs every group.</p>",
        report.group_summary().to_html(classes="groups"),
    ]
    if report.meta:
        items = "".join(f"<li>{html.escape(str(k))}: {html.escape(str(v))}</li>"
                        for k, v in report.meta.items())
        parts.append(f"<ul>{items}</ul>")
    parts.append("</section>")
    parts.append('<section id="checks"><h2>Checks</h2>')
    parts.append(_table(report))
    parts.append("<dl>")
    for name, info in report.checks.items():
        parts.append(f"<dt>{html.escape(name)} ({html.escape(info['group'])})</dt>"
                     f"<dd>{html.escape(info['description'])}<br><em>Pass rule:</em> "
                     f"{html.escape(info['rule'])}</dd>")
    parts.append("</dl></section>")
    titles = {
        "overlays": "Sample overlays",
        "distributions": "Per-feature distributions",
        "acf": "Autocorrelation",
        "embeddings": "PCA and t-SNE of windows",
        "correlations": "Correlation heatmaps",
        "latent": "Latent space",
    }
    for key, title in titles.items():
        if key in report.figures:
            parts.append(f'<section id="{key}"><h2>{title}</h2>'
                         f"{_img(report.figures[key], title)}")
            if key == "latent" and report.latent is not None:
                parts.append(f"<pre>{html.escape(repr(report.latent))}</pre>")
            parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def render_conditional(report) -> str:
    """One page for a :class:`~tsvae.evaluation.conditional.ConditionalReport`: condition
    fidelity, the per-condition summary, then each condition's check table and figures."""
    verdict = "pass" if report.passed else "fail"
    fidelity = "".join(f"<li>{html.escape(k)}: {html.escape(_fmt(v))}</li>"
                       for k, v in report.fidelity.items())
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        "<title>tsvae evaluation by condition</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>tsvae evaluation by condition</h1>",
        '<section id="summary"><h2>Summary</h2>',
        f'<p class="verdict {verdict}">Verdict: {verdict.upper()}</p>',
        "<p>Condition fidelity: a classifier trained on real windows to predict the "
        "condition, scored on held-out real windows and on the synthetic windows generated "
        "for each condition.</p>",
        f"<ul>{fidelity}</ul>",
        report.table.to_html(index=False, classes="conditions", na_rep=""),
        "</section>",
    ]
    for label, one in report.reports.items():
        parts.append(f"<section><h2>Condition {html.escape(str(label))}: "
                     f"{'PASS' if one.passed else 'FAIL'}</h2>{_table(one)}")
        for key, encoded in one.figures.items():
            parts.append(_img(encoded, f"{label} {key}"))
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)
