"""Render an :class:`EvaluationReport` as one self-contained HTML page."""

from __future__ import annotations

import html
import math
import re

import numpy as np

from tsvae.evaluation.report import _fmt

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:0 auto;padding:1.5em 2em;
color:#222;max-width:1200px;line-height:1.45}
h1{margin-bottom:.2em} .subtitle{color:#555;margin-top:0}
h2{border-bottom:2px solid #eee;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:13px;margin:.6em 0}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#f5f5f5} td.text{text-align:left}
tr.pass td.flag{background:#d4f4d4} tr.fail td.flag{background:#f8d0d0;font-weight:bold}
.verdict{font-size:1.15em;padding:.6em 1em;border-radius:6px;margin:.6em 0}
.verdict.pass{background:#e3f6e3;border-left:6px solid #2a9d2a}
.verdict.fail{background:#fbe4e4;border-left:6px solid #c62828}
.cards{display:flex;flex-wrap:wrap;gap:.8em;margin:1em 0}
.card{border:1px solid #ddd;border-radius:6px;padding:.6em .9em;min-width:150px;flex:0 0 auto}
.card .name{font-size:.85em;color:#555;text-transform:uppercase;letter-spacing:.04em}
.card .value{font-size:1.8em;font-weight:600}
.card .note{font-size:.8em;color:#666}
.card.good .value{color:#2a7d2a} .card.bad .value{color:#c62828}
.bar{height:6px;background:#eee;border-radius:3px;margin:.3em 0}
.bar span{display:block;height:6px;border-radius:3px}
.good .bar span{background:#2a9d2a} .bad .bar span{background:#c62828}
.legend-real{color:#1f77b4;font-weight:600} .legend-synth{color:#d62728;font-weight:600}
details{margin:.4em 0} summary{cursor:pointer;font-weight:600;padding:.2em 0}
figure{margin:1em 0} figcaption{color:#555;font-size:.9em;margin-bottom:.3em}
img{max-width:100%} dt{font-weight:bold;margin-top:.6em} code{background:#f3f3f3;padding:0 3px}
.muted{color:#666;font-size:.9em}
table.provenance td{vertical-align:top}
table.nested{margin:0;font-size:12px}
table.nested th,table.nested td{text-align:left;vertical-align:top;padding:2px 6px}
"""

#: Figures of a report: key -> (title, caption).
FIGURES = {
    "overlays": ("Sample windows", "Random windows, real and synthetic, of the features "
                 "that fail most."),
    "distributions": ("Distributions", "Histogram of every value of each feature."),
    "acf": ("Autocorrelation", "Mean autocorrelation within a window, by lag."),
    "correlations": ("Correlations between features", "Left real, middle synthetic, right "
                     "the absolute difference."),
    "embeddings": ("Windows as points", "Each window reduced to two dimensions; synthetic "
                   "points should cover the real cloud and nothing else."),
}


def _img(encoded: str, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'


def _text(value: str) -> str:
    """Escape for HTML and turn reStructuredText ``literals`` into code."""
    return re.sub(r"``(.+?)``", r"<code>\1</code>", html.escape(str(value)))


def _table(report, table=None, columns=None) -> str:
    table = report.table if table is None else table
    columns = list(table.columns) if columns is None else columns
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for record in table[columns].itertuples(index=False):
        values = dict(zip(columns, record, strict=True))
        css = "pass" if values.get("passed", True) else "fail"
        cells = []
        for name, value in values.items():
            klass = "flag" if name == "passed" else ("text" if name in ("check", "group",
                                                                         "feature") else "")
            text = f"{value:.1f}x" if name == "severity" else _fmt(value)
            cells.append(f'<td class="{klass}">{html.escape(text)}</td>')
        body.append(f'<tr class="{css}">{"".join(cells)}</tr>')
    return f'<table class="checks"><tr>{head}</tr>{"".join(body)}</table>'


def _card(name: str, value: str, share: float, note: str, good: bool) -> str:
    width = max(0.0, min(1.0, share)) * 100
    return (f'<div class="card {"good" if good else "bad"}"><div class="name">'
            f'{html.escape(name)}</div><div class="value">{html.escape(value)}</div>'
            f'<div class="bar"><span style="width:{width:.0f}%"></span></div>'
            f'<div class="note">{html.escape(note)}</div></div>')


def score_cards(report) -> str:
    """A card per group (share of rows that pass) and per detector that ran."""
    from tsvae.evaluation.scores import detectors, group_scores

    cards = []
    for group, g in group_scores(report.table).iterrows():
        cards.append(_card(group, f"{g['score']:.0%}", g["score"],
                           f"{int(g['passed'])} of {int(g['rows'])} rows pass",
                           bool(g["group_passed"])))
    for label, d in detectors(report.table).items():
        score, like_real = d["score"], 1.0 - 2.0 * d["score"]
        verdict = "passes" if d["passed"] else "fails"
        cards.append(_card(f"detection: {label}", f"{like_real:.0%}", like_real,
                           f"score {score:.3f} {verdict} (bound {d['threshold']:.3f}); "
                           f"accuracy {0.5 + score:.0%} (50% = cannot tell)", d["passed"]))
    return f'<div class="cards">{"".join(cards)}</div>'


def _failures(report, limit: int = 25, more_note: bool = True) -> str:
    from tsvae.evaluation.scores import failures

    failed = failures(report.table)
    if failed.empty:
        return "<p>No check failed.</p>"
    columns = ["check", "group", "feature", "statistic", "threshold", "real_value",
               "synthetic_value", "p_value", "severity"]
    more = ""
    if len(failed) > limit:
        where = " are in the full table below" if more_note else " are not shown"
        more = f'<p class="muted">{len(failed) - limit} more failed rows{where}.</p>'
    return ('<p class="muted">Severity: how far the statistic is past its bound (statistic / '
            "threshold, or threshold / p-value for p-value rules).</p>"
            + _table(report, failed.head(limit), columns) + more)


def _grouped_tables(report) -> str:
    from tsvae.evaluation.scores import group_scores

    parts = []
    for group, g in group_scores(report.table).iterrows():
        rows = report.table[report.table["group"] == group]
        parts.append(f"<details><summary>{html.escape(str(group))}: {g['score']:.0%} "
                     f"({int(g['passed'])} of {int(g['rows'])} rows pass)</summary>"
                     f"{_table(report, rows)}</details>")
    described = "".join(
        f"<dt>{html.escape(name)} ({html.escape(info['group'])})</dt>"
        f"<dd>{_text(info['description'])}<br><em>Pass rule:</em> {_text(info['rule'])}</dd>"
        for name, info in report.checks.items())
    parts.append(f"<details><summary>What each check measures</summary><dl>{described}</dl>"
                 "</details>")
    return "".join(parts)


def _subtitle(meta: dict) -> str:
    bits = []
    if "method" in meta:
        noise = meta.get("observation_noise")
        bits.append(f"method {meta['method']}" + ("" if noise is None else
                                                  (" drawn from the decoder's likelihood" if noise
                                                   else " (decoded means)")))
    if "synthetic_windows" in meta:
        bits.append(f"{meta['synthetic_windows']:,} synthetic vs {meta['real_windows']:,} real "
                    f"windows of {meta['steps']} steps x {meta['features']} features")
    bits += [f"tsvae {meta['tsvae_version']}" if "tsvae_version" in meta else "",
             meta.get("created", "")]
    return " &middot; ".join(html.escape(str(b)) for b in bits if b)


#: Provenance keys shown first, in this order; the other scalars follow as recorded, the
#: nested records (timings, detection details) last.
PROVENANCE_FIRST = ("tsvae_version", "created", "inputs", "method", "observation_noise",
                    "noise_scale", "generation_seed", "trained_epochs")


def _is_file(value) -> bool:
    return isinstance(value, dict) and "file" in value and "sha256" in value


def _scalar(value, key=None) -> str:
    """One value as escaped text: floats to four significant figures (thousands separated from
    10,000), ``yes``/``no``, ``none``; strings and SHA-256 digests kept whole."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}" if key == "bytes" else str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:,.0f}" if 1e4 <= abs(value) < 1e15 else f"{value:.4g}"
    text = html.escape(str(value))
    return f"<code>{text}</code>" if key == "sha256" else text


def _file(record: dict) -> str:
    """An input file: name, size and SHA-256 (whole)."""
    return (f"{html.escape(str(record.get('file')))}, {_scalar(record.get('bytes', 0), 'bytes')} "
            f"bytes, SHA-256 {_scalar(record.get('sha256'), 'sha256')}")


def _provenance_value(value, key=None) -> str:
    """A recorded value as HTML, never a Python repr: a dict becomes a table of labelled rows
    (a dict of dicts a table with a column per key), a list of dicts a table with a column per
    field, any other list its items separated by commas."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, tuple | set | frozenset):
        value = list(value)
    if isinstance(value, dict):
        if not value:
            return "none"
        if _is_file(value):
            return _file(value)
        inner = list(value.values())
        if len(inner) > 1 and all(isinstance(v, dict) and v and not _is_file(v)
                                  for v in inner):
            return _records_table(inner, header=list(value))  # a column per key
        rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{_provenance_value(v, k)}</td></tr>"
                       for k, v in value.items())
        return f"<table class='nested'>{rows}</table>"
    if isinstance(value, list):
        if not value:
            return "none"
        if all(isinstance(v, dict) for v in value):
            return _records_table(value)  # a row per record
        return ", ".join(_provenance_value(v, key) for v in value)
    return _scalar(value, key)


def _records_table(records: list[dict], header: list | None = None) -> str:
    """Dicts as one table over their fields: a row per record under a header of fields, or,
    with ``header`` (a label per record), a column per record and a row per field."""
    fields = list(dict.fromkeys(f for record in records for f in record))

    def cell(record, field):
        return f"<td>{_provenance_value(record[field], field) if field in record else ''}</td>"

    def head(labels):
        return "".join(f"<th>{html.escape(str(label))}</th>" for label in labels)

    if header is None:
        rows = "".join("<tr>" + "".join(cell(r, f) for f in fields) + "</tr>" for r in records)
        return f"<table class='nested'><tr>{head(fields)}</tr>{rows}</table>"
    rows = "".join(f"<tr>{head([f])}" + "".join(cell(r, f) for r in records) + "</tr>"
                   for f in fields)
    return f"<table class='nested'><tr><th></th>{head(header)}</tr>{rows}</table>"


def _provenance(meta: dict) -> str:
    """The report's record of itself as labelled rows (nested records as small tables), then
    the model's parameters. The JSON keeps the same values unrounded."""
    shown = [k for k in meta if k not in ("model_parameters", "not_run")]
    nested = [k for k in shown if isinstance(meta[k], dict | list | tuple) and k != "inputs"]
    order = ([k for k in PROVENANCE_FIRST if k in shown]
             + [k for k in shown if k not in PROVENANCE_FIRST and k not in nested] + nested)
    items = []
    for key in order:
        value = meta[key]
        if key == "inputs" and isinstance(value, dict):
            for role, record in value.items():
                text = _file(record) if _is_file(record) else _provenance_value(record)
                items.append(f"<tr><td class='text'>input: {html.escape(str(role))}</td>"
                             f"<td class='text'>{text}</td></tr>")
            continue
        items.append(f"<tr><td class='text'>{html.escape(str(key))}</td>"
                     f"<td class='text'>{_provenance_value(value, key)}</td></tr>")
    out = f"<table class='provenance'>{''.join(items)}</table>"
    params = meta.get("model_parameters")
    if params:
        rows = "".join(f"<tr><td class='text'>{html.escape(str(k))}</td>"
                       f"<td class='text'>{_provenance_value(v, k)}</td></tr>"
                       for k, v in params.items())
        out += f"<h3>Model parameters</h3><table class='provenance'>{rows}</table>"
    return out


def _figures(report) -> str:
    from tsvae.evaluation.plots import REAL_COLOR, SYNTH_COLOR

    parts = []
    shown = [(k, v) for k, v in FIGURES.items() if k in report.figures]
    if not shown:
        return ""
    parts.append('<section id="figures"><h2>Figures</h2>'
                 f'<p>Everywhere: <span class="legend-real" style="color:{REAL_COLOR}">real'
                 f'</span> and <span class="legend-synth" style="color:{SYNTH_COLOR}">'
                 "synthetic</span>. Per-feature figures show the features that fail most, "
                 "worst first.</p>")
    for key, (title, caption) in shown:
        parts.append(f'<figure id="{key}"><h3>{title}</h3><figcaption>{caption}</figcaption>'
                     f"{_img(report.figures[key], title)}</figure>")
    parts.append("</section>")
    return "".join(parts)


def latent_section(latent, figure: str | None) -> str:
    """The latent diagnostics: summary figures, the latent PCA and the per-dimension table."""
    summary = "".join(f"<tr><td class='text'>{html.escape(k)}</td><td>{_fmt(v)}</td></tr>"
                      for k, v in latent.summary.items())
    image = _img(figure, "latent PCA") if figure else ""
    return ('<section id="latent"><h2>Latent space</h2>'
            "<p>Training latents <code>q(z|x)</code> against draws of the prior "
            "<code>N(0, I)</code>. A high <code>prior_hole_score</code> (share of prior draws "
            "far from every training latent) means the prior asks the decoder for codes it "
            "never saw: prefer the <code>aggregate</code> method.</p>"
            f"<div style='display:flex;gap:2em;flex-wrap:wrap;align-items:flex-start'>"
            f"<table>{summary}</table>{image}</div>"
            "<details><summary>Per latent dimension</summary>"
            f"{latent.per_dimension.to_html(float_format=lambda v: f'{v:.4g}')}</details>"
            "</section>")


def page(title: str, body: list[str]) -> str:
    """One self-contained HTML page (inline style, embedded images, no network)."""
    return "\n".join(["<!DOCTYPE html><html><head><meta charset='utf-8'>",
                      f"<title>{html.escape(title)}</title>",
                      f"<style>{STYLE}</style></head><body>", *body, "</body></html>"])


def _giveaways(meta: dict) -> str:
    """The window summaries that let the feature classifier tell synthetic from real."""
    rows = (meta.get("detection") or {}).get("feature_discriminative", {}).get("giveaways")
    if not rows:
        return ""
    body = "".join(
        f"<tr><td>{html.escape(str(r['summary']))}</td><td>{r['ks']:.3f}</td>"
        f"<td>{r['real_mean']:.4g}</td><td>{r['synthetic_mean']:.4g}</td></tr>" for r in rows)
    return ('<h3>What gives the synthetic windows away</h3><p class="muted">The window '
            "summaries of the feature classifier whose distributions differ most between real "
            "and synthetic windows (Kolmogorov-Smirnov statistic: 0 = same, 1 = disjoint), "
            "with their averages on the real data's min-max scale.</p><table><thead><tr>"
            "<th>summary</th><th>KS</th>"
            f"<th>real mean</th><th>synthetic mean</th></tr></thead><tbody>{body}</tbody>"
            "</table>")


def _skipped(meta: dict) -> str:
    """Checks the data could not support, with the reason (not counted in any score)."""
    skipped = meta.get("skipped") or {}
    if not skipped:
        return ""
    items = "".join(f"<li><b>{html.escape(name)}</b>: {html.escape(reason)}</li>"
                    for name, reason in skipped.items())
    return f'<p class="muted">Not run on this data:</p><ul class="muted">{items}</ul>'


def not_run(meta: dict) -> str:
    """What the default left out and how to get it (the TimeGAN GRU scores)."""
    left = meta.get("not_run")
    if not left:
        return ""
    return (f'<p class="muted" id="not-run">Not run: {html.escape(", ".join(left["checks"]))}. '
            f"{html.escape(left['how'])}</p>")


def render_report(report) -> str:
    from tsvae.evaluation.scores import verdict_sentence

    verdict = "pass" if report.passed else "fail"
    parts = [
        "<h1>Synthetic data report</h1>",
        f'<p class="subtitle">{_subtitle(report.meta)}</p>',
        '<section id="summary">',
        f'<p class="verdict {verdict}">{html.escape(verdict_sentence(report.table))}</p>',
        score_cards(report),
        '<p class="muted">Each group score is the share of its rows that pass; a group passes '
        "at 80%, the verdict needs every group. Detection cards: how often a classifier "
        "trained to tell synthetic from real windows fails (100% = it cannot tell them "
        "apart).</p>", _skipped(report.meta), not_run(report.meta), _giveaways(report.meta),
        "</section>",
        '<section id="failures"><h2>Failures, worst first</h2>', _failures(report),
        "</section>",
        _figures(report),
        '<section id="checks"><h2>All checks</h2>', _grouped_tables(report), "</section>",
    ]
    if report.latent is not None:
        parts.append(latent_section(report.latent, report.figures.get("latent")))
    parts.append(f'<section id="provenance"><h2>Provenance</h2>{_provenance(report.meta)}'
                 "</section>")
    return page("tsvae report", parts)


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
