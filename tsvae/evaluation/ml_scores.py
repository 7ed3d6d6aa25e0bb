"""Learned checks: post-hoc classifiers and regressors in the TimeGAN protocol, and MMD.

Discriminative score: a one-layer GRU (hidden ``max(F // 2, 1)``) learns to tell real from
synthetic windows on an 80/20 split; score ``|accuracy - 0.5|`` on the 20% (0 = cannot tell).
Predictive score: a one-layer GRU trained on synthetic windows predicts the last feature one
step ahead from the other features; its mean absolute error on the real windows ("train on
synthetic, test on real") is compared with the same model trained on real windows.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from tsvae.evaluation.base import ALL_FEATURES, Check, NotApplicable, row
from tsvae.evaluation.inputs import subsample

BATCH = 128


class _GRUHead(nn.Module):
    def __init__(self, n_in: int, hidden: int, per_step: bool, n_out: int = 1) -> None:
        super().__init__()
        self.gru = nn.GRU(n_in, hidden, batch_first=True)
        self.out = nn.Linear(hidden, n_out)
        self.per_step = per_step
        self.n_out = n_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seq, h = self.gru(x)
        out = self.out(seq) if self.per_step else self.out(h[-1])
        return out.squeeze(-1) if self.n_out == 1 else out


def _train(model: nn.Module, x: np.ndarray, y: np.ndarray, loss_fn, iterations: int,
           rng: np.random.Generator) -> None:
    """Adam on random batches of ``BATCH`` rows, as in the TimeGAN protocol."""
    optimizer = torch.optim.Adam(model.parameters())
    xt = torch.as_tensor(x, dtype=torch.float32)
    yt = torch.as_tensor(y)
    if yt.is_floating_point():
        yt = yt.float()
    for _ in range(iterations):
        idx = torch.as_tensor(rng.integers(0, len(xt), min(BATCH, len(xt))))
        optimizer.zero_grad()
        loss_fn(model(xt[idx]), yt[idx]).backward()
        optimizer.step()


def discriminative_score(real: np.ndarray, synthetic: np.ndarray, *, iterations: int = 2_000,
                         seed: int = 0) -> float:
    """``|accuracy - 0.5|`` of a post-hoc GRU classifier, real vs synthetic (scaled windows).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> smooth = np.cumsum(rng.normal(size=(400, 12, 2)), axis=1) / 12
    >>> discriminative_score(smooth, rng.uniform(size=(400, 12, 2)), iterations=1000) > 0.3
    True
    """
    rng = np.random.default_rng(seed)
    n = min(len(real), len(synthetic))
    real, synthetic = real[rng.permutation(len(real))[:n]], synthetic[rng.permutation(
        len(synthetic))[:n]]
    cut = int(0.8 * n)
    x_train = np.concatenate([real[:cut], synthetic[:cut]])
    y_train = np.concatenate([np.ones(cut), np.zeros(cut)])
    x_test = np.concatenate([real[cut:], synthetic[cut:]])
    y_test = np.concatenate([np.ones(n - cut), np.zeros(n - cut)])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = _GRUHead(real.shape[2], max(real.shape[2] // 2, 1), per_step=False)
        _train(model, x_train, y_train, nn.BCEWithLogitsLoss(), iterations, rng)
        with torch.inference_mode():
            pred = model(torch.as_tensor(x_test, dtype=torch.float32)).numpy() > 0
    return float(abs(np.mean(pred == (y_test > 0.5)) - 0.5))


def _predictive_xy(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f = windows.shape[2]
    inputs = windows[:, :-1, : f - 1] if f > 1 else windows[:, :-1, :1]
    return inputs, windows[:, 1:, f - 1]


def predictive_mae(train: np.ndarray, test: np.ndarray, *, iterations: int = 5_000,
                   seed: int = 0) -> float:
    """MAE on ``test`` of a GRU trained on ``train`` to predict the last feature one step
    ahead from the other features (TimeGAN protocol; scaled windows).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).uniform(size=(100, 8, 3))
    >>> 0 < predictive_mae(x, x, iterations=50) < 1
    True
    """
    x_train, y_train = _predictive_xy(train)
    x_test, y_test = _predictive_xy(test)
    rng = np.random.default_rng(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = _GRUHead(x_train.shape[2], max(train.shape[2] // 2, 1), per_step=True)
        _train(model, x_train, y_train,
               lambda logits, y: (torch.sigmoid(logits) - y).abs().mean(), iterations, rng)
        with torch.inference_mode():
            pred = torch.sigmoid(model(torch.as_tensor(x_test, dtype=torch.float32))).numpy()
    return float(np.abs(pred - y_test).mean())


def _mmd2_from_kernel(kernel: np.ndarray, first: np.ndarray, second: np.ndarray) -> float:
    """Unbiased MMD^2 of the rows ``first`` against the rows ``second`` of one kernel matrix."""
    kxx, kyy = kernel[np.ix_(first, first)], kernel[np.ix_(second, second)]
    n, m = len(first), len(second)
    return float((kxx.sum() - np.trace(kxx)) / (n * (n - 1))
                 + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                 - 2 * kernel[np.ix_(first, second)].mean())


def mmd_test(x: np.ndarray, y: np.ndarray, *, permutations: int = 200,
             rng: np.random.Generator | None = None) -> tuple[float, float]:
    """Unbiased MMD^2 (Gaussian kernel, median-distance bandwidth) and its permutation p-value.

    The kernel of the pooled sample is computed once; each permutation only regroups it.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(size=(100, 4)), rng.normal(size=(100, 4))
    >>> mmd_test(a, b, rng=rng)[1] > 0.01, mmd_test(a, b + 1.0, rng=rng)[1] < 0.01
    (True, True)
    """
    from scipy.spatial.distance import pdist
    from sklearn.metrics.pairwise import rbf_kernel

    rng = rng or np.random.default_rng(0)
    pooled = np.concatenate([x, y])
    sample = pooled[rng.choice(len(pooled), min(len(pooled), 1000), replace=False)]
    bandwidth = float(np.median(pdist(sample))) or 1.0
    kernel = rbf_kernel(pooled, gamma=1.0 / (2 * bandwidth**2))
    order = np.arange(len(pooled))
    observed = _mmd2_from_kernel(kernel, order[:len(x)], order[len(x):])
    exceed = 0
    for _ in range(permutations):
        perm = rng.permutation(len(pooled))
        if _mmd2_from_kernel(kernel, perm[:len(x)], perm[len(x):]) >= observed:
            exceed += 1
    return observed, (exceed + 1) / (permutations + 1)


class Discriminative(Check):
    name = "discriminative"
    group = "ml"
    description = ("TimeGAN discriminative score: a post-hoc one-layer GRU classifier (hidden "
                   "max(F // 2, 1), Adam, batch 128, 80/20 split, equal numbers of real and "
                   "synthetic windows) tries to tell them apart. Statistic: |accuracy - 0.5| on "
                   "the test 20%.")
    rule = "passes when the score <= 0.1 (published models reach .01-.24 on the benchmarks)."
    threshold = 0.1

    def score(self, real: np.ndarray, synthetic: np.ndarray, options) -> float:
        return discriminative_score(real, synthetic,
                                    iterations=options.discriminative_iterations,
                                    seed=options.seed)

    def run(self, data, options):
        limit = options.max_windows * 5
        # subsample keeps the windows' order (the feature classifier's split relies on it)
        score = self.score(subsample(data.real_scaled, limit, options.rng),
                           subsample(data.synthetic_scaled, limit, options.rng), options)
        return [row(self, ALL_FEATURES, score, threshold=self.threshold,
                    passed=score <= self.threshold)]


class Predictive(Check):
    name = "predictive"
    group = "ml"
    description = ("TimeGAN predictive score: a one-layer GRU trained on synthetic windows "
                   "predicts the last feature one step ahead from the others; its MAE on the "
                   "real windows (train on synthetic, test on real) beside the same model "
                   "trained on real windows (train on real, test on real).")
    rule = ("passes when the synthetic-trained MAE is at most the real-trained MAE plus "
            "max(0.005, 10%).")

    def run(self, data, options):
        if data.real.shape[1] < 2:
            raise NotApplicable("the predictive score forecasts the next step, so windows need "
                                "at least 2 steps")
        real = subsample(data.real_scaled, options.max_windows * 5, options.rng)
        synth = subsample(data.synthetic_scaled, options.max_windows * 5, options.rng)
        kwargs = {"iterations": options.predictive_iterations, "seed": options.seed}
        tstr = predictive_mae(synth, real, **kwargs)
        trtr = predictive_mae(real, real, **kwargs)
        threshold = trtr + max(0.005, 0.1 * trtr)
        return [row(self, ALL_FEATURES, tstr, real=trtr, synthetic=tstr, threshold=threshold,
                    passed=tstr <= threshold)]


class MMD(Check):
    name = "mmd"
    group = "ml"
    description = ("Maximum mean discrepancy between flattened windows (Gaussian kernel, "
                   "median-distance bandwidth, up to 500 windows a side). Statistic: unbiased "
                   "MMD^2; p-value from 200 permutations.")
    rule = "passes when the permutation p-value >= 0.01 (no detectable difference)."

    def run(self, data, options):
        limit = 200 if options.fast else 500
        real = subsample(data.real_scaled, limit, options.rng).reshape(min(limit, len(
            data.real)), -1)
        synth = subsample(data.synthetic_scaled, limit, options.rng).reshape(min(limit, len(
            data.synthetic)), -1)
        value, p = mmd_test(real, synth, permutations=100 if options.fast else 200,
                            rng=options.rng)
        return [row(self, ALL_FEATURES, value, p_value=p, threshold=0.01, passed=p >= 0.01)]
