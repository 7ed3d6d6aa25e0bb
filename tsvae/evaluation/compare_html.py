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
    not_run,
    page,
    score_cards,
)
from tsvae.evaluation.report import _fmt

#: Table rows where lower is better (the best method's cell is marked).
LOWER_IS_BETTER = ("discriminative", "feature_discriminative", "minirocket", "ks_mean",
                   "wasserstein_mean", "acf_gap_mean", "correlation_gap", "mmd2",
                   "dcr_close_share")
#: Key figure -> the check whose rows decide whether a method passes on it.
FIGURE_CHECKS = {"discriminative": "discriminative",
                 "feature_discriminative": "feature_discriminative",
                 "minirocket": "minirocket", "predictive_tstr": "predictive", "ks_mean": "ks",
                 "wasserstein_mean": "wasserstein", "acf_gap_mean": "acf",
                 "correlation_gap": "correlation", "mmd2": "mmd", "dcr_close_share": "dcr"}
#: Groups whose failures the page shows first.
FIRST_GROUPS = ("privacy",)

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
    """The comparison table with a row per check group (share of rows that pass) and per
    detector added; the rows of :data:`FIRST_GROUPS` (privacy) come first."""
    from tsvae.evaluation.scores import detection_scores, group_scores

    table = comparison.table.copy()
    extra = {}
    for method, report in comparison.reports.items():
        column = {f"group: {g}": float(r["score"])
                  for g, r in group_scores(report.table).iterrows()}
        column.update({f"detection: {label}": score
                       for label, score in detection_scores(report.table).items()})
        extra[method] = column
    table = pd.concat([table, pd.DataFrame(extra)])
    first = [name for name in table.index if _row_group(comparison, name) in FIRST_GROUPS]
    return table.loc[first + [name for name in table.index if name not in first]]


def _row_group(comparison, name: str) -> str | None:
    """The check group behind a table row (None for rows that are not a check's)."""
    name = str(name)
    if name.startswith("group: "):
        return name[len("group: "):]
    check = FIGURE_CHECKS.get(name)
    for report in comparison.reports.values():
        info = report.checks.get(check) if check else None
        if info:
            return info["group"]
    return None


def figure_passes(report, name: str) -> bool | None:
    """Whether a method's report passes the rule behind table row ``name``: the check's rows
    (key figures and detectors), the group's pass rate (group rows) or the verdict
    (``pass_rate``, ``verdict``); None for rows no rule is behind."""
    from tsvae.evaluation.scores import check_passed, detectors, group_scores

    name = str(name)
    if name.startswith("group: "):
        groups = group_scores(report.table)
        group = name[len("group: "):]
        return bool(groups.loc[group, "group_passed"]) if group in groups.index else None
    if name.startswith("detection: "):
        found = detectors(report.table).get(name[len("detection: "):])
        return None if found is None else found["passed"]
    if name in ("pass_rate", "verdict"):
        return report.passed
    check = FIGURE_CHECKS.get(name)
    return None if check is None else check_passed(report.table, check)


def _best(name: str, numeric: pd.Series, passing: dict) -> object:
    """The method to shade on row ``name``: the best value among the methods that pass its
    rule (a method that fails a figure is never shaded best on it); None on a tie."""
    if name in LOWER_IS_BETTER or name.startswith("detection: "):
        pick = min
    elif name.startswith("group: ") or name == "pass_rate":
        pick = max
    else:
        return None
    eligible = numeric[[m for m in numeric.index
                        if passing.get(m) is not False and pd.notna(numeric[m])]]
    if len(eligible) == 0 or numeric.notna().sum() < 2:
        return None
    winners = eligible[eligible == pick(eligible)]
    return winners.index[0] if len(winners) == 1 else None


def _table_html(table: pd.DataFrame, comparison) -> str:
    head = "<th>figure</th>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    rows = []
    for name, values in table.iterrows():
        numeric = pd.to_numeric(values, errors="coerce")
        passing = {m: figure_passes(comparison.reports[m], name)
                   for m in values.index if m in comparison.reports}
        best = _best(str(name), numeric, passing)
        cells = []
        for method, value in values.items():
            if str(name).startswith("group: "):
                text = f"{value:.0%}"
            elif name == "observation_noise":
                text = "on" if value else "off"
            else:
                text = _fmt(value)
            if passing.get(method) is False:
                text += " (fails)"
                style = " class='fails' style='background:#f8d0d0'"
            elif method == best:
                style = " class='best' style='background:#e3f6e3;font-weight:600'"
            else:
                style = ""
            cells.append(f"<td{style}>{html.escape(text)}</td>")
        rows.append(f"<tr><td class='text'>{html.escape(str(name))}</td>{''.join(cells)}</tr>")
    return f'<table id="method-table"><tr>{head}</tr>{"".join(rows)}</table>'


def _first_failures(comparison) -> str:
    """The failures of :data:`FIRST_GROUPS` (privacy) per method, before anything else."""
    from tsvae.evaluation.scores import failures

    items = []
    for method, report in comparison.reports.items():
        failed = failures(report.table)
        failed = failed[failed["group"].isin(FIRST_GROUPS)]
        for record in failed.to_dict("records"):
            items.append(f"<li><b>{html.escape(method)}</b>: {html.escape(record['check'])} "
                         f"{_fmt(record['statistic'])} (bound {_fmt(record['threshold'])}) "
                         f"&mdash; {html.escape(record['group'])} fails</li>")
    if not items:
        return ""
    return ('<div id="privacy-failures" class="verdict fail"><b>Privacy failures</b>: these '
            f"methods' output is too close to the training windows.<ul>{''.join(items)}</ul>"
            "</div>")


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
    noise = ("every method draws every value from the decoder's likelihood p(x|z), as real "
             "windows carry movement the code does not fix"
             if comparison.observation_noise else "every method returns decoded means")
    methods = ", ".join(f'<a href="#method-{m}">{html.escape(m)}</a>'
                        for m in comparison.reports)
    parts = [
        "<h1>Generation methods compared</h1>",
        f'<p class="subtitle">Like with like: {noise}. Methods: {methods}.</p>',
        _first_failures(comparison),
        '<section id="methods"><h2>Method by figure</h2>',
        "<p class='muted'>The same checks on each method's output. Lower is better for "
        "scores, gaps and distances; group rows are the share of rows that pass. A cell marked "
        "(fails) fails the rule of its check; the best method among those that pass is "
        "shaded. Privacy rows come first.</p>",
        _table_html(table, comparison),
        not_run(next(iter(comparison.reports.values())).meta) if comparison.reports else "",
        "</section>",
    ]
    if comparison.diagnostics is not None:
        parts.append(latent_section(comparison.diagnostics, comparison.latent_figure))
    parts += [_method_section(m, r) for m, r in comparison.reports.items()]
    parts.append('<section id="provenance"><h2>Provenance</h2>'
                 + "".join(f"<h3>Method: {html.escape(m)}</h3>{_provenance(r.meta)}"
                           for m, r in comparison.reports.items()) + "</section>")
    return page("tsvae method comparison", parts)
