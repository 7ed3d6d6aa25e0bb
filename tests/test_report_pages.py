"""The evaluation report and the comparison page: what a reader finds, in which order."""

import re

import numpy as np
import pandas as pd

import tsvae
from tsvae.evaluation.report import EvaluationReport
from tsvae.evaluation.scores import failures, verdict_sentence, worst_features


def _row(check, group, feature, statistic, threshold, passed):
    return {"check": check, "group": group, "feature": feature, "statistic": statistic,
            "real_value": None, "synthetic_value": None, "p_value": None,
            "threshold": threshold, "passed": passed}


def _made_up_report(meta=None) -> EvaluationReport:
    """Groups from any branch of the project (validity, detection) next to the usual ones."""
    rows = [
        _row("ks", "marginal", "a", 0.05, 0.1, True),
        _row("ks", "marginal", "b", 0.30, 0.1, False),   # 3x its bound
        _row("acf", "temporal", "a", 0.9, 0.15, False),  # 6x: the worst
        _row("acf", "temporal", "b", 0.1, 0.15, True),
        _row("bounds", "validity", "a", 0.0, 0.0, True),
        _row("minirocket", "detection", "(all)", 0.2, 0.1, False),  # 2x
        _row("feature_discriminative", "ml", "(all)", 0.25, 0.1, False),
    ]
    checks = {name: {"group": group, "description": f"``{name}`` test", "rule": "rule"}
              for name, group in (("ks", "marginal"), ("acf", "temporal"),
                                  ("bounds", "validity"), ("minirocket", "detection"),
                                  ("feature_discriminative", "ml"))}
    return EvaluationReport(pd.DataFrame(rows), checks, meta=meta or {})


def test_verdict_names_failing_groups_and_failures_are_worst_first():
    report = _made_up_report()
    sentence = verdict_sentence(report.table)
    assert sentence.startswith("FAIL: 4 of 5 groups fall short")
    assert "temporal (50% of rows pass; acf fails 1 of 2)" in sentence
    assert failures(report.table)["feature"].tolist()[:3] == ["a", "b", "(all)"]
    assert worst_features(report.table, ["b", "a", "c"], n=3) == ["a", "b", "c"]


def test_report_page_has_scores_per_group_details_and_worst_first_failures():
    report = _made_up_report(meta={"tsvae_version": tsvae.__version__,
                                   "created": "2026-01-01 00:00 UTC", "method": "aggregate",
                                   "model_parameters": {"alpha": 20.0}})
    text = report.to_html()
    summary = text[text.index('<section id="summary">'):text.index('<section id="failures">')]
    for group, score in (("marginal", "50%"), ("temporal", "50%"), ("validity", "100%"),
                         ("detection", "0%"), ("ml", "0%")):
        assert re.search(rf'class="name">{group}</div><div class="value">{score}<', summary)
    # The strongest detector is shown as a detection score: 1 - 2 * 0.25 = 50%.
    assert 'detection: feature classifier</div><div class="value">50%<' in summary
    section = text[text.index('<section id="failures">'):text.index('<section id="checks">')]
    order = [section.index(f">{s}</td>") for s in ("6.0x", "3.0x", "2.5x", "2.0x")]
    assert order == sorted(order)
    checks = text[text.index('<section id="checks">'):]
    assert checks.count("<details>") == 6  # one per group and the check descriptions
    assert "<code>ks</code> test" in checks and "``" not in text
    provenance = text[text.index('<section id="provenance">'):]
    assert tsvae.__version__ in provenance and "2026-01-01" in provenance
    assert "Model parameters" in provenance and "alpha" in provenance


def test_evaluate_records_provenance_and_draws_the_worst_features(fitted_model, energy_small):
    synthetic = fitted_model.generate(60, random_state=0)
    report = tsvae.evaluate(energy_small, synthetic, n_past=12, checks=["marginal"],
                            fast=True, model=fitted_model, plots_in_report=False)
    meta = report.meta
    assert meta["tsvae_version"] == tsvae.__version__ and meta["created"].endswith("UTC")
    assert meta["method"] == "aggregate" and meta["observation_noise"] is True
    assert meta["model_parameters"]["n_past"] == 12
    assert "method aggregate drawn from the decoder&#x27;s likelihood" in report.to_html()


def test_compare_page_has_method_table_latent_section_and_a_section_per_method(
        fitted_model, energy_small):
    result = tsvae.compare_methods(fitted_model, energy_small, n=100, fast=True,
                                   checks=["ks", "discriminative"], plots_in_report=False)
    text = result.to_html()
    assert '<table id="method-table">' in text
    table = text[text.index('<table id="method-table">'):text.index("</table>")]
    for row in ("discriminative", "observation_noise", "group: marginal", "group: ml",
                "detection: GRU classifier (TimeGAN protocol)"):
        assert f">{row}</td>" in table
    assert '<section id="latent">' in text and "prior_hole_score" in text
    positions = [text.index(f'<section id="method-{m}" class="method">')
                 for m in ("prior", "posterior", "noisy_posterior", "aggregate")]
    assert positions == sorted(positions)
    assert "Method: aggregate" in text and 'class="verdict' in text


def test_compare_cli_report_is_the_comparison_page(tmp_path, fitted_model, energy_small):
    import subprocess
    import sys

    model_path, real_path = tmp_path / "m.tsvae", tmp_path / "real.csv"
    fitted_model.save(model_path)
    energy_small.iloc[:200].to_csv(real_path)
    out = tmp_path / "c.html"
    run = subprocess.run([sys.executable, "-m", "tsvae.cli", "compare", str(model_path),
                          str(real_path), "--time-col", "date", "-n", "60", "--fast",
                          "--checks", "ks", "feature_discriminative",
                          "--report", str(out), "--no-progress"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    text = out.read_text()
    assert '<table id="method-table">' in text and '<section id="method-prior"' in text
    assert np.all([f'id="method-{m}"' in text for m in ("posterior", "aggregate")])


# --------------------------------------------------------------- one rule per check
def _card_classes(text: str) -> dict:
    return dict((name, klass) for klass, name in re.findall(
        r'<div class="card (good|bad)"><div class="name">(.*?)</div>', text))


def test_no_card_disagrees_with_its_row():
    """A detection check passes on the floor + 0.15 rule; its card follows that rule, not a
    fixed 0.1 (the card was red at a score the row passed)."""
    from tsvae.evaluation.scores import detectors, group_scores

    rows = [_row("ks", "marginal", "a", 0.05, 0.1, True),
            _row("ks", "marginal", "b", 0.05, 0.1, True),
            _row("minirocket", "detection", "(all)", 0.21, 0.25, True),    # floor 0.10
            _row("feature_discriminative", "detection", "(all)", 0.05, 0.04, False)]
    report = EvaluationReport(pd.DataFrame(rows), {})
    cards = _card_classes(report.to_html())
    groups = group_scores(report.table)
    for group, g in groups.iterrows():
        assert cards[group] == ("good" if g["group_passed"] else "bad"), group
    for label, found in detectors(report.table).items():
        assert cards[f"detection: {label}"] == ("good" if found["passed"] else "bad"), label
    assert cards["detection: MiniRocket classifier"] == "good"
    assert cards["detection: feature classifier"] == "bad"
    assert report.group_summary()["group_passed"].to_dict() == {"marginal": True,
                                                                  "detection": False}


def _method_report(ks: float, ks_passed: bool, dcr: float, dcr_passed: bool, method: str):
    rows = [_row("ks", "marginal", "a", ks, 0.1, ks_passed),
            _row("dcr", "privacy", "(all)", dcr, 0.1, dcr_passed)]
    checks = {"ks": {"group": "marginal", "description": "", "rule": ""},
              "dcr": {"group": "privacy", "description": "", "rule": ""}}
    return EvaluationReport(pd.DataFrame(rows), checks,
                            meta={"method": method, "random_state": 7,
                                  "generation_seed": 3})


def test_compare_table_never_shades_a_failing_method_and_shows_privacy_failures_first():
    from tsvae.evaluation.compare import MethodComparison

    reports = {"prior": _method_report(0.08, True, 0.05, True, "prior"),
               "aggregate": _method_report(0.02, False, 0.855, False, "aggregate")}
    table = pd.DataFrame({m: r.key_figures() for m, r in reports.items()})
    text = MethodComparison(table, reports, None).to_html()
    method_table = text[text.index('<table id="method-table">'):]
    method_table = method_table[:method_table.index("</table>")]
    cells = dict(re.findall(r"<tr><td class='text'>(\w+)</td>(.*?)</tr>", method_table))
    # aggregate has the lower KS but fails the KS rule: prior is shaded, aggregate marked
    assert re.search(r"<td class='best'[^>]*>0.08</td><td class='fails'[^>]*>0.02 \(fails\)",
                     cells["ks_mean"])
    assert "class='best'" not in cells["ks_mean"].split("</td>")[1]
    assert "0.855 (fails)" in cells["dcr_close_share"]
    # privacy failures come before the table, and the privacy rows lead it
    assert text.index('id="privacy-failures"') < text.index('id="method-table"')
    assert "<b>aggregate</b>: dcr 0.855" in text and "<b>prior</b>: dcr" not in text
    first_row = re.search(r"<tr><td class='text'>([^<]+)</td>", method_table).group(1)
    assert first_row in ("dcr_close_share", "group: privacy")


def test_provenance_is_labelled_per_method_and_names_each_input_file(tmp_path):
    import hashlib

    from tsvae.evaluation.compare import MethodComparison
    from tsvae.evaluation.provenance import provenance

    data, model = tmp_path / "energy.csv", tmp_path / "energy.tsvae"
    data.write_text("a,b\n1,2\n")
    model.write_bytes(b"\x00model")
    inputs = provenance(sources={"real data": data, "model": model})["inputs"]
    assert inputs["real data"] == {"file": "energy.csv", "bytes": 8, "sha256": hashlib.sha256(
        b"a,b\n1,2\n").hexdigest()}
    reports = {m: _method_report(0.05, True, 0.05, True, m) for m in ("prior", "aggregate")}
    for report in reports.values():
        report.meta["inputs"] = inputs
    table = pd.DataFrame({m: r.key_figures() for m, r in reports.items()})
    text = MethodComparison(table, reports, None).to_html()
    section = text[text.index('<section id="provenance">'):]
    assert section.index("<h3>Method: prior</h3>") < section.index("<h3>Method: aggregate</h3>")
    for method in ("prior", "aggregate"):
        part = section[section.index(f"<h3>Method: {method}</h3>"):]
        assert f"<td class='text'>method</td><td class='text'>{method}</td>" in part
        assert "generation_seed</td><td class='text'>3<" in part
        assert "energy.tsvae, 6 bytes" in part and hashlib.sha256(
            b"\x00model").hexdigest() in part


# --------------------------------------------------------------- provenance as text
_SHA = "d87c8269f6a92e05730a2d5d2f0d08aea9cf334c604c03b062931e34b27a455e"
_DETAILED_META = {
    "real_windows": 577, "fast": True, "random_state": 0,
    "seconds": {"ks": 0.047, "minirocket": 3.6281234},
    "detection": {
        "feature_discriminative": {
            "score": 0.4079861111111111, "scores": [0.4131944444444444, 0.4027777777777778],
            "grade": "told apart in 91% of windows (chance: 50%)", "n_train": 200,
            "floor": {"score": 0.28125, "told_apart": 0.78125},
            "giveaways": [{"summary": "T1:std", "ks": 0.61234, "real_mean": 0.1,
                           "synthetic_mean": 0.3}]},
        "minirocket": {"score": 0.5, "scores": [0.5, 0.5], "floor": {"score": 0.1666666}}},
    "skipped": {"adf": "windows too short"},
    "tsvae_version": tsvae.__version__, "created": "2026-01-01 00:00 UTC",
    "inputs": {"real data": {"file": "energy.csv", "bytes": 140070, "sha256": _SHA}},
    "method": "aggregate", "observation_noise": True,
    "model_parameters": {"aggregate_fit": "means", "alpha": None, "beta": 1.0,
                         "layers": [16, 8], "options": {"a": 1}},
}


def _provenance_section(text: str) -> str:
    import html

    section = text[text.index('<section id="provenance">'):]
    return html.unescape(section[:section.index("</section>")])


def _assert_readable_provenance(section: str) -> None:
    # no Python repr of a dict or a list anywhere (escaped or not)
    for token in ("{'", "['", "[0.", "': ", "None", "True"):
        assert token not in section, token
    # nested values are labelled rows, each detector a column
    assert "<th>feature_discriminative</th><th>minirocket</th>" in section
    for label in ("floor", "told_apart", "scores", "giveaways", "ks", "minirocket"):
        assert f"<th>{label}</th>" in section, label
    # floats rounded, lists of numbers as text, hashes and sizes whole
    assert "0.408<" in section and "0.4079861" not in section
    assert "0.4132, 0.4028" in section and "3.628<" in section
    assert "told apart in 91% of windows (chance: 50%)" in section
    assert f"<code>{_SHA}</code>" in section and "140,070 bytes" in section
    # records become a table with a column per field
    assert "<th>summary</th><th>ks</th><th>real_mean</th><th>synthetic_mean</th>" in section
    assert "<td>T1:std</td><td>0.6123</td>" in section
    # model parameters as plain values, not reprs
    assert "<td class='text'>aggregate_fit</td><td class='text'>means</td>" in section
    assert "<td class='text'>layers</td><td class='text'>16, 8</td>" in section
    assert "<td class='text'>alpha</td><td class='text'>none</td>" in section


def test_provenance_renders_nested_records_as_labelled_text_not_python_reprs():
    import copy
    import json

    report = _made_up_report(meta=copy.deepcopy(_DETAILED_META))
    section = _provenance_section(report.to_html())
    _assert_readable_provenance(section)
    # version, date and inputs lead; the nested records come after the plain values
    assert section.index("tsvae_version") < section.index("input: real data") < section.index(
        "real_windows") < section.index("seconds") < section.index("detection")
    # the JSON keeps every value as recorded, unrounded
    meta = json.loads(report.to_json())["meta"]
    assert meta["detection"] == _DETAILED_META["detection"]
    assert meta["model_parameters"] == _DETAILED_META["model_parameters"]


def test_compare_page_provenance_renders_nested_records_as_labelled_text():
    import copy

    from tsvae.evaluation.compare import MethodComparison

    reports = {m: _method_report(0.05, True, 0.05, True, m) for m in ("prior", "aggregate")}
    for method, report in reports.items():
        report.meta.update(copy.deepcopy(_DETAILED_META), method=method)
    table = pd.DataFrame({m: r.key_figures() for m, r in reports.items()})
    section = _provenance_section(MethodComparison(table, reports, None).to_html())
    _assert_readable_provenance(section)
    assert section.count("<th>told_apart</th>") == 2
