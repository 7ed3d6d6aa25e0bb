import numpy as np
import pandas as pd
import pytest

import tsvae
from tsvae.data.windows import sliding_windows
from tsvae.evaluation.detection import detection_score, floor_score, tie
from tsvae.evaluation.evaluate import _select
from tsvae.evaluation.feature_classifier import (
    feature_detector,
    window_feature_names,
    window_features,
)
from tsvae.evaluation.minirocket import LooRidgeClassifier, minirocket_detector, minirocket_score
from tsvae.evaluation.splits import FLOOR, block_roles, random_roles

ROCKET = minirocket_detector(84)  # few kernels: fast tests


def _ar1_path(rng, steps, features, phi=0.9):
    x = np.empty((steps, features))
    x[0] = rng.normal(size=features) / np.sqrt(1 - phi**2)
    for t in range(1, steps):
        x[t] = phi * x[t - 1] + rng.normal(size=features)
    return x


def _ar1_windows(rng, n, steps, features, phi=0.9):
    return np.stack([_ar1_path(rng, steps, features, phi) for _ in range(n)])


@pytest.fixture(scope="module")
def ar1():
    """Real: overlapping stride-1 windows of one AR(1) path; fresh: independent windows."""
    rng = np.random.default_rng(0)
    real = np.ascontiguousarray(sliding_windows(_ar1_path(rng, 1_500, 3), 16))
    return real, _ar1_windows(rng, len(real), 16, 3)


# ------------------------------------------------------------------------- the split rule
@pytest.mark.parametrize("pattern", [(0, 0, 1), FLOOR])
def test_blocks_never_share_a_step_across_roles(pattern):
    window = 16
    roles = block_roles(2_000, window, pattern=pattern, seed=3)
    kept = np.flatnonzero(roles >= 0)
    for role in np.unique(roles[kept]):
        mine = np.flatnonzero(roles == role)
        others = np.flatnonzero((roles >= 0) & (roles != role))
        # stride-1 windows i and j share a step iff |i - j| < window
        nearest = np.abs(mine[:, None] - others[None, :]).min()
        assert nearest >= window
    assert len(np.unique(roles[kept])) == len(set(pattern))


def test_block_shares_and_seeds():
    roles = block_roles(3_000, 24, seed=0)
    assert 0.25 < (roles == 1).sum() / (roles >= 0).sum() < 0.4
    assert not np.array_equal(roles, block_roles(3_000, 24, seed=1))
    assert np.bincount(random_roles(300, [2 / 3, 1 / 3], seed=0)).tolist() == [200, 100]


def test_too_few_windows_for_the_blocks():
    with pytest.raises(ValueError, match="Too few real windows"):
        block_roles(50, 24)
    with pytest.raises(ValueError, match="gap"):
        block_roles(500, -1)


# --------------------------------------------------------------------------- the detectors
@pytest.mark.parametrize("detector", [feature_detector(50), ROCKET], ids=["feature", "rocket"])
def test_leak_fresh_draws_of_the_process_score_near_zero(ar1, detector):
    # Independent draws of the very process behind the real series: nothing to detect. The
    # block split must not let the classifier recognise overlapping neighbours.
    real, fresh = ar1
    assert detection_score(real, fresh, detector, seeds=(0, 1)).mean < 0.06


def test_leak_a_random_split_of_the_real_windows_would_reward_memory(ar1):
    real, fresh = ar1
    shuffled = real[np.random.default_rng(0).permutation(len(real))]
    assert detection_score(shuffled, fresh, feature_detector(50), seeds=(0,)).mean > 0.25


@pytest.mark.parametrize("detector", [feature_detector(50), ROCKET], ids=["feature", "rocket"])
def test_time_shuffled_and_noise_are_caught(ar1, detector):
    real, fresh = ar1
    rng = np.random.default_rng(1)
    shuffled = np.stack([w[rng.permutation(len(w))] for w in fresh])
    assert detection_score(real, shuffled, detector, seeds=(0,)).mean > 0.3
    noise = rng.normal(size=fresh.shape) * real.std()
    assert detection_score(real, noise, detector, seeds=(0,)).mean > 0.3


def test_floor_of_a_stationary_series_is_near_zero(ar1):
    real, _ = ar1
    assert floor_score(real, feature_detector(50), seeds=(0,)).mean < 0.08


def test_result_interval_grade_and_tie(ar1):
    real, fresh = ar1
    result = minirocket_score(real, fresh, seeds=(0, 1, 2), num_kernels=84)
    low, high = result.interval
    assert low <= result.mean <= high and len(result.scores) == 3
    assert result.grade().startswith("told apart in ") and result.n_train > result.n_test
    noisy = detection_score(real, 3 * fresh, ROCKET, seeds=(0, 1, 2))
    assert not tie(result, noisy) and tie(result, result)


def test_learning_curve_limits_training(ar1):
    real, fresh = ar1
    assert minirocket_score(real, fresh, seeds=(0,), num_kernels=84,
                            max_per_class=50).n_train == min(
        (block_roles(len(real), 16, seed=0) == 0).sum(), int(len(fresh) * 2 / 3))


def test_loo_ridge_matches_scikit_learn():
    from sklearn.linear_model import RidgeClassifierCV

    rng = np.random.default_rng(0)
    for n, p in [(120, 30), (40, 90)]:  # both sides of the eigendecomposition
        x = rng.normal(size=(n, p))
        y = (x[:, 0] + rng.normal(size=n) > 0).astype(int)
        ours = LooRidgeClassifier().fit(x, y)
        theirs = RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)).fit(x, y)
        assert ours.alpha_ == pytest.approx(theirs.alpha_)
        np.testing.assert_allclose(ours.decision_function(x), theirs.decision_function(x),
                                   atol=1e-8)


def test_short_and_wide_windows():
    rng = np.random.default_rng(0)
    real, other = rng.normal(size=(300, 6, 40)), rng.normal(size=(300, 6, 40))
    # MiniRocket needs 9 steps: shorter windows are padded
    assert detection_score(real, other, ROCKET, seeds=(0,), gap=0).mean < 0.15
    names = window_feature_names([f"c{j}" for j in range(40)])
    assert len(names) == window_features(real[:2]).shape[1] == 8 * 40
    assert len(window_feature_names(["a", "b", "c"])) == window_features(real[:2, :, :3]).shape[1]


@pytest.mark.parametrize(("real", "synthetic", "match"), [
    (np.zeros((300, 12, 2)), np.zeros((300, 12, 3)), "same shape"),
    (np.full((300, 12, 2), np.nan), np.zeros((300, 12, 2)), "missing or infinite"),
    (np.zeros((300, 12)), np.zeros((300, 12, 2)), "window array"),
    (np.zeros((300, 12, 2)), np.zeros((8, 12, 2)), "Too few windows"),
])
def test_bad_input(real, synthetic, match):
    with pytest.raises(ValueError, match=match):
        detection_score(real, synthetic, feature_detector(10), seeds=(0,))


def test_bad_parameters():
    with pytest.raises(ValueError, match="num_kernels"):
        minirocket_detector(0)
    with pytest.raises(ValueError, match="max_per_class"):
        minirocket_score(np.zeros((300, 12, 2)), np.zeros((300, 12, 2)), max_per_class=1)


# ------------------------------------------------------------------------------ evaluate
@pytest.fixture(scope="module")
def ar1_frame():
    rng = np.random.default_rng(5)
    index = pd.date_range("2024-01-01", periods=600, freq="h")
    return pd.DataFrame(_ar1_path(rng, 600, 2), index=index, columns=["a", "b"])


def test_detection_group_is_in_the_default_set():
    names = {c.name for c in _select(None)}
    assert {"feature_discriminative", "minirocket"} <= names
    assert {c.name for c in _select(["detection"])} == {"feature_discriminative", "minirocket"}


def test_evaluate_passes_fresh_draws_and_fails_noise(ar1_frame):
    rng = np.random.default_rng(6)
    fresh = _ar1_windows(rng, 400, 12, 2)
    report = tsvae.evaluate(ar1_frame, fresh, n_past=12, checks=["detection"], fast=True,
                            plots_in_report=False)
    assert report.passed, report.table
    details = report.meta["detection"]["minirocket"]
    assert details["score"] < details["floor"]["score"] + 0.1
    noise = rng.normal(size=fresh.shape) * ar1_frame.to_numpy().std()
    report = tsvae.evaluate(ar1_frame, noise, n_past=12, checks=["detection"], fast=True,
                            plots_in_report=False)
    assert not report.table["passed"].any()
    assert report.table["statistic"].min() > 0.3


def test_evaluate_with_a_var_baseline(ar1_frame):
    fresh = _ar1_windows(np.random.default_rng(7), 300, 12, 2)
    report = tsvae.evaluate(ar1_frame, fresh, n_past=12, checks=["feature_discriminative"],
                            fast=True, plots_in_report=False, baseline="var")
    baseline = report.meta["detection"]["feature_discriminative"]["baseline"]
    assert baseline["name"] == "var" and 0 <= baseline["score"] <= 0.5
    assert len(report.table) == 1  # the baseline does not enter the verdict
    with pytest.raises(ValueError, match="baseline"):
        tsvae.evaluate(ar1_frame, fresh, n_past=12, checks=["ks"], baseline="gan")


# ------------------------------------------------------------------------------- profile
def test_model_profile(fitted_model, energy_small):
    from tsvae.evaluation.profile import FLOOR_LABEL, model_profile

    table = model_profile(fitted_model, energy_small, methods=("prior",), seeds=(0,),
                          gru_seeds=(0, 1), gru_iterations=5, num_kernels=84, curve=(50,),
                          giveaways=2)
    assert table["generator"].tolist() == [
        "prior", "reconstruction (noisy_posterior, noise_scale=0)", "VAR(2)", FLOOR_LABEL]
    for score in ("gru", "feature", "minirocket"):
        assert table[f"{score}_mean"].between(0, 0.5).all()
        assert set(table[f"vs_VAR(2)_{score}"]) <= {"below", "above", "tie", ""}
    assert table.loc[0, "giveaways"].count(";") == 1


def test_report_says_what_gives_the_synthetic_windows_away():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(400, 12, 2))
    jumpy = rng.normal(size=(400, 12, 2)) * np.where(rng.random((400, 12, 1)) < 0.1, 6, 1)
    report = tsvae.evaluate(real, jumpy, checks=["feature_discriminative"], fast=True,
                            plots_in_report=False)
    giveaways = report.meta["detection"]["feature_discriminative"]["giveaways"]
    assert 1 <= len(giveaways) <= 5
    assert any("largest" in g["summary"] or "std" in g["summary"] for g in giveaways[:2])
    assert "What gives the synthetic windows away" in report.to_html()
