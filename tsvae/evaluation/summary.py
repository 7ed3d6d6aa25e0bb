"""Per-feature summary statistics of windows: the quick look printed by the demo."""

from __future__ import annotations

import numpy as np
import pandas as pd


def lag1_autocorrelation(windows: np.ndarray) -> np.ndarray:
    """Mean within-window lag-1 autocorrelation per feature of ``(N, T, F)`` windows."""
    x = windows - windows.mean(axis=1, keepdims=True)
    denom = (x**2).sum(axis=1)
    num = (x[:, :-1] * x[:, 1:]).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(denom > 0, num / np.where(denom > 0, denom, 1.0), np.nan)
    return np.nanmean(ratio, axis=0)


def summary_table(windows_by_name: dict[str, np.ndarray], columns: list[str]) -> pd.DataFrame:
    """Mean, std and lag-1 autocorrelation per feature for each named set of windows.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.random.default_rng(0).normal(size=(50, 10, 2))
    >>> summary_table({"real": w}, ["a", "b"]).columns.tolist()
    [('real', 'mean'), ('real', 'std'), ('real', 'lag1_acf')]
    """
    parts = {}
    for name, windows in windows_by_name.items():
        flat = windows.reshape(-1, windows.shape[2])
        parts[name] = pd.DataFrame({"mean": flat.mean(axis=0), "std": flat.std(axis=0),
                                    "lag1_acf": lag1_autocorrelation(windows)}, index=columns)
    return pd.concat(parts, axis=1)
