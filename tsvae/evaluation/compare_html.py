"""Render a :class:`~tsvae.evaluation.compare.MethodComparison` as one self-contained page:
the method-by-figure table, the latent diagnostics with the latent PCA, a section per method."""

from __future__ import annotations

import html

import pandas as pd

from tsvae.evaluation.html import (
    _failures,
    _figures,
    _provenance,
    latent_section,
    page,
    score_cards,
)
from tsvae.evaluation.report import _fmt

#: Table rows where lower is better (the best method's cell is marked).
LOWER_IS_BETTER = ("discriminative", "feature_discriminative", "ks_mean", "wasserstein_mean",
                   "acf_gap_mean", "correlation_gap", "mmd2", "dcr_close_share")

METHOD_NOTES = {
    "prior": "z ~ N(0, I): fresh samples of the learned p(x); poor where the training "
             "latents leave holes in the prior.",
    "aggregate": "z from a Gaussian mixture fitted to the training latents after training: "
                 "fresh samples where the decoder was trained.",
    "posterior": "z ~ q(z|x) of real training windows: augmentation of real windows, not "
                 "fresh data; may leak them.",
    "noisy_posterior": "z = mu + s * eps * sigma of real windows, s > 1 for more variety: "
                       "still augmentation of real windows.",
}


def method_table(comparison) -> pd.DataFrame:
    """The comparison table with a row per check group (share of rows that pass) added."""
    from tsvae.evaluation.scores import detection_scores, group_scores

    table = comparison.table.copy()
    extra = {}
    for method, report in comparison.reports.items():
        column = {f"group: {g}": float(r["score"])
                  for g, r in group_scores(report.table).iterrows()}
        column.update({f"detection: {label}": score
                       for label, score in detection_scores(report.table).items()})
        extra[method] = column
    return pd.concat([table, pd.DataFrame(extra)])


def _table_html(table: pd.DataFrame) -> str:
    head = "<th>figure</th>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    rows = []
    for name, values in table.iterrows():
        numeric = pd.to_numeric(values, errors="coerce")
        best = None
        if numeric.notna().all() and len(numeric) > 1:
            target = None
            if name in LOWER_IS_BETTER or str(name).startswith("detection: "):
                target = numeric.min()
            elif str(name).startswith("group: ") or name == "pass_rate":
                target = numeric.max()
            if target is not None and (numeric == target).sum() == 1:
                best = numeric.idxmax() if numeric.max() == target else numeric.idxmin()
        cells = []
        for method, value in values.items():
            if str(name).startswith("group: "):
                text = f"{value:.0%}"
            elif name == "observation_noise":
                text = "on" if value else "off"
            else:
                text = _fmt(value)
            style = " style='background:#e3f6e3;font-weight:600'" if method == best else ""
            cells.append(f"<td{style}>{html.escape(text)}</td>")
        rows.append(f"<tr><td class='text'>{html.escape(str(name))}</td>{''.join(cells)}</tr>")
    return f'<table id="method-table"><tr>{head}</tr>{"".join(rows)}</table>'


def _method_section(method: str, report) -> str:
    from tsvae.evaluation.scores import verdict_sentence

    verdict = "pass" if report.passed else "fail"
    note = METHOD_NOTES.get(method, "")
    figures = _figures(report).replace('<section id="figures">', "<div>").replace(
        "</section>", "</div>").replace('<figure id="', f'<figure id="{method}-')
    return (f'<section id="method-{html.escape(method)}" class="method">'
            f"<h2>Method: {html.escape(method)}</h2><p>{html.escape(note)}</p>"
            f'<p class="verdict {verdict}">{html.escape(verdict_sentence(report.table))}</p>'
            f"{score_cards(report)}<h3>Failures, worst first</h3>"
            f"{_failures(report, 10, more_note=False)}"
            f"<details><summary>Figures of {html.escape(method)}</summary>{figures}</details>"
            "</section>")


def render_comparison(comparison) -> str:
    """The comparison page (see the module docstring)."""
    table = method_table(comparison)
    noise = ("every method draws the decoder's observation model (decoded mean plus the "
             "fitted residual process), as real windows carry noise"
             if comparison.observation_noise else "every method returns decoded means")
    first = next(iter(comparison.reports.values()), None)
    meta = dict(first.meta) if first is not None else {}
    for key in ("method", "observation_noise", "noise_scale"):
        meta.pop(key, None)
    methods = ", ".join(f'<a href="#method-{m}">{html.escape(m)}</a>'
                        for m in comparison.reports)
    parts = [
        "<h1>Generation methods compared</h1>",
        f'<p class="subtitle">Like with like: {noise}. Methods: {methods}.</p>',
        '<section id="methods"><h2>Method by figure</h2>',
        "<p class='muted'>The same checks on each method's output. Lower is better for "
        "scores, gaps and distances; group rows are the share of rows that pass. The best "
        "method per row is shaded.</p>",
        _table_html(table), "</section>",
    ]
    if comparison.diagnostics is not None:
        parts.append(latent_section(comparison.diagnostics, comparison.latent_figure))
    parts += [_method_section(m, r) for m, r in comparison.reports.items()]
    parts.append(f'<section id="provenance"><h2>Provenance</h2>{_provenance(meta)}</section>')
    return page("tsvae method comparison", parts)
