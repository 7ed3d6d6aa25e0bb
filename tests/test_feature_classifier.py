import numpy as np
import pytest

import tsvae
from tsvae.baselines import VARBaseline
from tsvae.data.windows import sliding_windows
from tsvae.evaluation.feature_classifier import (
    feature_discriminative_score,
    summary_gaps,
    window_features,
)


def _ar1(rng, n, steps, features, phi=0.9):
    x = np.empty((n, steps, features))
    x[:, 0] = rng.normal(size=(n, features)) / np.sqrt(1 - phi**2)
    for t in range(1, steps):
        x[:, t] = phi * x[:, t - 1] + rng.normal(size=(n, features))
    return x


def test_fresh_draws_of_the_same_process_pass_and_the_split_does_not_reward_memory():
    rng = np.random.default_rng(0)
    # Real: overlapping stride-1 windows of one long path. Synthetic: independent windows of
    # the same AR(1). They are alike, so the score must be near 0 under the block split; a
    # random split of the real windows lets the classifier recognise the neighbours of each
    # test window instead.
    real = np.ascontiguousarray(sliding_windows(_ar1(rng, 1, 5000, 3)[0], 24))
    fresh = _ar1(rng, len(real), 24, 3)
    assert feature_discriminative_score(real, fresh) < 0.05
    assert feature_discriminative_score(real[rng.permutation(len(real))], fresh) > 0.3


def test_independent_sines_pass():
    real = tsvae.datasets.make_sines(2000, random_state=0)
    other = tsvae.datasets.make_sines(2000, random_state=1)
    assert feature_discriminative_score(real, other) < 0.05


def test_a_var_on_etth_and_time_shuffled_windows_are_caught():
    frame = tsvae.datasets.load_etth1().iloc[:4000]
    real = np.ascontiguousarray(sliding_windows(frame.to_numpy(np.float64), 24))
    var = VARBaseline(2, start="gaussian").fit(frame).generate(len(real), 24, random_state=1)
    low, span = real.min(axis=(0, 1)), np.ptp(real, axis=(0, 1))
    assert feature_discriminative_score((real - low) / span, (var - low) / span) > 0.3
    rng = np.random.default_rng(0)
    shuffled = np.stack([w[rng.permutation(len(w))] for w in real])
    assert feature_discriminative_score(real, shuffled[rng.permutation(len(real))]) > 0.3


def test_window_features_shape_and_wide_data():
    assert window_features(np.zeros((4, 24, 3))).shape == (4, 8 * 3 + 3)
    # Wide data: per-feature summaries only, no quadratic number of pairs.
    assert window_features(np.zeros((4, 24, 30))).shape == (4, 8 * 30)


def test_the_check_runs_in_evaluate_and_passes_independent_sines():
    real = tsvae.datasets.make_sines(600, random_state=0)
    other = tsvae.datasets.make_sines(600, random_state=1)
    named = tsvae.evaluate(real, other, checks=["feature_discriminative"],
                           plots_in_report=False)
    assert named.table["check"].tolist() == ["feature_discriminative"]
    assert named.passed


def test_giveaways_name_the_summary_that_differs():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(600, 12, 2))
    jumpy = real[rng.permutation(600)].copy()
    jumpy[:, 5, 1] += 8.0  # one large jump in feature "b"
    top = summary_gaps(real, jumpy, ["a", "b"], top=2)
    assert set(top["summary"]) <= {"largest |step| (b)", "step std (b)", "std (b)",
                                   "mean |2nd difference| (b)"}
    assert list(top.columns) == ["summary", "ks", "real_mean", "synthetic_mean"]
    assert top.loc[0, "ks"] > 0.9


def test_bad_input():
    windows = np.zeros((2, 12, 2))
    with pytest.raises(ValueError, match="Too few"):
        feature_discriminative_score(windows, windows)
