"""Classical baselines to hold synthetic data against: a vector autoregression (statsmodels).

A VAR(p) fitted by least squares and simulated with Gaussian innovations of the fitted
covariance. ``start="real"`` begins each window with the first ``p`` steps of a random real
window: a strong baseline for short windows, but like the posterior methods it re-uses real
data. ``start="gaussian"`` draws those ``p`` steps from a Gaussian fitted to the real starts:
fresh samples, comparable to the ``prior`` and ``aggregate`` methods.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tsvae.data.validate import validate_frame, validate_windows


class VARBaseline:
    """VAR(p) generator of windows.

    Parameters
    ----------
    lags : int
        Autoregressive order ``p``.
    start : {"real", "gaussian"}
        Where each window's first ``p`` steps come from (see the module docstring).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> x = np.zeros((500, 2))
    >>> for t in range(1, 500):
    ...     x[t] = 0.8 * x[t - 1] + rng.normal(size=2)
    >>> var = VARBaseline(lags=1).fit(pd.DataFrame(x, columns=["a", "b"]))
    >>> var.generate(10, 24, random_state=0).shape
    (10, 24, 2)
    """

    def __init__(self, lags: int = 2, start: str = "real") -> None:
        if start not in ("real", "gaussian"):
            raise ValueError(f"start={start!r} is not known; use 'real' or 'gaussian'.")
        self.lags = lags
        self.start = start

    def fit(self, data) -> VARBaseline:
        """Fit on a series frame (statsmodels ``VAR``) or on windows ``(N, T, F)`` (pooled
        least squares over all windows, statsmodels ``OLS``)."""
        p = self.lags
        if isinstance(data, pd.DataFrame):
            from statsmodels.tsa.api import VAR

            series = validate_frame(data, min_length=p + 2)
            values = series.values.astype(np.float64)
            self._starts = np.concatenate(
                [np.arange(a, b - p) for a, b in series.bounds]).astype(np.int64)
            self._values = values
            # Columns that never move make VAR's design singular: model the others.
            self._moving = np.ptp(values, axis=0) > 0
            result = VAR(values[:, self._moving]).fit(maxlags=p, trend="c")
            self.intercept_ = result.intercept
            self.coefs_ = result.coefs  # (p, k, k)
            self.sigma_ = np.asarray(result.sigma_u)
        else:
            from statsmodels.api import OLS

            windows = validate_windows(data).astype(np.float64)
            n, t, f = windows.shape
            self._values = windows.reshape(-1, f)
            self._starts = (np.arange(n) * t).astype(np.int64)
            self._moving = np.ptp(self._values, axis=0) > 0
            w = windows[:, :, self._moving]
            k = w.shape[2]
            target = w[:, p:].reshape(-1, k)
            design = np.concatenate([np.ones((len(target), 1))] + [
                w[:, p - lag: t - lag].reshape(-1, k) for lag in range(1, p + 1)], axis=1)
            beta = OLS(target, design).fit().params
            beta = np.asarray(beta).reshape(design.shape[1], k)
            self.intercept_ = beta[0]
            self.coefs_ = np.stack([beta[1 + i * k: 1 + (i + 1) * k].T for i in range(p)])
            resid = target - design @ beta
            self.sigma_ = np.cov(resid, rowvar=False).reshape(k, k)
        return self

    def generate(self, n: int, length: int, *, random_state=None) -> np.ndarray:
        """``n`` windows of ``length`` steps; the first ``lags`` steps are real."""
        rng = np.random.default_rng(random_state)
        p = self.lags
        starts = rng.choice(self._starts, size=n, replace=True)
        out = np.empty((n, length, self._values.shape[1]))
        real_starts = self._values[self._starts[:, None] + np.arange(p)]
        if self.start == "real":
            out[:, :p] = self._values[starts[:, None] + np.arange(p)]
        else:
            flat = real_starts.reshape(len(real_starts), -1)
            cov = np.atleast_2d(np.cov(flat, rowvar=False))
            values_, vectors_ = np.linalg.eigh(0.5 * (cov + cov.T))
            draw = rng.standard_normal((n, flat.shape[1])) @ (
                vectors_ * np.sqrt(np.clip(values_, 0, None))).T
            out[:, :p] = (flat.mean(axis=0) + draw).reshape(n, p, -1)
        # Constant columns keep their start value.
        out[:, p:, ~self._moving] = out[:, :1, ~self._moving]
        values, vectors = np.linalg.eigh(0.5 * (self.sigma_ + self.sigma_.T))
        factor = vectors * np.sqrt(np.clip(values, 0, None))
        moving = out[:, :, self._moving]
        for t in range(p, length):
            step = self.intercept_ + sum(moving[:, t - lag] @ self.coefs_[lag - 1].T
                                         for lag in range(1, p + 1))
            moving[:, t] = step + rng.standard_normal(step.shape) @ factor.T
        out[:, :, self._moving] = moving
        return out
