"""Detection scores: can a classifier tell synthetic windows from real ones?

A *detector* is a function ``predict(train, labels, test, seed) -> predicted labels`` on
window arrays ``(N, T, F)`` (label 1 = synthetic). This module splits the data by the rule of
:mod:`tsvae.evaluation.splits` (interleaved time blocks with a gap for the real windows, a
random split for the synthetic ones), repeats over seeds and summarises:

- the score ``|balanced accuracy - 0.5|`` (0 = cannot tell, 0.5 = always right), its mean over
  seeds and a 95% interval (Student t over the seeds);
- the real-vs-real *floor*: the same detector and rule with disjoint time blocks of real windows
  in place of the synthetic ones (what the rule itself scores on data that is real on both
  sides: the share of the score that is not the generator's fault).

The detectors themselves live in :mod:`tsvae.evaluation.feature_classifier` (gradient boosting
on window summaries) and :mod:`tsvae.evaluation.minirocket` (MiniRocket features and a ridge).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tsvae.evaluation.base import ALL_FEATURES, Check, NotApplicable, row
from tsvae.evaluation.inputs import subsample
from tsvae.evaluation.splits import FLOOR, TRAIN_TEST, block_roles, random_roles

#: Share of the windows that tests (one block in three).
TEST_SHARE = 1 / 3
#: Fewest windows a class in the training part and in the test part.
MIN_CLASS_WINDOWS = 5
#: Fewest steps a window needs for the summaries (curvature reads three steps).
MIN_STEPS = 3
#: A detection check passes when its score is at most this (see :func:`passes`).
PASS_THRESHOLD = 0.15


@dataclass
class DetectionResult:
    """Scores of one detector over seeds, with the graded reading.

    Attributes
    ----------
    scores : list of float
        ``|balanced accuracy - 0.5|`` per seed.
    n_train, n_test : int
        Windows a class in the training and test parts (first seed).
    """

    scores: list[float]
    n_train: int = 0
    n_test: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def mean(self) -> float:
        return float(np.mean(self.scores))

    @property
    def interval(self) -> tuple[float, float]:
        """95% interval of the mean over seeds (Student t); a point with one seed."""
        return mean_interval(self.scores)

    @property
    def told_apart(self) -> float:
        """Share of windows the detector labels correctly (balanced): ``0.5 + score``."""
        return 0.5 + self.mean

    def grade(self) -> str:
        """The score in words, e.g. ``"told apart in 97% of windows (chance: 50%)"``."""
        return grade(self.mean)

    def to_dict(self) -> dict:
        low, high = self.interval
        return {"score": self.mean, "low": low, "high": high, "scores": list(self.scores),
                "told_apart": self.told_apart, "grade": self.grade(),
                "n_train": self.n_train, "n_test": self.n_test, **self.extra}


def mean_interval(values, level: float = 0.95) -> tuple[float, float]:
    """Mean ± Student-t half width over ``values`` (seeds).

    Examples
    --------
    >>> low, high = mean_interval([0.1, 0.2, 0.3])
    >>> round(low, 3), round(high, 3)
    (-0.048, 0.448)
    """
    from scipy.stats import t

    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    if len(values) < 2:
        return mean, mean
    half = float(t.ppf(0.5 + level / 2, len(values) - 1) * values.std(ddof=1)
                 / np.sqrt(len(values)))
    return mean - half, mean + half


def grade(score: float) -> str:
    """A detection score in words.

    Examples
    --------
    >>> grade(0.47)
    'told apart in 97% of windows (chance: 50%)'
    """
    return f"told apart in {0.5 + score:.0%} of windows (chance: 50%)"


def tie(a: DetectionResult, b: DetectionResult) -> bool:
    """Whether the 95% intervals of two results overlap (the table says "tie").

    Examples
    --------
    >>> tie(DetectionResult([0.1, 0.12, 0.11]), DetectionResult([0.4, 0.41, 0.42]))
    False
    """
    (a_low, a_high), (b_low, b_high) = a.interval, b.interval
    return a_low <= b_high and b_low <= a_high


def passes(result: DetectionResult, floor: DetectionResult) -> bool:
    """The pass rule of the detection checks: the score is at most :data:`PASS_THRESHOLD`
    above the real-vs-real floor (``docs/evaluation.md`` gives the evidence).

    Examples
    --------
    >>> passes(DetectionResult([0.18]), DetectionResult([0.05]))
    True
    >>> passes(DetectionResult([0.45]), DetectionResult([0.05]))
    False
    """
    return result.mean <= floor.mean + PASS_THRESHOLD


def _balanced_score(predicted: np.ndarray, labels: np.ndarray) -> float:
    recalls = [np.mean(predicted[labels == k] == k) for k in (0, 1)]
    return float(abs(np.mean(recalls) - 0.5))


def _check_pair(real: np.ndarray, synthetic: np.ndarray | None) -> None:
    for name, windows in (("real", real), ("synthetic", synthetic)):
        if windows is None:
            continue
        if not isinstance(windows, np.ndarray) or windows.ndim != 3:
            raise ValueError(f"{name} must be a window array (N, T, F), got "
                             f"{getattr(windows, 'shape', type(windows).__name__)}.")
        if not np.isfinite(windows).all():
            raise ValueError(f"{name} has missing or infinite values; the detectors need "
                             "finite windows.")
    if synthetic is not None and real.shape[1:] != synthetic.shape[1:]:
        raise ValueError(f"real windows are {real.shape[1:]} (steps, features) but synthetic "
                         f"ones are {synthetic.shape[1:]}; pass windows of the same shape.")


def _fit_score(detector, parts: dict, seed: int) -> tuple[float, int, int]:
    """Train on real/synthetic train parts, score on the test parts."""
    counts = {key: len(value) for key, value in parts.items()}
    n_train = min(counts["real_train"], counts["synth_train"])
    n_test = min(counts["real_test"], counts["synth_test"])
    if min(n_train, n_test) < MIN_CLASS_WINDOWS:
        raise NotApplicable(f"Too few windows to train and test a detector ({counts}); each part "
                         f"needs at least {MIN_CLASS_WINDOWS}: pass more windows.")
    rng = np.random.default_rng(seed)
    # equal classes in training; the test keeps every window (balanced accuracy)
    real_train = parts["real_train"][np.sort(rng.permutation(counts["real_train"])[:n_train])]
    synth_train = parts["synth_train"][rng.permutation(counts["synth_train"])[:n_train]]
    train = np.concatenate([real_train, synth_train])
    labels = np.r_[np.zeros(n_train, dtype=int), np.ones(n_train, dtype=int)]
    test = np.concatenate([parts["real_test"], parts["synth_test"]])
    test_labels = np.r_[np.zeros(counts["real_test"], dtype=int),
                        np.ones(counts["synth_test"], dtype=int)]
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    # One thread: beside another job, OpenMP's spinning threads made a gradient-boosting fit
    # ten times slower (53 s against 5 s on 2 cores).
    with threadpool_limits(limits=1):
        predicted = np.asarray(detector(train, labels, test, seed)).astype(int)
    return _balanced_score(predicted, test_labels), n_train, n_test


def detection_score(real: np.ndarray, synthetic: np.ndarray, detector, *, seeds=(0, 1, 2),
                    gap: int | None = None) -> DetectionResult:
    """Score ``detector`` on real vs synthetic windows under the block split, per seed.

    Parameters
    ----------
    real : numpy.ndarray
        Real windows ``(N, T, F)`` **in time order** (as ``sliding_windows`` cuts them).
    synthetic : numpy.ndarray
        Synthetic windows ``(M, T, F)``, on the same scale, any order.
    detector : callable
        ``detector(train, labels, test, seed) -> predicted labels`` (1 = synthetic).
    seeds : sequence of int
        One split (block offset, synthetic split) and one detector fit per seed.
    gap : int, optional
        Windows dropped between real train and test blocks (default: ``T``, for stride-1
        windows).

    Returns
    -------
    DetectionResult

    Examples
    --------
    >>> import numpy as np
    >>> from tsvae.evaluation.feature_classifier import feature_detector
    >>> rng = np.random.default_rng(0)
    >>> real = rng.normal(size=(300, 12, 2))
    >>> detection_score(real, rng.normal(size=(300, 12, 2)), feature_detector()).mean < 0.15
    True
    >>> detection_score(real, 3 * rng.normal(size=(300, 12, 2)), feature_detector()).mean > 0.4
    True
    """
    _check_pair(real, synthetic)
    gap = real.shape[1] if gap is None else gap
    scores, sizes = [], []
    for seed in seeds:
        roles = block_roles(len(real), gap, pattern=TRAIN_TEST, seed=seed)
        synth_roles = random_roles(len(synthetic), [1 - TEST_SHARE, TEST_SHARE], seed=seed)
        parts = {"real_train": real[roles == 0], "real_test": real[roles == 1],
                 "synth_train": synthetic[synth_roles == 0],
                 "synth_test": synthetic[synth_roles == 1]}
        score, n_train, n_test = _fit_score(detector, parts, seed)
        scores.append(score)
        sizes.append((n_train, n_test))
    return DetectionResult(scores, *sizes[0])


def floor_score(real: np.ndarray, detector, *, seeds=(0, 1, 2),
                gap: int | None = None) -> DetectionResult:
    """The real-vs-real floor: ``detector`` on disjoint time blocks of ``real`` against each
    other, both sides split into train and test blocks by the same rule.

    Each side has about half the real windows, so the floor is measured on about half the
    training windows of :func:`detection_score` on the same data.

    Examples
    --------
    >>> import numpy as np
    >>> from tsvae.evaluation.feature_classifier import feature_detector
    >>> real = np.random.default_rng(0).normal(size=(600, 12, 2))
    >>> floor_score(real, feature_detector()).mean < 0.15
    True
    """
    _check_pair(real, None)
    gap = real.shape[1] if gap is None else gap
    scores, sizes = [], []
    for seed in seeds:
        roles = block_roles(len(real), gap, pattern=FLOOR, seed=seed)
        parts = {"real_train": real[roles == 0], "real_test": real[roles == 1],
                 "synth_train": real[roles == 2], "synth_test": real[roles == 3]}
        score, n_train, n_test = _fit_score(detector, parts, seed)
        scores.append(score)
        sizes.append((n_train, n_test))
    return DetectionResult(scores, *sizes[0])


class DetectionCheck(Check):
    """A detection check for :func:`tsvae.evaluate`: the score over seeds beside the floor
    (and the baseline's score when ``evaluate(..., baseline="var")``).

    Subclasses set the texts and :meth:`detector`. The row: ``statistic`` and
    ``synthetic_value`` the mean score, ``real_value`` the floor, ``threshold`` the floor plus
    :data:`PASS_THRESHOLD`; the details (interval, grade, floor, baseline) go to the report's
    ``meta["detection"]``.
    """

    group = "detection"
    #: seeds (splits and fits) per score, and with ``fast=True``
    n_seeds, n_seeds_fast = 3, 2
    #: most real (and synthetic) windows used, and with ``fast=True``
    max_windows, max_windows_fast = 3_000, 1_000

    def detector(self, options):  # pragma: no cover - interface
        raise NotImplementedError

    def run(self, data, options):
        if data.real.shape[1] < MIN_STEPS:
            raise NotApplicable(f"the detectors' window summaries need windows of at least "
                                f"{MIN_STEPS} steps, these have {data.real.shape[1]}")
        limit = self.max_windows_fast if options.fast else self.max_windows
        rng = np.random.default_rng(options.seed)
        # subsample keeps the real windows in time order, which the block split needs
        real = subsample(data.real_scaled, limit, rng)
        synthetic = subsample(data.synthetic_scaled, limit, rng)
        n_seeds = self.n_seeds_fast if options.fast else self.n_seeds
        seeds = [options.seed + k for k in range(n_seeds)]
        detector = self.detector(options)
        result = detection_score(real, synthetic, detector, seeds=seeds)
        floor = floor_score(real, detector, seeds=seeds)
        details = {**result.to_dict(), "floor": floor.to_dict()}
        baseline = getattr(options, "baseline", None)
        if baseline is not None:
            base = detection_score(real, subsample(baseline, limit, rng), detector, seeds=seeds)
            details["baseline"] = {**base.to_dict(), "name": options.baseline_name,
                                   "tie": tie(result, base)}
        details_store = getattr(options, "details", None)
        if details_store is not None:
            details_store[self.name] = details
        return [row(self, ALL_FEATURES, result.mean, real=floor.mean, synthetic=result.mean,
                    threshold=floor.mean + PASS_THRESHOLD, passed=passes(result, floor))]


#: Baselines ``evaluate(..., baseline=...)`` can fit in the same call.
BASELINES = ("var",)


def baseline_windows(name: str, real, data, seed: int = 0) -> np.ndarray:
    """Windows of a baseline generator fitted on the real data, scaled as ``data``.

    ``"var"``: a VAR(2) (:class:`tsvae.baselines.VARBaseline`, fresh Gaussian starts) fitted
    on the real series frame, or on the real windows when ``real`` is not a series frame;
    as many windows as the synthetic side.

    Examples
    --------
    >>> import numpy as np
    >>> from tsvae.evaluation.inputs import prepare
    >>> x = np.random.default_rng(0).normal(size=(50, 12, 2))
    >>> baseline_windows("var", x, prepare(x, x, None)).shape
    (50, 12, 2)
    """
    import pandas as pd

    from tsvae.baselines import VARBaseline
    from tsvae.data.long_format import is_long_format

    if name not in BASELINES:
        raise ValueError(f"baseline={name!r} is not known; use one of {list(BASELINES)} or None.")
    source = real if isinstance(real, pd.DataFrame) and not is_long_format(real) else data.real
    var = VARBaseline(2, start="gaussian").fit(source)
    windows = var.generate(len(data.synthetic), data.real.shape[1], random_state=seed)
    return data.scale(windows)
