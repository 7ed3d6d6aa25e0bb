"""Cross-feature checks: are the features related to each other as in the real data?"""

from __future__ import annotations

import numpy as np

from tsvae.evaluation.base import ALL_FEATURES, Check, row
from tsvae.evaluation.inputs import subsample


def _corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Correlation matrix between the columns of ``a`` and ``b`` (constant columns -> 0)."""
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    na, nb = np.linalg.norm(a, axis=0), np.linalg.norm(b, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = (a.T @ b) / np.outer(na, nb)
    return np.nan_to_num(c)


def lagged_correlation(windows: np.ndarray, lag: int) -> np.ndarray:
    """Correlation of feature i at step t with feature j at step t + lag, within windows."""
    n, t, f = windows.shape
    head = windows[:, : t - lag].reshape(-1, f)
    tail = windows[:, lag:].reshape(-1, f)
    return _corr(head, tail)


class CorrelationDistance(Check):
    name = "correlation"
    group = "multivariate"
    description = ("Pearson correlation matrices between features at lag 0 and lag 1 (feature i "
                   "at t with feature j at t+1, within windows). Statistic: mean absolute "
                   "difference between the real and synthetic matrices (off-diagonal at lag 0).")
    rule = "passes when the mean absolute difference <= 0.1."
    threshold = 0.1

    def run(self, data, options):
        real = subsample(data.real, options.max_windows * 5, options.rng)
        synth = subsample(data.synthetic, options.max_windows * 5, options.rng)
        rows = []
        for lag in (0, 1):
            if lag >= real.shape[1]:
                continue
            r, s = lagged_correlation(real, lag), lagged_correlation(synth, lag)
            if lag == 0:
                mask = ~np.eye(len(r), dtype=bool)
                if not mask.any():
                    continue
                d = float(np.abs(r - s)[mask].mean())
            else:
                d = float(np.abs(r - s).mean())
            rows.append(row(self, f"{ALL_FEATURES} lag {lag}", d, threshold=self.threshold,
                            passed=d <= self.threshold))
        return rows
