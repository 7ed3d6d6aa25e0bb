"""Privacy check: are synthetic windows suspiciously close to the training windows?"""

from __future__ import annotations

import numpy as np

from tsvae.evaluation.base import ALL_FEATURES, Check, row
from tsvae.evaluation.inputs import subsample

MAX_REFERENCE = 20_000


def closest_distances(reference: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Euclidean distance from each query window to its closest reference window."""
    from sklearn.neighbors import NearestNeighbors

    index = NearestNeighbors(n_neighbors=1).fit(reference.reshape(len(reference), -1))
    return index.kneighbors(queries.reshape(len(queries), -1))[0][:, 0]


class DistanceToClosestRecord(Check):
    name = "dcr"
    group = "privacy"
    description = ("Distance to the closest real (training) window for synthetic windows, beside "
                   "the same distance for held-out real windows (``holdout=``, or a random 20% "
                   "of the real windows kept out of the reference). Statistic: share of "
                   "synthetic windows closer to the training data than the 5th percentile of "
                   "held-out windows; values are the median distances.")
    rule = ("passes when that share <= 0.10 (about 0.05 is expected of data as new as held-out "
            "real windows; copies of training windows push it towards 1).")
    threshold = 0.10

    def run(self, data, options):
        real = data.real_scaled
        if data.holdout is not None:
            reference, holdout = real, data.scale(data.holdout)
        else:
            order = options.rng.permutation(len(real))
            cut = max(1, int(0.2 * len(real)))
            holdout, reference = real[order[:cut]], real[order[cut:]]
        reference = subsample(reference, MAX_REFERENCE, options.rng)
        limit = 300 if options.fast else 1_000
        holdout_d = closest_distances(reference, subsample(holdout, limit, options.rng))
        synth_d = closest_distances(reference, subsample(data.synthetic_scaled, limit,
                                                         options.rng))
        floor = np.quantile(holdout_d, 0.05)
        if floor > 0:
            share = float(np.mean(synth_d < floor))
        else:
            # Real data that repeats itself (held-out windows equal to training ones): only
            # exact copies beyond the real data's own share count against the synthetic data.
            share = max(0.0, float(np.mean(synth_d <= 0) - np.mean(holdout_d <= 0)))
        return [row(self, ALL_FEATURES, share, real=float(np.median(holdout_d)),
                    synthetic=float(np.median(synth_d)), threshold=self.threshold,
                    passed=share <= self.threshold)]
