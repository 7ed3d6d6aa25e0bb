import json

import numpy as np
import pandas as pd
import pytest

import tsvae
from tsvae.data.windows import sliding_windows
from tsvae.evaluation import CHECKS

TEMPORAL = ["acf", "pacf", "ljung_box", "adf", "kpss", "spectral"]


@pytest.fixture(scope="module")
def energy_windows():
    frame = tsvae.datasets.load_energy().iloc[:3000, :8]
    windows = np.ascontiguousarray(sliding_windows(frame.to_numpy(np.float64), 24))
    rng = np.random.default_rng(0)
    order = rng.permutation(len(windows))
    half = len(windows) // 2
    return windows[order[:half]], windows[order[half:]], list(frame.columns)


def _pass_rate(report, checks):
    rows = report.table[report.table["check"].isin(checks)]
    return rows["passed"].mean()


def _run(real, synthetic, **kwargs):
    return tsvae.evaluate(real, synthetic, fast=True, plots_in_report=False, random_state=0,
                          **kwargs)


def test_real_vs_held_out_real_passes(energy_windows):
    real, other, _ = energy_windows
    report = _run(real, other, checks=["default", "timegan"])
    assert report.passed
    assert report.pass_rate > 0.95
    assert report.score("discriminative") < 0.08


def test_white_noise_fails_temporal_and_marginal(energy_windows):
    real, other, _ = energy_windows
    rng = np.random.default_rng(1)
    noise = rng.uniform(real.min(axis=(0, 1)), real.max(axis=(0, 1)), size=other.shape)
    report = _run(real, noise, checks=["default", "timegan"])
    assert not report.passed
    assert _pass_rate(report, ["acf", "ljung_box", "spectral"]) < 0.3
    assert _pass_rate(report, ["ks", "wasserstein"]) < 0.5
    assert report.score("discriminative") > 0.2
    # Direction: noise has almost no lag-1 autocorrelation, the real data a lot.
    acf = report.table[report.table["check"] == "acf"]
    assert (acf["real_value"] > acf["synthetic_value"] + 0.3).mean() > 0.7


def test_time_shuffled_windows_fail_temporal_but_keep_marginals(energy_windows):
    real, other, _ = energy_windows
    rng = np.random.default_rng(2)
    shuffled = np.stack([w[rng.permutation(w.shape[0])] for w in other])
    report = _run(real, shuffled)
    assert _pass_rate(report, TEMPORAL) < 0.5
    assert _pass_rate(report, ["ks", "wasserstein", "moments"]) > 0.95
    assert not report.passed


def test_random_walk_fails_temporal(energy_windows):
    # Appliances and lights: spiky, mean-reverting load series. (The temperatures are
    # random-walk-like over 24 ten-minute steps, so a walk rightly passes there.)
    real, other, _ = energy_windows
    real, other = real[:, :, :2], other[:, :, :2]
    rng = np.random.default_rng(3)
    spread = real.std(axis=(0, 1))
    walk = other[:, :1, :] + np.cumsum(rng.normal(size=other.shape) * spread, axis=1)
    report = _run(real, walk)
    assert _pass_rate(report, TEMPORAL) < 0.5
    assert not report.passed
    # Direction: the walk is far more persistent than the load series.
    acf = report.table[report.table["check"] == "acf"]
    assert (acf["synthetic_value"] > acf["real_value"] + 0.15).all()


def test_copies_of_training_windows_fail_privacy(energy_windows):
    real, _, _ = energy_windows
    report = _run(real, real[:500], checks=["dcr"])
    assert not report.passed and report.score("dcr") > 0.5


def test_report_outputs(energy_windows, tmp_path):
    real, other, columns = energy_windows
    report = tsvae.evaluate(real[:400], other[:400], fast=True, random_state=0,
                            checks=["ks", "acf", "correlation", "discriminative"])
    frame = report.to_frame()
    assert list(frame.columns) == ["check", "group", "feature", "statistic", "real_value",
                                   "synthetic_value", "p_value", "threshold", "passed"]
    data = json.loads(report.to_json())
    assert data["passed"] == report.passed and len(data["rows"]) == len(frame)
    assert "| check |" in report.to_markdown()
    assert "EvaluationReport(verdict=" in repr(report)
    path = tmp_path / "report.html"
    text = report.to_html(path)
    assert path.read_text() == text
    for section in ("summary", "failures", "figures", "checks", "provenance"):
        assert f'<section id="{section}">' in text
    for figure in ("overlays", "distributions", "acf", "embeddings", "correlations"):
        assert f'<figure id="{figure}">' in text
    assert text.count("data:image/png;base64,") == 5
    assert "http://" not in text and "https://" not in text
    assert 'class="checks"' in text and ('class="fail"' in text or 'class="pass"' in text)


def test_every_check_is_documented():
    for check in CHECKS.values():
        assert check.description and check.rule and check.group


def test_series_frames_and_long_frames_are_accepted(fitted_model, energy_small):
    synthetic = fitted_model.generate(100, random_state=0)
    report = tsvae.evaluate(energy_small, synthetic, n_past=12, checks=["marginal"],
                            plots_in_report=False)
    assert set(report.table["feature"].str.split(":").str[0]) == set(energy_small.columns)


@pytest.mark.parametrize(
    ("synthetic", "kwargs", "error", "match"),
    [
        (np.zeros((50, 24, 3)), {}, ValueError, "features"),
        (np.zeros((50, 12, 8)), {}, ValueError, "steps"),
        (np.full((50, 24, 8), np.nan), {}, ValueError, "NaN"),
        (np.zeros((3, 24, 8)), {}, ValueError, "at least 10"),
        (np.zeros((50, 24, 8)), {"checks": ["vibes"]}, ValueError, "Unknown check"),
        ("not data", {}, TypeError, "DataFrame or an array"),
    ],
)
def test_bad_input(energy_windows, synthetic, kwargs, error, match):
    real, _, _ = energy_windows
    with pytest.raises(error, match=match):
        tsvae.evaluate(real, synthetic, plots_in_report=False, **kwargs)


def test_non_numeric_and_missing_columns():
    real = pd.DataFrame({"a": np.sin(np.arange(100.0)), "b": np.cos(np.arange(100.0))})
    with pytest.raises(ValueError, match="missing column 'b'"):
        tsvae.evaluate(real, real[["a"]], n_past=10)
    with pytest.raises(TypeError, match="not numeric"):
        tsvae.evaluate(real.assign(b="x"), real, n_past=10)
    with pytest.raises(ValueError, match="pass n_past"):
        tsvae.evaluate(real, real)


def test_compare_methods_side_by_side(fitted_model, energy_small):
    result = tsvae.compare_methods(fitted_model, energy_small, n=200, fast=True,
                                   checks=["ks", "acf", "discriminative", "dcr"],
                                   plots_in_report=False)
    assert list(result.table.columns) == ["prior", "posterior", "noisy_posterior", "aggregate"]
    assert {"discriminative", "verdict", "dcr_close_share"} <= set(result.table.index)
    # One observation-model switch for every method, stated in the table.
    assert result.table.loc["observation_noise"].tolist() == [True] * 4
    assert "prior_hole_score" in result.diagnostics.summary
    assert "| figure |" in result.to_markdown()


def test_report_shows_latent_diagnostics_when_given_a_model(fitted_model, energy_small):
    synthetic = fitted_model.generate(100, random_state=0, as_array=True)
    report = tsvae.evaluate(energy_small, synthetic, n_past=12, checks=["ks"], fast=True,
                            model=fitted_model)
    text = report.to_html()
    assert '<section id="latent">' in text and "prior_hole_score" in text
    assert text.count("data:image/png;base64,") == 6


def test_timegan_gru_scores_run_only_when_asked_and_the_report_says_how():
    from tsvae.evaluation.evaluate import _select

    assert not {"discriminative", "predictive"} & {c.name for c in _select(None)}
    assert [c.name for c in _select(["timegan"])] == ["discriminative", "predictive"]
    assert [c.name for c in _select(["ml"])] == ["mmd"]
    both = [c.name for c in _select(["default", "timegan"])]
    assert both[-2:] == ["discriminative", "predictive"] and "minirocket" in both
    real = tsvae.datasets.make_sines(60, length=12, n_features=2, random_state=0)
    other = tsvae.datasets.make_sines(60, length=12, n_features=2, random_state=1)
    report = tsvae.evaluate(real, other, checks=["ks"], plots_in_report=False)
    assert report.meta["not_run"]["checks"] == ["discriminative", "predictive"]
    assert "checks=['default', 'timegan']" in report.meta["not_run"]["how"]
    assert "--timegan" in report.to_html() and "--timegan" in report.to_markdown()
    assert set(report.meta["seconds"]) == {"ks"}
