"""MiniRocket detector: random convolution features (sktime) and a ridge classifier.

``sktime``'s :class:`~sktime.transformations.rocket.MiniRocketMultivariate` turns each window
into the proportions of positive values of thousands of dilated convolutions across random
subsets of the features; a ridge classifier on the standardised features, its penalty chosen by
leave-one-out error as scikit-learn's ``RidgeClassifierCV`` does (:class:`LooRidgeClassifier`,
the same computation several times faster), tells real from synthetic on them. It sees shapes at
every time scale of the window, so it catches almost everything a generator gets wrong; with
many labelled windows it saturates (it also tells real windows from real windows with their
steps shuffled), so read it beside the floor, and as a learning curve in the benchmark.

The first use compiles sktime's numba kernels (about 25 s, cached on disk afterwards).
"""

from __future__ import annotations

import numpy as np

from tsvae.evaluation.detection import DetectionCheck

#: MiniRocket needs at least this many steps; shorter windows are padded with their last value.
MIN_STEPS = 9
#: Default number of kernels (sktime rounds down to a multiple of 84): 924 features, enough
#: to saturate on the bundled sets at a fraction of the default 10,000's ridge cost.
NUM_KERNELS = 1_000
#: Ridge penalties tried (as the MiniRocket paper's ``RidgeClassifierCV``).
ALPHAS = tuple(float(a) for a in np.logspace(-3, 3, 10))


def _panel(windows: np.ndarray) -> np.ndarray:
    """``(N, T, F)`` windows as sktime's ``numpy3D`` panel ``(N, F, T)`` in float32."""
    x = np.asarray(windows, dtype=np.float32)
    if x.shape[1] < MIN_STEPS:
        x = np.concatenate([x, np.repeat(x[:, -1:], MIN_STEPS - x.shape[1], axis=1)], axis=1)
    return np.ascontiguousarray(x.transpose(0, 2, 1))


def _require_numba() -> None:
    """sktime treats numba as optional and fails deep inside the transform without it; say
    up front what is missing."""
    try:
        import numba  # noqa: F401  (MiniRocket's kernels are numba-compiled)
    except ImportError:
        raise ImportError("The minirocket check needs numba (MiniRocket's kernels are compiled "
                          "with it): pip install numba.") from None


def minirocket_detector(num_kernels: int = NUM_KERNELS, n_jobs: int = 1):
    """The detector (see :mod:`tsvae.evaluation.detection`): MiniRocket features fitted on the
    training windows, standardised, and a leave-one-out ridge (:class:`LooRidgeClassifier`,
    alphas 1e-3 .. 1e3, as ``RidgeClassifierCV``).

    Parameters
    ----------
    num_kernels : int
        Number of MiniRocket features (rounded down to a multiple of 84, at least 84).
    n_jobs : int
        numba threads of the transform (``-1``: all cores).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(40, 12, 2))
    >>> minirocket_detector(84)(x, np.r_[np.zeros(20), np.ones(20)], x[:5], 0).shape
    (5,)
    """
    if isinstance(num_kernels, bool) or not isinstance(num_kernels, int | np.integer) or (
            num_kernels < 1):
        raise ValueError(f"num_kernels must be a positive integer, got {num_kernels!r}.")
    _require_numba()

    def predict(train, labels, test, seed):
        from sktime.transformations.rocket import MiniRocketMultivariate

        rocket = MiniRocketMultivariate(num_kernels=int(num_kernels), n_jobs=n_jobs,
                                        random_state=int(seed) % (2**31 - 1))
        rocket.fit(_panel(train))
        features = np.asarray(rocket.transform(_panel(np.concatenate([train, test]))),
                              dtype=np.float64)
        mean, std = features[:len(train)].mean(axis=0), features[:len(train)].std(axis=0)
        features = (features - mean) / np.where(std > 0, std, 1.0)
        ridge = LooRidgeClassifier().fit(features[:len(train)], labels)
        return ridge.predict(features[len(train):])

    return predict


class LooRidgeClassifier:
    """Binary ridge classifier with the penalty chosen by exact leave-one-out error, as
    scikit-learn's ``RidgeClassifierCV`` does (targets -1/+1, intercept by centring), from one
    eigendecomposition of the smaller of ``X'X`` and ``XX'``: several times faster than
    ``RidgeClassifierCV`` on a few thousand windows of ~2,000 MiniRocket features.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(200, 50))
    >>> y = (x[:, 0] + 0.1 * rng.normal(size=200) > 0).astype(int)
    >>> ridge = LooRidgeClassifier().fit(x[:150], y[:150])
    >>> bool((ridge.predict(x[150:]) == y[150:]).mean() > 0.8)
    True
    """

    def __init__(self, alphas=ALPHAS) -> None:
        self.alphas = alphas

    def fit(self, x: np.ndarray, labels: np.ndarray) -> LooRidgeClassifier:
        x = np.asarray(x, dtype=np.float64)
        target = np.where(np.asarray(labels) > 0, 1.0, -1.0)
        self.x_mean_, y_mean = x.mean(axis=0), target.mean()
        xc, yc = x - self.x_mean_, target - y_mean
        if xc.shape[0] <= xc.shape[1]:
            eig, u = np.linalg.eigh(xc @ xc.T)
        else:
            eig, v = np.linalg.eigh(xc.T @ xc)
        keep = eig > eig.max() * 1e-10
        eig = eig[keep]
        u = u[:, keep] if xc.shape[0] <= xc.shape[1] else (xc @ v[:, keep]) / np.sqrt(eig)
        uy, u2 = u.T @ yc, u**2
        errors = []
        for alpha in self.alphas:
            shrink = eig / (eig + alpha)
            fitted = u @ (shrink * uy)
            hat = u2 @ shrink + 1.0 / len(x)  # the centring (intercept) adds 1/n
            errors.append(np.mean(((yc - fitted) / (1.0 - hat)) ** 2))
        self.alpha_ = float(self.alphas[int(np.argmin(errors))])
        self.coef_ = xc.T @ (u @ (uy / (eig + self.alpha_)))
        self.intercept_ = y_mean
        return self

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, dtype=np.float64) - self.x_mean_) @ self.coef_ + self.intercept_

    def predict(self, x: np.ndarray) -> np.ndarray:
        return (self.decision_function(x) > 0).astype(int)


def minirocket_score(real: np.ndarray, synthetic: np.ndarray, *, seeds=(0, 1, 2),
                     num_kernels: int = NUM_KERNELS, max_per_class: int | None = None,
                     n_jobs: int = 1):
    """MiniRocket detection score of synthetic vs real windows, per seed.

    Parameters
    ----------
    real : numpy.ndarray
        Real windows ``(N, T, F)`` in time order (split in interleaved time blocks).
    synthetic : numpy.ndarray
        Synthetic windows ``(M, T, F)`` on the same scale.
    seeds : sequence of int
        One split and one set of kernels per seed.
    num_kernels : int
        Number of MiniRocket features.
    max_per_class : int, optional
        Labelled (training) windows a class, for a learning curve (default: all).
    n_jobs : int
        numba threads.

    Returns
    -------
    DetectionResult
        ``mean``, ``interval``, ``grade()``, per-seed ``scores``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> real = rng.normal(size=(300, 12, 2))
    >>> minirocket_score(real, rng.normal(size=(300, 12, 2)), num_kernels=84).mean < 0.15
    True
    """
    from tsvae.evaluation.detection import detection_score

    detector = minirocket_detector(num_kernels, n_jobs)
    if max_per_class is not None:
        detector = limit_training(detector, max_per_class)
    return detection_score(real, synthetic, detector, seeds=seeds)


def limit_training(detector, max_per_class: int):
    """A detector that trains on at most ``max_per_class`` windows a class (a random subset;
    the test part is unchanged): for learning curves.

    Examples
    --------
    >>> import numpy as np
    >>> seen = []
    >>> d = limit_training(lambda tr, y, te, s: seen.append(len(tr)) or np.zeros(len(te)), 3)
    >>> _ = d(np.zeros((10, 9, 1)), np.r_[np.zeros(5), np.ones(5)], np.zeros((2, 9, 1)), 0)
    >>> seen
    [6]
    """
    if isinstance(max_per_class, bool) or not isinstance(max_per_class, int | np.integer) or (
            max_per_class < 2):
        raise ValueError(f"max_per_class must be an integer >= 2, got {max_per_class!r}.")

    def predict(train, labels, test, seed):
        rng = np.random.default_rng(seed)
        keep = np.concatenate([rng.permutation(np.flatnonzero(labels == k))[:max_per_class]
                               for k in (0, 1)])
        return detector(train[keep], labels[keep], test, seed)

    return predict


class MiniRocket(DetectionCheck):
    """MiniRocket features and a ridge classifier, under the detection split."""

    name = "minirocket"
    description = ("Can a ridge classifier on MiniRocket features (sktime "
                   "MiniRocketMultivariate, ~1,000 random dilated convolutions) tell real from "
                   "synthetic windows? Real windows split in interleaved time blocks with a gap "
                   "of one window, synthetic at random; statistic: |balanced accuracy - 0.5| "
                   "(mean over seeds), beside the real-vs-real floor under the same split.")
    rule = "passes when the score is at most 0.15 above the real-vs-real floor."

    def detector(self, options):
        return minirocket_detector(num_kernels=504 if options.fast else NUM_KERNELS)
