"""Validity checks: could each synthetic value have come from the real data's columns?

Fidelity scores compare distributions; these look at single values, as a person opening the
generated file would: a negative load, a count of 0.05 or a switch at 0.7 are invalid however
good the distributions look.
"""

from __future__ import annotations

import numpy as np

from tsvae.data.schema import MAX_LEVELS
from tsvae.evaluation.base import Check, row

#: Lowest share of valid synthetic values that passes (or the held-out real share, if lower).
MIN_SHARE = 0.99


def _values(windows: np.ndarray, j: int) -> np.ndarray:
    return windows[:, :, j].ravel()


def _threshold(real_share: float) -> float:
    return min(MIN_SHARE, real_share)


def _holdout_share(data, j: int, valid) -> float:
    """The real data's own figure: held-out real values that pass ``valid``, or 1.0 for the
    real data itself (in-sample, every real value is valid by construction)."""
    if data.holdout is None:
        return 1.0
    return float(np.mean(valid(_values(data.holdout, j))))


def _adherence_row(check, label, data, j: int, valid) -> dict:
    """The row of one feature: the synthetic share where ``valid`` holds, beside the real
    (held-out) share and the threshold that follows from it."""
    share = float(np.mean(valid(_values(data.synthetic, j))))
    real_share = _holdout_share(data, j, valid)
    threshold = _threshold(real_share)
    return row(check, label, share, real=real_share, synthetic=share, threshold=threshold,
               passed=share >= threshold)


class BoundaryAdherence(Check):
    name = "boundary_adherence"
    group = "validity"
    description = ("Share of synthetic values inside the real minimum and maximum of their "
                   "feature. Real value: the same share for held-out real values (``holdout=``),"
                   " or 1.0 (the real data lies in its own range).")
    rule = (f"passes when the share >= {MIN_SHARE} (or >= the held-out real share, if lower).")

    def run(self, data, options):
        rows = []
        for j, column in enumerate(data.columns):
            real = _values(data.real, j)
            low, high = real.min(), real.max()

            def inside(values, low=low, high=high):
                return (values >= low) & (values <= high)

            rows.append(_adherence_row(self, column, data, j, inside))
        return rows


class DiscreteAdherence(Check):
    name = "discrete_adherence"
    group = "validity"
    description = (f"For features with at most {MAX_LEVELS} distinct real values: share of "
                   "synthetic values on that value set. For other features whose real values "
                   "are all whole numbers: share of whole synthetic values. Other features "
                   "are skipped. Real value: the same share for held-out real values "
                   "(``holdout=``), or 1.0.")
    rule = (f"passes when the share >= {MIN_SHARE} (or >= the held-out real share, if lower).")

    def run(self, data, options):
        rows = []
        for j, column in enumerate(data.columns):
            real = _values(data.real, j)
            levels = np.unique(real)
            if len(levels) <= MAX_LEVELS:
                def valid(values, levels=levels):
                    return np.isin(values, levels)
                label = f"{column}:levels"
            elif np.all(real == np.round(real)):
                def valid(values):
                    return values == np.round(values)
                label = f"{column}:integer"
            else:
                continue
            rows.append(_adherence_row(self, label, data, j, valid))
        return rows
