"""The decoder's observation model: Gaussian AR(1) noise around the decoded mean.

A VAE decodes the conditional mean; real windows also carry what the latent code does not
explain. That residual is not white: a level error persists across steps and features move
together. After training we fit, on the training windows' residuals ``r = x - decode(mu)``,
a VAR(1) with diagonal persistence, ``r_t = phi * r_{t-1} + e_t`` with ``e_t ~ N(0, S)`` (full
cross-feature covariance), started from its stationary distribution. Fresh samples add a
draw of it to the decoded mean.
"""

from __future__ import annotations

import numpy as np
import torch


class ResidualAccumulator:
    """Streams residual windows ``(N, T, F)`` into the moments the noise model needs."""

    def __init__(self, n_features: int) -> None:
        f = n_features
        self.c_now, self.c_lag, self.c_prev = np.zeros((f, f)), np.zeros((f, f)), np.zeros((f, f))
        self.c_all = np.zeros((f, f))
        self.pairs = 0
        self.rows = 0

    def add(self, residual: np.ndarray) -> None:
        r = residual.astype(np.float64)
        flat = r.reshape(-1, r.shape[2])
        self.c_all += flat.T @ flat
        self.rows += len(flat)
        if r.shape[1] > 1:
            now = r[:, 1:].reshape(-1, r.shape[2])
            prev = r[:, :-1].reshape(-1, r.shape[2])
            self.c_now += now.T @ now
            self.c_lag += now.T @ prev
            self.c_prev += prev.T @ prev
            self.pairs += len(now)

    def fit(self) -> ObservationNoise:
        std = np.sqrt(np.diag(self.c_all) / max(self.rows, 1))
        if self.pairs == 0:
            return ObservationNoise(np.zeros_like(std), np.diag(std**2))
        c_now, c_lag, c_prev = (c / self.pairs for c in (self.c_now, self.c_lag, self.c_prev))
        prev_var = np.diag(c_prev)
        phi = np.where(prev_var > 0, np.diag(c_lag) / np.where(prev_var > 0, prev_var, 1), 0.0)
        phi = np.clip(phi, -0.99, 0.99)
        innovations = (c_now - phi[:, None] * c_lag.T - c_lag * phi[None, :]
                       + phi[:, None] * c_prev * phi[None, :])
        return ObservationNoise(phi, innovations)


class ObservationNoise:
    """Sample Gaussian AR(1) residual windows: ``phi`` (F,) persistence, ``innovation_cov``
    (F, F).

    Examples
    --------
    >>> import numpy as np
    >>> noise = ObservationNoise(np.array([0.9]), np.array([[0.19]]))
    >>> r = noise.sample(20_000, 24, np.random.default_rng(0))
    >>> round(float(r.std()), 1), r.shape
    (1.0, (20000, 24, 1))
    """

    def __init__(self, phi: np.ndarray, innovation_cov: np.ndarray) -> None:
        self.phi = np.asarray(phi, dtype=np.float64)
        cov = np.asarray(innovation_cov, dtype=np.float64)
        self.innovation_cov = 0.5 * (cov + cov.T)
        self._factors: tuple | None = None  # torch copies of the factors, made on first use

    @property
    def stationary_cov(self) -> np.ndarray:
        return self.innovation_cov / (1.0 - np.outer(self.phi, self.phi))

    @staticmethod
    def _factor(cov: np.ndarray) -> np.ndarray:
        # Identical or constant features make the covariance singular: factor it by
        # eigen-decomposition instead of a Cholesky that would fail.
        values, vectors = np.linalg.eigh(cov)
        return vectors * np.sqrt(np.clip(values, 0.0, None))

    def sample(self, n: int, steps: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` residual windows ``(n, steps, F)`` as float32; deterministic given ``rng``."""
        generator = torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))
        with torch.inference_mode():
            return self.sample_tensor(n, steps, generator).numpy()

    def sample_tensor(self, n: int, steps: int, generator: torch.Generator) -> torch.Tensor:
        """Torch version of :meth:`sample` (float32), used by batched generation."""
        f = len(self.phi)
        if self._factors is None:
            self._factors = tuple(
                torch.from_numpy(m).float() for m in (self._factor(self.stationary_cov).T,
                                                      self._factor(self.innovation_cov).T,
                                                      self.phi))
        start, step, phi = self._factors
        shocks = torch.randn(n, steps, f, generator=generator)
        out = shocks @ step
        out[:, 0] = shocks[:, 0] @ start
        for t in range(1, steps):
            out[:, t] += phi * out[:, t - 1]
        return out

    def to_arrays(self) -> dict:
        return {"noise_phi": self.phi, "noise_innovation_cov": self.innovation_cov}

    @classmethod
    def from_arrays(cls, arrays: dict) -> ObservationNoise | None:
        if "noise_phi" not in arrays:
            return None
        return cls(arrays["noise_phi"], arrays["noise_innovation_cov"])
