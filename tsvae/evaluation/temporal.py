"""Temporal checks: do synthetic windows move through time like real ones?

Per-window statistics are computed with statsmodels on up to ``max_windows // 4`` windows of
each side (a few hundred), then compared as averages or rates.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import signal

from tsvae.evaluation.base import Check, row
from tsvae.evaluation.inputs import subsample


def _n_lags(length: int, limit: int = 10) -> int:
    return max(1, min(limit, length // 2 - 1))


def _per_window(windows: np.ndarray, j: int, fn) -> np.ndarray:
    out = []
    for w in windows[:, :, j]:
        if np.ptp(w) <= 1e-12:
            continue  # a flat window has no autocorrelation or stationarity to speak of
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out.append(fn(w))
            except (ValueError, OverflowError, np.linalg.LinAlgError, ZeroDivisionError):
                continue
    return np.asarray(out, dtype=np.float64)


def _sample_pair(data, options, share: int = 4):
    limit = max(50, options.max_windows // share)
    return (subsample(data.real_scaled, limit, options.rng),
            subsample(data.synthetic_scaled, limit, options.rng))


class _CorrelogramCheck(Check):
    group = "temporal"
    threshold = 0.15

    def correlogram(self, window: np.ndarray, n_lags: int) -> np.ndarray:
        raise NotImplementedError

    def run(self, data, options):
        real, synth = _sample_pair(data, options)
        n_lags = _n_lags(real.shape[1])
        rows = []
        for j, column in enumerate(data.columns):
            r = _per_window(real, j, lambda w, k=n_lags: self.correlogram(w, k))
            s = _per_window(synth, j, lambda w, k=n_lags: self.correlogram(w, k))
            if len(r) == 0 or len(s) == 0:
                passed = len(r) == len(s)
                rows.append(row(self, column, 0.0 if passed else 1.0, threshold=self.threshold,
                                passed=passed))
                continue
            r_mean, s_mean = r.mean(axis=0), s.mean(axis=0)
            # The real data's sampling band: 2 standard errors of the mean per lag.
            band = 2 * r.std(axis=0) / np.sqrt(len(r))
            gap = np.abs(r_mean - s_mean)
            worst = int(np.argmax(gap - band))
            tolerance = max(self.threshold, float(band[worst]))
            rows.append(row(self, column, float(gap.max()), real=float(r_mean[0]),
                            synthetic=float(s_mean[0]), threshold=tolerance,
                            passed=bool(np.all(gap <= np.maximum(band, self.threshold)))))
        return rows


class Autocorrelation(_CorrelogramCheck):
    name = "acf"
    description = ("Autocorrelation function (statsmodels acf) per window and feature, lags 1 to "
                   "min(10, T/2 - 1), averaged over windows. Statistic: the largest gap between "
                   "the real and synthetic mean ACF over lags; real/synthetic values show lag 1.")
    rule = ("passes when at every lag the gap lies within the real data's sampling band "
            "(2 standard errors) or within 0.15, whichever is wider.")

    def correlogram(self, window, n_lags):
        from statsmodels.tsa.stattools import acf

        return acf(window, nlags=n_lags, fft=False)[1:]


class PartialAutocorrelation(_CorrelogramCheck):
    name = "pacf"
    description = ("Partial autocorrelation (statsmodels pacf, Yule-Walker) per window and "
                   "feature, averaged over windows; statistic as for acf.")
    rule = "as for acf: every lag within the real sampling band or within 0.15."

    def correlogram(self, window, n_lags):
        from statsmodels.tsa.stattools import pacf

        return np.clip(pacf(window, nlags=n_lags, method="ywm")[1:], -1, 1)


class _RateAgreement(Check):
    """Share of windows where a test rejects, real vs synthetic."""

    group = "temporal"
    threshold = 0.25

    def rejects(self, window: np.ndarray) -> float:
        raise NotImplementedError

    def run(self, data, options):
        real, synth = _sample_pair(data, options, share=8)
        rows = []
        for j, column in enumerate(data.columns):
            r = _per_window(real, j, self.rejects)
            s = _per_window(synth, j, self.rejects)
            r_rate = float(r.mean()) if len(r) else 0.0
            s_rate = float(s.mean()) if len(s) else 0.0
            gap = abs(r_rate - s_rate)
            rows.append(row(self, column, gap, real=r_rate, synthetic=s_rate,
                            threshold=self.threshold, passed=gap <= self.threshold))
        return rows


class LjungBox(_RateAgreement):
    name = "ljung_box"
    description = ("Ljung-Box test of whiteness (statsmodels acorr_ljungbox, lag min(10, T/2-1)) "
                   "per window; values are the share of windows where whiteness is rejected at "
                   "5%. Statistic: the gap between the real and synthetic shares.")
    rule = "passes when the shares differ by at most 0.25."

    def rejects(self, window):
        from statsmodels.stats.diagnostic import acorr_ljungbox

        lags = _n_lags(len(window))
        return float(acorr_ljungbox(window, lags=[lags])["lb_pvalue"].iloc[0] < 0.05)


class ADF(_RateAgreement):
    name = "adf"
    description = ("Augmented Dickey-Fuller unit-root test (statsmodels adfuller; no augmentation "
                   "lags below 50 steps, Schwert's rule above) per window; "
                   "values are the share of windows where a unit root is rejected at 5% "
                   "(stationary). Statistic: the gap between the shares.")
    rule = "passes when the shares differ by at most 0.25."

    def rejects(self, window):
        from statsmodels.tsa.stattools import adfuller

        # Short windows leave no degrees of freedom for augmentation lags: plain Dickey-Fuller
        # below 50 steps, Schwert's rule above.
        lags = 0 if len(window) < 50 else int(12 * (len(window) / 100) ** 0.25)
        return float(adfuller(window, maxlag=lags, autolag=None)[1] < 0.05)


class KPSS(_RateAgreement):
    name = "kpss"
    description = ("KPSS stationarity test (statsmodels kpss) per window; values are the share "
                   "of windows where level stationarity is rejected at 5%. Statistic: the gap.")
    rule = "passes when the shares differ by at most 0.25."

    def rejects(self, window):
        from statsmodels.tsa.stattools import kpss

        return float(kpss(window, regression="c", nlags="auto")[1] < 0.05)


class Spectral(Check):
    name = "spectral"
    group = "temporal"
    description = ("Mean periodogram (scipy, detrended by the window mean) per feature, "
                   "normalised to a distribution over frequencies. Statistic: total-variation "
                   "distance between the real and synthetic spectra (0 = same shape, 1 = "
                   "disjoint).")
    rule = "passes when the distance <= 0.2."
    threshold = 0.2

    def run(self, data, options):
        real = subsample(data.real_scaled, options.max_windows, options.rng)
        synth = subsample(data.synthetic_scaled, options.max_windows, options.rng)
        _, p_real = signal.periodogram(real, axis=1, detrend="constant")
        _, p_synth = signal.periodogram(synth, axis=1, detrend="constant")
        rows = []
        for j, column in enumerate(data.columns):
            a, b = p_real[:, 1:, j].mean(axis=0), p_synth[:, 1:, j].mean(axis=0)
            if a.sum() <= 0 and b.sum() <= 0:
                d = 0.0
            else:
                a = a / a.sum() if a.sum() > 0 else np.full_like(a, 1 / len(a))
                b = b / b.sum() if b.sum() > 0 else np.full_like(b, 1 / len(b))
                d = 0.5 * float(np.abs(a - b).sum())
            rows.append(row(self, column, d, threshold=self.threshold,
                            passed=d <= self.threshold))
        return rows
