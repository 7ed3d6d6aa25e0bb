"""Authenticity: do synthetic windows *move* like one training window, step for step?

The whole-window distance of the ``dcr`` check misses a generator that pastes a training
window's movement onto a new level: the level differs, so the window is not close, yet its
steps are a copy. This check compares two views of each window with the training windows:

- **steps**: first differences, each feature divided by its step standard deviation;
- **shapes**: each feature minus its window mean, divided by its standard deviation.

For each view, the distance of every synthetic window to its nearest training window is
compared with the same distance for held-out real windows. The statistic is the share of
synthetic windows closer than the closest 5% of held-out windows: about 0.05 for data as new
as held-out real data, near 1 for a generator that copies movement. Pass the real windows the
generator never saw as ``holdout=``: without them the check holds out a third of the real
windows itself, and copies of those count as new, so a full copier scores only about 0.6
(it still fails) and a generator copying a few percent of its windows can pass.
"""

from __future__ import annotations

import numpy as np

from tsvae.evaluation.base import Check, NotApplicable, row
from tsvae.evaluation.inputs import subsample
from tsvae.evaluation.privacy import MAX_REFERENCE, closest_distances

#: The held-out quantile that defines "close", and the largest share that passes.
CLOSE_QUANTILE = 0.05
MAX_CLOSE_SHARE = 0.10


def _spread(values: np.ndarray) -> np.ndarray:
    std = values.reshape(-1, values.shape[-1]).std(axis=0)
    return np.where(std > 0, std, 1.0)


def step_view(windows: np.ndarray, spread: np.ndarray | None = None) -> np.ndarray:
    """First differences of ``(N, T, F)`` windows, per feature divided by ``spread`` (default:
    their own standard deviation).

    Examples
    --------
    >>> import numpy as np
    >>> step_view(np.arange(12.0).reshape(1, 4, 3), np.ones(3)).ravel().tolist()[:3]
    [3.0, 3.0, 3.0]
    """
    steps = np.diff(np.asarray(windows, dtype=np.float64), axis=1)
    return steps / (_spread(steps) if spread is None else spread)


def shape_view(windows: np.ndarray, spread: np.ndarray | None = None) -> np.ndarray:
    """``(N, T, F)`` windows less each feature's window mean, per feature divided by
    ``spread`` (default: their own standard deviation).

    Examples
    --------
    >>> import numpy as np
    >>> shape_view(np.array([[[1.0], [3.0]]]), np.ones(1)).ravel().tolist()
    [-1.0, 1.0]
    """
    w = np.asarray(windows, dtype=np.float64)
    centred = w - w.mean(axis=1, keepdims=True)
    return centred / (_spread(centred) if spread is None else spread)


VIEWS = {"steps": step_view, "shapes": shape_view}


def copy_share(reference: np.ndarray, holdout: np.ndarray, synthetic: np.ndarray
               ) -> tuple[float, float, float]:
    """Share of ``synthetic`` closer to ``reference`` than the closest
    :data:`CLOSE_QUANTILE` of ``holdout`` (all three already in one view), with the median
    nearest distances of the held-out and synthetic windows.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> train = rng.normal(size=(500, 6))
    >>> round(copy_share(train, rng.normal(size=(200, 6)), train[:100] + 1e-3)[0], 2)
    1.0
    """
    held = closest_distances(reference, holdout)
    synth = closest_distances(reference, synthetic)
    floor = np.quantile(held, CLOSE_QUANTILE)
    if floor > 0:
        share = float(np.mean(synth < floor))
    else:  # data that repeats itself: only exact copies beyond the real data's own count
        share = max(0.0, float(np.mean(synth <= 0) - np.mean(held <= 0)))
    return share, float(np.median(held)), float(np.median(synth))


def holdout_split(real: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(reference, held-out) real windows by the detection checks' interleaved time blocks,
    with a gap of one window length, so no held-out window shares a step with the reference
    (a random cut of stride-1 windows would hold out near-copies of reference windows)."""
    from tsvae.evaluation.splits import block_roles

    roles = block_roles(len(real), real.shape[1], seed=int(rng.integers(2**31)))
    return real[roles == 0], real[roles == 1]


class Authenticity(Check):
    name = "authenticity"
    group = "privacy"
    description = ("Nearest-neighbour distance of the synthetic windows' steps (first "
                   "differences) and shapes (window mean removed), each feature scaled by its "
                   "spread, to the real (training) windows, beside the same distance for "
                   "held-out real windows (``holdout=``, or interleaved time blocks of the "
                   "real windows). Statistic: share of synthetic windows closer than the "
                   "closest 5% of held-out windows; values are the median distances.")
    rule = ("passes when that share <= 0.10 for steps and for shapes (about 0.05 is expected "
            "of data as new as held-out real windows; a generator that copies training "
            "windows' movement onto new levels scores near 1).")
    threshold = MAX_CLOSE_SHARE

    def run(self, data, options):
        if data.real.shape[1] < 2:
            raise NotApplicable("the steps and shapes of a window need at least 2 steps; "
                                "these windows have 1")
        real = data.real_scaled
        if data.holdout is not None:
            reference, holdout = real, data.scale(data.holdout)
        else:
            reference, holdout = holdout_split(real, options.rng)
        reference = subsample(reference, MAX_REFERENCE, options.rng)
        limit = 300 if options.fast else 1_000
        holdout = subsample(holdout, limit, options.rng)
        synthetic = subsample(data.synthetic_scaled, limit, options.rng)
        rows = []
        for name, view in VIEWS.items():
            spread = _spread(view(reference, np.ones(reference.shape[2])))
            flat = [view(w, spread).reshape(len(w), -1) for w in (reference, holdout, synthetic)]
            share, held_d, synth_d = copy_share(*flat)
            rows.append(row(self, name, share, real=held_d, synthetic=synth_d,
                            threshold=self.threshold, passed=share <= self.threshold))
        return rows
