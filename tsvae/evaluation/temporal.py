"""Temporal checks: do synthetic windows move through time like real ones?

Per-window statistics are computed on up to ``max_windows // 4`` windows of each side (a few
hundred), then compared as averages or rates: the autocorrelations, partial autocorrelations,
Ljung-Box and plain Dickey-Fuller statistics for all windows at once (the formulas of
statsmodels, whose functions the docstrings check them against), KPSS window by window.
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


def _varying(x: np.ndarray) -> np.ndarray:
    """The windows ``(N, T)`` of one feature that move (a flat window has no autocorrelation
    or stationarity to speak of), in float64."""
    x = np.asarray(x, dtype=np.float64)
    return x[np.ptp(x, axis=1) > 1e-12]


def window_acf(x: np.ndarray, n_lags: int) -> np.ndarray:
    """Autocorrelation of each row of ``x`` ``(N, T)`` at lags 0 to ``n_lags``, as statsmodels
    ``acf(row, nlags=n_lags, fft=False)`` computes it (demeaned, divided by the lag-0 sum), for
    all rows at once.

    Examples
    --------
    >>> import numpy as np
    >>> from statsmodels.tsa.stattools import acf
    >>> x = np.random.default_rng(0).normal(size=(3, 24))
    >>> bool(np.allclose(window_acf(x, 5)[1], acf(x[1], nlags=5, fft=False)))
    True
    """
    c = x - x.mean(axis=1, keepdims=True)
    lag0 = (c * c).sum(axis=1)
    out = np.ones((len(x), n_lags + 1))
    for k in range(1, n_lags + 1):
        out[:, k] = (c[:, k:] * c[:, :-k]).sum(axis=1) / lag0
    return out


def window_pacf(rho: np.ndarray) -> np.ndarray:
    """Partial autocorrelations at lags 1..K from autocorrelations ``rho`` ``(N, K + 1)`` by
    the Durbin-Levinson recursion: statsmodels ``pacf(method="ywm")`` (Yule-Walker on the
    MLE autocovariance), for all rows at once.

    Examples
    --------
    >>> import numpy as np
    >>> from statsmodels.tsa.stattools import pacf
    >>> x = np.random.default_rng(0).normal(size=(3, 24))
    >>> ours = window_pacf(window_acf(x, 5))[2]
    >>> bool(np.allclose(ours, pacf(x[2], nlags=5, method="ywm")[1:]))
    True
    """
    n, k_max = rho.shape[0], rho.shape[1] - 1
    out = np.empty((n, k_max))
    phi = np.zeros((n, 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(1, k_max + 1):
            if k == 1:
                kk = rho[:, 1]
            else:
                previous = rho[:, k - 1:0:-1]  # rho_{k-1} .. rho_1
                kk = ((rho[:, k] - (phi * previous).sum(axis=1))
                      / (1 - (phi * rho[:, 1:k]).sum(axis=1)))
            phi = np.concatenate([phi - kk[:, None] * phi[:, ::-1], kk[:, None]], axis=1)
            out[:, k - 1] = kk
    return out


def _sample_pair(data, options, share: int = 4):
    limit = max(50, options.max_windows // share)
    return (subsample(data.real_scaled, limit, options.rng),
            subsample(data.synthetic_scaled, limit, options.rng))


class _CorrelogramCheck(Check):
    group = "temporal"
    threshold = 0.15

    def correlograms(self, windows: np.ndarray, n_lags: int) -> np.ndarray:
        """Lags 1..``n_lags`` of every moving window ``(N, T)`` of one feature; rows that
        cannot be computed (a singular autocovariance) are left out."""
        raise NotImplementedError

    def run(self, data, options):
        real, synth = _sample_pair(data, options)
        n_lags = _n_lags(real.shape[1])
        rows = []
        for j, column in enumerate(data.columns):
            r = self.correlograms(_varying(real[:, :, j]), n_lags)
            s = self.correlograms(_varying(synth[:, :, j]), n_lags)
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

    def correlograms(self, windows, n_lags):
        return window_acf(windows, n_lags)[:, 1:]


class PartialAutocorrelation(_CorrelogramCheck):
    name = "pacf"
    description = ("Partial autocorrelation (statsmodels pacf, Yule-Walker) per window and "
                   "feature, averaged over windows; statistic as for acf.")
    rule = "as for acf: every lag within the real sampling band or within 0.15."

    def correlograms(self, windows, n_lags):
        values = window_pacf(window_acf(windows, n_lags))
        return np.clip(values[np.isfinite(values).all(axis=1)], -1, 1)


class _RateAgreement(Check):
    """Share of windows where a test rejects, real vs synthetic."""

    group = "temporal"
    threshold = 0.25

    def rejects(self, window: np.ndarray) -> float:
        raise NotImplementedError

    def rejections(self, windows: np.ndarray) -> np.ndarray:
        """1.0 where the test rejects, per moving window ``(N, T)`` of one feature (default:
        :meth:`rejects` window by window)."""
        return _per_window(windows[:, :, None], 0, self.rejects)

    def run(self, data, options):
        real, synth = _sample_pair(data, options, share=8)
        rows = []
        for j, column in enumerate(data.columns):
            r = self.rejections(_varying(real[:, :, j]))
            s = self.rejections(_varying(synth[:, :, j]))
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

    def rejections(self, windows):
        # acorr_ljungbox's statistic, from the autocorrelations of all windows at once
        from scipy.stats import chi2

        steps = windows.shape[1]
        lags = _n_lags(steps)
        rho = window_acf(windows, lags)[:, 1:]
        q = steps * (steps + 2) * (rho**2 / (steps - np.arange(1, lags + 1))).sum(axis=1)
        return (chi2.sf(q, lags) < 0.05).astype(np.float64)


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

    def rejections(self, windows):
        if windows.shape[1] >= 50:
            return super().rejections(windows)
        # Plain Dickey-Fuller (adfuller's maxlag=0 regression: the step on the previous
        # level and a constant) for all windows at once; MacKinnon's p-value as adfuller.
        from statsmodels.tsa.adfvalues import mackinnonp

        if windows.shape[1] < 4:  # no regression with a degree of freedom: no test
            return np.empty(0, dtype=np.float64)
        level, step = windows[:, :-1], np.diff(windows, axis=1)
        level = level - level.mean(axis=1, keepdims=True)
        step = step - step.mean(axis=1, keepdims=True)
        spread = (level * level).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = (level * step).sum(axis=1) / spread
            residual = step - slope[:, None] * level
            scale = np.sqrt((residual * residual).sum(axis=1) / (step.shape[1] - 2) / spread)
            stat = slope / scale
        stat = stat[np.isfinite(stat)]
        return np.array([mackinnonp(t, regression="c", N=1) < 0.05 for t in stat],
                        dtype=np.float64)


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
