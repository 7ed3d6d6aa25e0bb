"""The decoder's observation model: a VAR(p) residual process around the decoded mean.

A VAE decodes the conditional mean; real windows also carry what the latent code does not
explain. That residual is not white: a level error persists across steps, features move
together and lead one another. After training we fit, on the training windows' residuals
``r = x - decode(mu)``, a vector autoregression

    r_t = c + A_1 r_{t-1} + ... + A_p r_{t-p} + e_t

by least squares (full cross-feature and cross-lag matrices). Fresh samples add a draw of it to
the decoded mean: its first ``p`` steps and its innovations ``e_t`` are resampled from the
training residuals (so spikes, skew and cross-feature dependence of the residuals survive),
or drawn from Gaussians of the same moments when no pool is stored (models saved before the
pools existed).
"""

from __future__ import annotations

import numpy as np
import torch

#: Residual windows kept (a seeded random subset) to resample starts and innovations from.
KEEP_WINDOWS = 2_000
#: Cap on stored innovation rows x features (keeps the model file small for wide data).
MAX_POOL_VALUES = 2_000_000
#: The fitted VAR is shrunk to this spectral radius if it came out explosive.
MAX_SPECTRAL_RADIUS = 0.995


class ResidualAccumulator:
    """Streams residual windows ``(N, T, F)`` into the moments a VAR(``lags``) fit needs,
    and keeps a seeded random subset of about ``keep`` windows to resample from.

    ``expected_windows`` (how many windows will be added in all) sets the keep probability.
    """

    def __init__(self, n_features: int, lags: int = 2, *, expected_windows: int | None = None,
                 keep: int = KEEP_WINDOWS, random_state: int = 0) -> None:
        if not isinstance(lags, (int, np.integer)) or isinstance(lags, bool) or lags < 1:
            raise ValueError(f"noise_lags must be a positive integer, got {lags!r}.")
        self.n_features, self.lags = n_features, int(lags)
        d = 1 + self.lags * n_features
        self.xtx, self.xty = np.zeros((d, d)), np.zeros((d, n_features))
        self.yty = np.zeros((n_features, n_features))
        self.pairs = 0
        self.step_sq: np.ndarray | None = None  # (T, F) sums of squared residuals per step
        self.windows = 0
        self.keep_probability = (1.0 if not expected_windows
                                 else min(1.0, keep / max(expected_windows, 1)))
        self.kept: list[np.ndarray] = []
        self._rng = np.random.default_rng(random_state)

    def _design(self, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Targets ``r_t`` and regressors ``[1, r_{t-1}, ..., r_{t-p}]`` of windows ``r``."""
        p, t, f = self.lags, r.shape[1], r.shape[2]
        target = r[:, p:].reshape(-1, f)
        design = np.concatenate([np.ones((len(target), 1))] + [
            r[:, p - lag: t - lag].reshape(-1, f) for lag in range(1, p + 1)], axis=1)
        return target, design

    def add(self, residual: np.ndarray) -> None:
        r = residual.astype(np.float64)
        squares = (r**2).sum(axis=0)
        self.step_sq = squares if self.step_sq is None else self.step_sq + squares
        self.windows += len(r)
        if r.shape[1] > self.lags:
            target, design = self._design(r)
            self.xtx += design.T @ design
            self.xty += design.T @ target
            self.yty += target.T @ target
            self.pairs += len(target)
        chosen = self._rng.random(len(r)) < self.keep_probability
        if chosen.any():
            self.kept.append(r[chosen].astype(np.float32))

    def fit(self) -> ObservationNoise:
        f, p = self.n_features, self.lags
        if self.step_sq is None:
            raise ValueError("No residual windows were added; cannot fit the noise model.")
        step_rms = np.sqrt(self.step_sq / self.windows)
        residual_rms = np.sqrt((step_rms**2).mean(axis=0))
        kept = (np.concatenate(self.kept) if self.kept
                else np.zeros((0, 0, f), dtype=np.float32))
        if self.pairs <= 1 + p * f or kept.shape[1] <= p:
            # Windows too short or too few for a VAR(p): white noise of the residual scale.
            return ObservationNoise(np.zeros((p, f, f)), np.zeros(f), np.diag(residual_rms**2),
                                    residual_rms=residual_rms)
        # A tiny ridge keeps constant features (zero residual) from making it singular.
        ridge = 1e-8 * max(np.trace(self.xtx), 1.0) * np.eye(len(self.xtx))
        ridge[0, 0] = 0.0
        beta = np.linalg.solve(self.xtx + ridge, self.xty)
        innovation_cov = (self.yty - beta.T @ self.xty - self.xty.T @ beta
                          + beta.T @ self.xtx @ beta) / self.pairs
        intercept = beta[0]
        coefs = np.stack([beta[1 + i * f: 1 + (i + 1) * f].T for i in range(p)])
        coefs = _stabilised(coefs)
        beta = np.concatenate([intercept[None], *[a.T for a in coefs]])
        target, design = self._design(kept.astype(np.float64))
        innovations = (target - design @ beta).astype(np.float32)
        max_rows = max(MAX_POOL_VALUES // max(f, 1), 1)
        if len(innovations) > max_rows:
            innovations = innovations[np.sort(self._rng.choice(len(innovations), max_rows,
                                                               replace=False))]
        noise = ObservationNoise(coefs, intercept, innovation_cov,
                                 start_pool=np.ascontiguousarray(kept[:, :p]),
                                 innovation_pool=innovations, residual_rms=residual_rms)
        noise.calibrate(step_rms)
        return noise


def _companion(coefs: np.ndarray) -> np.ndarray:
    p, f, _ = coefs.shape
    top = np.concatenate(list(coefs), axis=1)
    if p == 1:
        return top
    return np.concatenate([top, np.eye(f * (p - 1), f * p)], axis=0)


def _stabilised(coefs: np.ndarray) -> np.ndarray:
    """Shrink ``A_l`` by ``s**l`` so the companion matrix's spectral radius is at most
    :data:`MAX_SPECTRAL_RADIUS` (an explosive fit would blow up over long windows)."""
    radius = float(np.max(np.abs(np.linalg.eigvals(_companion(coefs)))))
    if radius <= MAX_SPECTRAL_RADIUS:
        return coefs
    shrink = MAX_SPECTRAL_RADIUS / radius
    return coefs * shrink ** np.arange(1, len(coefs) + 1)[:, None, None]


def _factor(cov: np.ndarray) -> np.ndarray:
    # Identical or constant features make the covariance singular: factor it by
    # eigen-decomposition instead of a Cholesky that would fail.
    values, vectors = np.linalg.eigh(0.5 * (cov + cov.T))
    return vectors * np.sqrt(np.clip(values, 0.0, None))


class ObservationNoise:
    """Sample residual windows of a VAR(p): ``coefs`` (p, F, F), ``intercept`` (F,),
    ``innovation_cov`` (F, F).

    Starts come from ``start_pool`` (K, p, F) and innovations from ``innovation_pool`` (M, F)
    when given (resampled with replacement), else from Gaussians: the process's stationary
    distribution for the start, ``N(0, innovation_cov)`` for the innovations.

    Examples
    --------
    >>> import numpy as np
    >>> noise = ObservationNoise(np.array([[[0.9]]]), np.zeros(1), np.array([[0.19]]))
    >>> r = noise.sample(20_000, 24, np.random.default_rng(0))
    >>> round(float(r.std()), 1), r.shape
    (1.0, (20000, 24, 1))
    """

    def __init__(self, coefs: np.ndarray, intercept: np.ndarray, innovation_cov: np.ndarray,
                 *, start_pool: np.ndarray | None = None,
                 innovation_pool: np.ndarray | None = None,
                 residual_rms: np.ndarray | None = None,
                 step_scale: np.ndarray | None = None) -> None:
        self.coefs = np.asarray(coefs, dtype=np.float64)
        self.intercept = np.asarray(intercept, dtype=np.float64)
        cov = np.asarray(innovation_cov, dtype=np.float64)
        self.innovation_cov = 0.5 * (cov + cov.T)
        self.start_pool = None if start_pool is None else np.asarray(start_pool, np.float32)
        self.innovation_pool = (None if innovation_pool is None
                                else np.asarray(innovation_pool, np.float32))
        f = len(self.intercept)
        self.residual_rms = (np.sqrt(np.diag(self.stationary_cov))[:f] if residual_rms is None
                             else np.asarray(residual_rms, dtype=np.float64))
        self.step_scale = None if step_scale is None else np.asarray(step_scale, np.float32)
        self._tensors: dict | None = None  # torch copies, made on first use

    def calibrate(self, step_rms: np.ndarray, n: int = 4_000) -> None:
        """Rescale draws per step and feature to the training residuals' RMS ``(T, F)``.

        A time-invariant VAR misses that a decoder errs more at some steps (often the window
        edges) and, fitted to smooth model error, can drift to a larger variance than the
        residuals have; this correction keeps each step's spread where the data put it.
        """
        self.step_scale = None
        self._tensors = None
        generator = torch.Generator().manual_seed(0)
        with torch.inference_mode():
            draws = self.sample_tensor(n, len(step_rms), generator).numpy().astype(np.float64)
        simulated = np.sqrt((draws**2).mean(axis=0))
        scale = np.where(simulated > 0, step_rms / np.where(simulated > 0, simulated, 1.0), 0.0)
        self.step_scale = scale.astype(np.float32)
        self._tensors = None

    @property
    def lags(self) -> int:
        return len(self.coefs)

    @property
    def stationary_cov(self) -> np.ndarray:
        """Covariance of ``p`` consecutive steps in the stationary state, ``(pF, pF)``."""
        from scipy.linalg import solve_discrete_lyapunov

        p, f = self.coefs.shape[:2]
        q = np.zeros((p * f, p * f))
        q[:f, :f] = self.innovation_cov
        return solve_discrete_lyapunov(_companion(self.coefs), q)

    def _torch(self) -> dict:
        if self._tensors is None:
            tensors = {
                "coefs": torch.from_numpy(np.ascontiguousarray(
                    self.coefs.transpose(0, 2, 1))).float(),
                "intercept": torch.from_numpy(self.intercept).float(),
            }
            if self.start_pool is not None and len(self.start_pool):
                tensors["start_pool"] = torch.from_numpy(self.start_pool)
            else:  # Gaussian start: the stationary state (a Lyapunov solve, only when needed)
                f = len(self.intercept)
                companion = _companion(self.coefs)
                shift = np.r_[self.intercept, np.zeros(f * (self.lags - 1))]
                mean = np.linalg.solve(np.eye(len(companion)) - companion, shift)
                tensors["start_mean"] = torch.from_numpy(mean).float()
                tensors["start"] = torch.from_numpy(_factor(self.stationary_cov).T).float()
            if self.innovation_pool is not None and len(self.innovation_pool):
                tensors["innovation_pool"] = torch.from_numpy(self.innovation_pool)
            else:
                tensors["innovation"] = torch.from_numpy(
                    _factor(self.innovation_cov).T).float()
            if self.step_scale is not None:
                tensors["step_scale"] = torch.from_numpy(self.step_scale)
            self._tensors = tensors
        return self._tensors

    def sample(self, n: int, steps: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` residual windows ``(n, steps, F)`` as float32; deterministic given ``rng``."""
        generator = torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))
        with torch.inference_mode():
            return self.sample_tensor(n, steps, generator).numpy()

    def sample_tensor(self, n: int, steps: int, generator: torch.Generator) -> torch.Tensor:
        """Torch version of :meth:`sample` (float32), used by batched generation."""
        t = self._torch()
        p, f = self.lags, len(self.intercept)
        if "start_pool" in t:
            pool = t["start_pool"]
            start = pool[torch.randint(len(pool), (n,), generator=generator)]
        else:
            shocks = torch.randn(n, p * f, generator=generator)
            start = (t["start_mean"] + shocks @ t["start"]).view(n, p, f)
        if "innovation_pool" in t:
            pool = t["innovation_pool"]
            out = pool[torch.randint(len(pool), (n, steps), generator=generator)]
        else:
            out = torch.randn(n, steps, f, generator=generator) @ t["innovation"]
        head = min(p, steps)
        out[:, :head] = start[:, :head]
        coefs, intercept = t["coefs"], t["intercept"]
        for step in range(p, steps):
            value = out[:, step] + intercept
            for lag in range(1, p + 1):
                value += out[:, step - lag] @ coefs[lag - 1]
            out[:, step] = value
        if "step_scale" in t:
            scale = t["step_scale"]
            # Windows of another length than the training ones get the average scale.
            out *= scale if len(scale) == steps else scale.mean(dim=0)
        return out

    def to_arrays(self) -> dict:
        """The model as named arrays for safetensors (C-contiguous: safetensors writes the raw
        buffer, so a strided view would be saved scrambled)."""
        arrays = {"noise_coefs": self.coefs, "noise_intercept": self.intercept,
                  "noise_innovation_cov": self.innovation_cov,
                  "noise_residual_rms": self.residual_rms, "noise_step_scale": self.step_scale,
                  "noise_start_pool": self.start_pool,
                  "noise_innovation_pool": self.innovation_pool}
        return {k: np.ascontiguousarray(v) for k, v in arrays.items() if v is not None}

    @classmethod
    def from_arrays(cls, arrays: dict) -> ObservationNoise | None:
        if "noise_phi" in arrays:  # files of format 1: diagonal AR(1), Gaussian
            phi = np.asarray(arrays["noise_phi"], dtype=np.float64)
            return cls(np.diag(phi)[None], np.zeros(len(phi)), arrays["noise_innovation_cov"])
        if "noise_coefs" not in arrays:
            return None
        return cls(arrays["noise_coefs"], arrays["noise_intercept"],
                   arrays["noise_innovation_cov"],
                   start_pool=arrays.get("noise_start_pool"),
                   innovation_pool=arrays.get("noise_innovation_pool"),
                   residual_rms=arrays.get("noise_residual_rms"),
                   step_scale=arrays.get("noise_step_scale"))
