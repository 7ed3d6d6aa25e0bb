"""Marginal checks: does each feature take the values the real data takes?"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats

from tsvae.evaluation.base import Check, row
from tsvae.evaluation.inputs import subsample

MAX_VALUES = 20_000


def _pooled(windows: np.ndarray, j: int, rng: np.random.Generator) -> np.ndarray:
    values = windows[:, :, j].ravel()
    if len(values) > MAX_VALUES:
        values = values[rng.choice(len(values), MAX_VALUES, replace=False)]
    return values


class KolmogorovSmirnov(Check):
    name = "ks"
    group = "marginal"
    description = ("Two-sample Kolmogorov-Smirnov test per feature on the pooled values of all "
                   "steps (up to 20,000 each side). Statistic: the largest gap D between the two "
                   "empirical CDFs.")
    rule = ("passes when D <= 0.1. With thousands of values the p-value (reported) flags even "
            "negligible gaps, so the rule uses the effect size D.")
    threshold = 0.1

    def run(self, data, options):
        rows = []
        real, synth = data.real_scaled, data.synthetic_scaled
        for j, column in enumerate(data.columns):
            result = stats.ks_2samp(_pooled(real, j, options.rng), _pooled(synth, j, options.rng))
            rows.append(row(self, column, result.statistic, p_value=result.pvalue,
                            threshold=self.threshold,
                            passed=result.statistic <= self.threshold))
        return rows


class Wasserstein(Check):
    name = "wasserstein"
    group = "marginal"
    description = ("Wasserstein-1 (earth mover's) distance per feature between pooled values, "
                   "on the min-max scale of the real data (fraction of the real range).")
    rule = "passes when the distance <= 0.05 (5% of the real range)."
    threshold = 0.05

    def run(self, data, options):
        rows = []
        real, synth = data.real_scaled, data.synthetic_scaled
        for j, column in enumerate(data.columns):
            d = stats.wasserstein_distance(_pooled(real, j, options.rng),
                                           _pooled(synth, j, options.rng))
            rows.append(row(self, column, d, threshold=self.threshold,
                            passed=d <= self.threshold))
        return rows


class Moments(Check):
    name = "moments"
    group = "marginal"
    description = ("Mean, standard deviation, skewness and excess kurtosis per feature (original "
                   "units for mean and std). Statistics: |mean difference| / real std, "
                   "|log(std ratio)|, |skewness difference|, |kurtosis difference|.")
    rule = ("passes when |mean diff| <= 0.25 real std, std ratio within 0.75-1.33 "
            "(|log ratio| <= 0.29), |skew diff| <= 0.5 and |kurtosis diff| <= 1.5.")
    limits = {"mean": 0.25, "std": float(np.log(4 / 3)), "skew": 0.5, "kurtosis": 1.5}

    def run(self, data, options):
        rows = []
        real = subsample(data.real, options.max_windows * 5, options.rng)
        synth = subsample(data.synthetic, options.max_windows * 5, options.rng)
        for j, column in enumerate(data.columns):
            r, s = real[:, :, j].ravel(), synth[:, :, j].ravel()
            with warnings.catch_warnings():
                # scipy warns that the moments of a constant are undefined; they come out NaN,
                # which the comparison below handles.
                warnings.simplefilter("ignore", RuntimeWarning)
                skews, kurtoses = (stats.skew(r), stats.skew(s)), (stats.kurtosis(r),
                                                                   stats.kurtosis(s))
            r_std, s_std = r.std(), s.std()
            scale = r_std if r_std > 0 else 1.0
            figures = {
                "mean": (r.mean(), s.mean(), abs(r.mean() - s.mean()) / scale),
                "std": (r_std, s_std,
                        abs(np.log((s_std + 1e-12 * scale) / (r_std + 1e-12 * scale)))),
                "skew": (*skews, abs(skews[0] - skews[1])),
                "kurtosis": (*kurtoses, abs(kurtoses[0] - kurtoses[1])),
            }
            for stat, (rv, sv, value) in figures.items():
                # Skewness and kurtosis of a constant are undefined (NaN): two constants agree.
                same = rv == sv or (np.isnan(rv) and np.isnan(sv))
                value = 0.0 if not np.isfinite(value) and same else value
                rows.append(row(self, f"{column}:{stat}", value, real=rv, synthetic=sv,
                                threshold=self.limits[stat],
                                passed=bool(value <= self.limits[stat])))
        return rows
