"""The decoder's observation model: a VAR(p) residual process around the decoded mean.

A VAE decodes the conditional mean; real windows also carry what the latent code does not
explain. That residual is not white: a level error persists across steps, features move
together and lead one another. After training we fit, on the training windows' residuals
``r = x - decode(mu)`` (the decoded mean calibrated first, see ``mean_calibration.py``),
a vector autoregression

    r_t = c + A_1 r_{t-1} + ... + A_p r_{t-p} + e_t

by least squares (full cross-feature and cross-lag matrices). Fresh samples add a draw of it to
the decoded mean: its first ``p`` steps and its innovations ``e_t`` are resampled from the
training residuals (so spikes, skew and cross-feature dependence of the residuals survive),
or drawn from Gaussians of the same moments when no pool is stored (models saved before the
pools existed).

Windows of the training length take a whole residual window of the training data. Real
residuals are not alike from window to window: a calm stretch of a stock's volume is calm at
every step, a busy one busy, and an hourly load series is smooth for a day and then jumps.
Drawing each step's innovation from all windows at once gave every synthetic window the same
average roughness, which is what a detector on window summaries saw first. The residual
window is random, or, on request (``generate(..., match_residuals=True)``, fresh-sample
methods only), matched to the draw's ``z``: window ``j`` with probability ``q(z | x_j) /
sum_k q(z | x_k)``, its posterior density at ``z``, so that the noise fits the content it is
added to. Matching by distance instead picked the badly explained windows (wide posteriors
near the origin) for too many draws. Matched windows are harder to detect but come close to
copies of training windows, hence off by default; ``benchmarks/generator_variants.py`` holds
the evidence.

Other lengths (long series, continuing a context) run the VAR: each stretch of a training
window's length starts from one residual window and continues with that window's own
innovations, in order from a random point. Models saved with a flat pool of innovations draw
them step by step, as before.

A conditional model whose conditions take a few distinct values (labels, categorical static
attributes) gets one such model per value (:class:`ConditionalNoise`): the residuals of a
"fast" class oscillate faster than those of a "slow" one, and a pooled fit would give both
the same noise. Values with too few training windows, and continuous conditions, use the
pooled model.
"""

from __future__ import annotations

import numpy as np
import torch

from tsvae.legacy.condition_groups import (  # noqa: F401 (re-exported)
    MAX_CONDITION_GROUPS,
    MIN_GROUP_WINDOWS,
    ByCondition,
    matching_rows,
)

#: Residual windows kept (a seeded random subset) to resample starts and innovations from.
KEEP_WINDOWS = 2_000
#: Fewer kept windows than this: Gaussian starts and innovations instead of resampling.
MIN_POOL_WINDOWS = 50
#: Cap on stored residual values, windows x steps x features (keeps the model file small
#: for wide data).
MAX_POOL_VALUES = 2_000_000
#: The fitted VAR is shrunk to this spectral radius if it came out explosive.
MAX_SPECTRAL_RADIUS = 0.995
#: Windows of at most this many values (steps x features) run the VAR recursion as one
#: precomputed linear map: a single matrix product instead of a Python loop over steps,
#: whose per-step overhead dominates for narrow data (``benchmarks/generation_speed.py``).
#: The map has (steps x features)^2 entries, so wide data keeps the loop.
MAX_MAP_VALUES = 256


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
        self.kept_latents: list[np.ndarray] = []  # (n, 2, d): posterior mean and log-variance
        self._rng = np.random.default_rng(random_state)

    def _design(self, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Targets ``r_t`` and regressors ``[1, r_{t-1}, ..., r_{t-p}]`` of windows ``r``."""
        p, t, f = self.lags, r.shape[1], r.shape[2]
        target = r[:, p:].reshape(-1, f)
        design = np.concatenate([np.ones((len(target), 1))] + [
            r[:, p - lag: t - lag].reshape(-1, f) for lag in range(1, p + 1)], axis=1)
        return target, design

    def add(self, residual: np.ndarray, latents: tuple | None = None) -> None:
        """Add residual windows ``(N, T, F)`` and, optionally, their windows' posterior
        ``(mu, log_var)`` (each ``(N, d)``), kept beside the kept windows."""
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
            if latents is not None:
                mu, log_var = (np.asarray(a, np.float32) for a in latents)
                self.kept_latents.append(np.stack([mu[chosen], log_var[chosen]], axis=1))

    def fit(self) -> ObservationNoise:
        f, p = self.n_features, self.lags
        if self.step_sq is None:
            raise ValueError("No residual windows were added; cannot fit the noise model.")
        step_rms = np.sqrt(self.step_sq / self.windows)
        residual_rms = np.sqrt((step_rms**2).mean(axis=0))
        kept = (np.concatenate(self.kept) if self.kept
                else np.zeros((0, 0, f), dtype=np.float32))
        kept_latents = (np.concatenate(self.kept_latents)
                        if self.kept_latents and sum(map(len, self.kept_latents)) == len(kept)
                        else None)
        if self.pairs <= 1 + p * f:
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
        residual_windows = None
        if len(kept) >= MIN_POOL_WINDOWS:
            # Whole windows (see the module docstring); the VAR's starts and innovations
            # follow from them. Windows are longer than p here (else no pairs, above).
            per_window = kept.shape[1] * f
            if len(kept) * per_window > MAX_POOL_VALUES:  # wide data: keep fewer windows
                keep = max(MAX_POOL_VALUES // per_window, MIN_POOL_WINDOWS)
                chosen = np.sort(self._rng.choice(len(kept), keep, replace=False))
                kept = kept[chosen]
                kept_latents = None if kept_latents is None else kept_latents[chosen]
            residual_windows = kept
        else:
            kept_latents = None
        # Too few kept windows to resample from: Gaussian starts and innovations of the
        # moments, which cover every window added.
        noise = ObservationNoise(coefs, intercept, innovation_cov, residual_rms=residual_rms,
                                 residual_windows=residual_windows,
                                 residual_latents=kept_latents)
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


def _recurse(x, coefs_t, shift):
    """Run the VAR recursion in place on ``x`` ``(n, steps, F)``, numpy or torch: its first
    ``p`` steps are the start, the rest innovations that become ``shift + sum_l x_{t-l} A_l^T
    + e_t``. ``coefs_t`` holds the transposed ``A_l`` ``(p, F, F)``."""
    p = len(coefs_t)
    for step in range(p, x.shape[1]):
        value = x[:, step] + shift
        for lag in range(1, p + 1):
            value += x[:, step - lag] @ coefs_t[lag - 1]
        x[:, step] = value
    return x


def _scale_for(step_scale, steps: int):
    # Windows of another length than the training ones get the average scale.
    return step_scale if len(step_scale) == steps else step_scale.mean(0)


def _recursion_map(coefs: np.ndarray, intercept: np.ndarray, steps: int,
                   scale: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The VAR recursion over ``steps`` as ``x = u @ M + c`` on flattened ``(steps*F)`` rows.

    ``u`` holds the start (first ``p`` steps) followed by the innovations, as
    :meth:`ObservationNoise.sample_tensor` fills them; ``scale`` (per step and feature, or
    None) is folded into ``M`` and ``c``. Built by running the recursion on the identity.
    """
    f = coefs.shape[1]
    size = steps * f
    x = np.concatenate([np.eye(size), np.zeros((1, size))]).reshape(size + 1, steps, f)
    shift = np.zeros((size + 1, f))
    shift[-1] = intercept  # the last row carries the constant part only
    _recurse(x, coefs.transpose(0, 2, 1), shift)
    if scale is not None:
        x *= scale
    flat = x.reshape(size + 1, size)
    return flat[:-1], flat[-1]


def _window_innovations(windows: torch.Tensor, n: int, steps: int, lags: int, source,
                        generator: torch.Generator) -> torch.Tensor:
    """``(n, steps, F)`` innovations from whole training windows ``windows`` ``(K, rows, F)``.

    Each stretch of ``rows + lags`` steps (a training window's length) takes the innovations
    of one training window in their order, rolled by a random shift: the same shocks in the
    same sequence (a calm window stays calm, a jump keeps the shocks around it), starting at
    a random point. The first stretch comes from ``source`` (the window the start came from,
    when given); later stretches of a long series from fresh random windows.
    """
    count, rows = windows.shape[:2]
    stretch = rows + lags
    n_stretches = -(-steps // stretch)
    which = torch.randint(count, (n, n_stretches), generator=generator)
    if source is not None:
        which[:, 0] = source
    shift = torch.randint(rows, (n, n_stretches), generator=generator)
    offset = torch.arange(steps)
    stretch_of_step = offset // stretch
    # offsets 0..lags-1 of the first stretch are overwritten by the start
    row = (shift[:, stretch_of_step] + offset % stretch - lags) % rows
    return windows[which[:, stretch_of_step], row]


def _posterior_picks(tensors: dict, z: torch.Tensor, generator: torch.Generator,
                     batch: int = 1024) -> torch.Tensor:
    """For each latent draw ``z[i]``, a training window ``j`` drawn with probability
    ``q(z_i | x_j) / sum_k q(z_i | x_k)`` (diagonal Gaussian posteriors; inverse CDF, one
    uniform number per draw).

    Matching by density rather than by distance: a window the decoder explains badly has a
    wide posterior near the origin, the nearest neighbour of many draws; its density there
    is low, so it is not picked more than its share.
    """
    mu, precision = tensors["residual_mu"], tensors["residual_precision"]
    log_norm = tensors["residual_log_norm"]
    picks = []
    for first in range(0, len(z), batch):
        part = z[first:first + batch]
        # ||(z - mu) * sqrt(precision)||^2 expanded into matrix products (no (B, K, d) array)
        squared = ((part**2) @ precision.T - 2.0 * part @ (mu * precision).T
                   + (mu**2 * precision).sum(dim=1))
        cdf = torch.softmax(log_norm - 0.5 * squared, dim=1).cumsum_(dim=1)
        uniform = torch.rand(len(part), 1, generator=generator) * cdf[:, -1:]
        picks.append(torch.searchsorted(cdf, uniform).squeeze(1).clamp_(max=len(mu) - 1))
    return torch.cat(picks) if picks else torch.zeros(0, dtype=torch.long)


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
                 step_scale: np.ndarray | None = None,
                 residual_windows: np.ndarray | None = None,
                 residual_latents: np.ndarray | None = None) -> None:
        self.coefs = np.asarray(coefs, dtype=np.float64)
        self.intercept = np.asarray(intercept, dtype=np.float64)
        cov = np.asarray(innovation_cov, dtype=np.float64)
        self.innovation_cov = 0.5 * (cov + cov.T)
        self.start_pool = None if start_pool is None else np.asarray(start_pool, np.float32)
        self.innovation_pool = (None if innovation_pool is None
                                else np.asarray(innovation_pool, np.float32))
        # Whole residual windows (K, T, F); starts and innovations of the VAR follow from them.
        self.residual_windows = (None if residual_windows is None
                                 else np.asarray(residual_windows, np.float32))
        #: (K, 2, d): posterior mean and log-variance of each residual window's own window
        self.residual_latents = (None if residual_latents is None
                                 else np.asarray(residual_latents, np.float32))
        f = len(self.intercept)
        self.residual_rms = (np.sqrt(np.diag(self.stationary_cov))[:f] if residual_rms is None
                             else np.asarray(residual_rms, dtype=np.float64))
        self.step_scale = None if step_scale is None else np.asarray(step_scale, np.float32)
        self._tensors: dict | None = None  # torch copies, made on first use

    def _innovations_of(self, windows: np.ndarray) -> np.ndarray:
        """The innovations ``e_t`` of residual windows ``(K, T, F)`` under this VAR:
        ``(K, T - p, F)``."""
        p, t = self.lags, windows.shape[1]
        r = windows.astype(np.float64)
        fitted = self.intercept + sum(r[:, p - lag: t - lag] @ self.coefs[lag - 1].T
                                      for lag in range(1, p + 1))
        return np.ascontiguousarray(r[:, p:] - fitted, dtype=np.float32)

    @property
    def window_length(self) -> int | None:
        """Steps of the stored residual windows (draws of this length take one whole)."""
        return None if self.residual_windows is None else self.residual_windows.shape[1]

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
            draws = self._var_draws(n, len(step_rms), generator).numpy().astype(np.float64)
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
            windows = self.residual_windows
            if windows is not None:
                tensors["residual_windows"] = torch.from_numpy(windows)
                if self.residual_latents is not None:
                    mu, log_var = self.residual_latents[:, 0], self.residual_latents[:, 1]
                    tensors["residual_mu"] = torch.from_numpy(np.ascontiguousarray(mu))
                    tensors["residual_precision"] = torch.from_numpy(np.exp(-log_var))
                    tensors["residual_log_norm"] = torch.from_numpy(-0.5 * log_var.sum(axis=1))
                tensors["start_pool"] = torch.from_numpy(
                    np.ascontiguousarray(windows[:, :self.lags]))
                tensors["innovation_windows"] = torch.from_numpy(self._innovations_of(windows))
            elif self.start_pool is not None and len(self.start_pool):
                tensors["start_pool"] = torch.from_numpy(self.start_pool)
            else:  # Gaussian start: the stationary state (a Lyapunov solve, only when needed)
                f = len(self.intercept)
                companion = _companion(self.coefs)
                shift = np.r_[self.intercept, np.zeros(f * (self.lags - 1))]
                mean = np.linalg.solve(np.eye(len(companion)) - companion, shift)
                tensors["start_mean"] = torch.from_numpy(mean).float()
                tensors["start"] = torch.from_numpy(_factor(self.stationary_cov).T).float()
            if windows is not None:
                pass  # innovations come from the windows (above)
            elif self.innovation_pool is not None and len(self.innovation_pool):
                tensors["innovation_pool"] = torch.from_numpy(self.innovation_pool)
            else:
                tensors["innovation"] = torch.from_numpy(
                    _factor(self.innovation_cov).T).float()
            if self.step_scale is not None:
                tensors["step_scale"] = torch.from_numpy(self.step_scale)
            self._tensors = tensors
        return self._tensors

    def _map(self, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
        maps = self._torch().setdefault("maps", {})
        if steps not in maps:
            scale = (None if self.step_scale is None
                     else _scale_for(self.step_scale, steps))
            matrix, constant = _recursion_map(self.coefs, self.intercept, steps, scale)
            maps[steps] = (torch.from_numpy(matrix).float(), torch.from_numpy(constant).float())
        return maps[steps]

    def sample(self, n: int, steps: int, rng: np.random.Generator,
               conditions: np.ndarray | None = None,
               latents: np.ndarray | None = None) -> np.ndarray:
        """``n`` residual windows ``(n, steps, F)`` as float32; deterministic given ``rng``
        (``conditions``: one vector per window, read by :class:`ConditionalNoise`;
        ``latents``: the ``z`` of each window, see :meth:`sample_tensor`)."""
        generator = torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))
        with torch.inference_mode():
            z = None if latents is None else torch.as_tensor(latents, dtype=torch.float32)
            return self.sample_tensor(n, steps, generator, conditions, latents=z).numpy()

    def sample_tensor(self, n: int, steps: int, generator: torch.Generator,
                      conditions=None, latents: torch.Tensor | None = None) -> torch.Tensor:
        """Torch version of :meth:`sample` (float32), used by batched generation
        (``conditions`` is accepted for the interface of :class:`ConditionalNoise`).

        Draws of the training windows' length are whole residual windows when stored: with
        ``latents`` (the ``z`` each window was decoded from, ``(n, d)``) the residual of
        training window ``j`` with probability proportional to its posterior density
        ``q(z | x_j)``, else of a random one. Other lengths (and older model files) run the
        VAR."""
        t = self._torch()
        if "residual_windows" in t and steps == self.window_length:
            pool = t["residual_windows"]
            if latents is not None and "residual_mu" in t:
                return pool[_posterior_picks(t, torch.as_tensor(latents, dtype=torch.float32),
                                             generator)]
            return pool[torch.randint(len(pool), (n,), generator=generator)]
        return self._var_draws(n, steps, generator)

    def _var_draws(self, n: int, steps: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` draws of the VAR over ``steps`` steps, rescaled per step by the
        calibration."""
        t = self._torch()
        p, f = self.lags, len(self.intercept)
        source = None  # the training window each draw's first stretch comes from
        if "start_pool" in t:
            pool = t["start_pool"]
            source = torch.randint(len(pool), (n,), generator=generator)
            start = pool[source]
        else:
            shocks = torch.randn(n, p * f, generator=generator)
            start = (t["start_mean"] + shocks @ t["start"]).view(n, p, f)
        if "innovation_windows" in t:
            windows = t["innovation_windows"]
            out = _window_innovations(windows, n, steps, p, source,
                                      generator)
        elif "innovation_pool" in t:
            pool = t["innovation_pool"]
            out = pool[torch.randint(len(pool), (n, steps), generator=generator)]
        else:
            out = torch.randn(n, steps, f, generator=generator) @ t["innovation"]
        head = min(p, steps)
        out[:, :head] = start[:, :head]
        if steps * f <= MAX_MAP_VALUES:
            matrix, constant = self._map(steps)
            return torch.addmm(constant, out.view(n, steps * f), matrix).view(n, steps, f)
        _recurse(out, t["coefs"], t["intercept"])
        if "step_scale" in t:
            out *= _scale_for(t["step_scale"], steps)
        return out

    def to_arrays(self) -> dict:
        """The model as named arrays for safetensors (C-contiguous: safetensors writes the raw
        buffer, so a strided view would be saved scrambled)."""
        arrays = {"noise_coefs": self.coefs, "noise_intercept": self.intercept,
                  "noise_innovation_cov": self.innovation_cov,
                  "noise_residual_rms": self.residual_rms, "noise_step_scale": self.step_scale,
                  "noise_start_pool": self.start_pool,
                  "noise_innovation_pool": self.innovation_pool,
                  "noise_residual_windows": self.residual_windows,
                  "noise_residual_latents": self.residual_latents}

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
                   step_scale=arrays.get("noise_step_scale"),
                   residual_windows=arrays.get("noise_residual_windows"),
                   residual_latents=arrays.get("noise_residual_latents"))


class ConditionalResidualAccumulator:
    """A pooled :class:`ResidualAccumulator` plus one per distinct condition vector (up to
    :data:`MAX_CONDITION_GROUPS`; beyond that the conditions count as continuous and only
    the pooled model is fitted)."""

    def __init__(self, n_features: int, lags: int = 2, *, expected_windows: int | None = None,
                 random_state: int = 0) -> None:
        self.pooled = ResidualAccumulator(n_features, lags, expected_windows=expected_windows,
                                          random_state=random_state)
        # The keep probability of the pooled fit: all groups together keep about as many
        # windows as the pooled model.
        self.by_condition = ByCondition(lambda i: ResidualAccumulator(
            n_features, lags, expected_windows=expected_windows,
            random_state=random_state + 1 + i))

    @property
    def groups(self):
        """The per-condition accumulators by key (``None`` for continuous conditions)."""
        return self.by_condition.groups

    def add(self, residual: np.ndarray, conditions: np.ndarray | None = None,
            latents: tuple | None = None) -> None:
        self.pooled.add(residual, latents)
        if conditions is None:
            return
        for accumulator, rows in self.by_condition.rows(conditions):
            accumulator.add(residual[rows],
                            None if latents is None else tuple(a[rows] for a in latents))

    def fit(self) -> ObservationNoise | ConditionalNoise:
        pooled = self.pooled.fit()
        fitted = [(key, acc.fit()) for key, acc in self.by_condition.entries()
                  if acc.windows >= MIN_GROUP_WINDOWS]
        if len(fitted) < 2:
            return pooled
        return ConditionalNoise(pooled, np.stack([k for k, _ in fitted]),
                                [m for _, m in fitted])


class ConditionalNoise:
    """One :class:`ObservationNoise` per condition vector ``keys[i]`` and a pooled one for
    windows whose condition matches no key (or that have none).

    Examples
    --------
    >>> import numpy as np
    >>> slow = ObservationNoise(np.array([[[0.9]]]), np.zeros(1), np.array([[0.19]]))
    >>> white = ObservationNoise(np.zeros((1, 1, 1)), np.zeros(1), np.array([[1.0]]))
    >>> noise = ConditionalNoise(white, np.array([[1.0, 0.0]]), [slow])
    >>> rng = np.random.default_rng(0)
    >>> r = noise.sample(4_000, 24, rng, conditions=np.repeat([[1.0, 0.0]], 4_000, axis=0))
    >>> lag1 = np.corrcoef(r[:, 1:].ravel(), r[:, :-1].ravel())[0, 1]
    >>> round(float(lag1), 1)
    0.9
    """

    def __init__(self, pooled: ObservationNoise, keys: np.ndarray,
                 models: list[ObservationNoise]) -> None:
        if len(keys) != len(models):
            raise ValueError(f"{len(keys)} condition keys but {len(models)} noise models.")
        self.pooled = pooled
        self.keys = np.asarray(keys, dtype=np.float32)
        self.models = list(models)

    #: Row ``i`` is drawn from the model of ``conditions[i]``.
    sample = ObservationNoise.sample

    def sample_tensor(self, n: int, steps: int, generator: torch.Generator,
                      conditions=None, latents: torch.Tensor | None = None) -> torch.Tensor:
        if conditions is None:
            return self.pooled.sample_tensor(n, steps, generator, latents=latents)
        out = torch.empty(n, steps, len(self.pooled.intercept))
        unmatched = torch.ones(n, dtype=torch.bool)
        for i, rows in matching_rows(self.keys, conditions):
            rows = torch.from_numpy(rows)
            out[rows] = self.models[i].sample_tensor(
                int(rows.sum()), steps, generator,
                latents=None if latents is None else latents[rows])
            unmatched &= ~rows
        if unmatched.any():
            out[unmatched] = self.pooled.sample_tensor(
                int(unmatched.sum()), steps, generator,
                latents=None if latents is None else latents[unmatched])
        return out

    def to_arrays(self) -> dict:
        arrays = self.pooled.to_arrays()
        arrays["noise_group_keys"] = np.ascontiguousarray(self.keys)
        for i, model in enumerate(self.models):
            arrays.update({f"noise_group{i}_{k[len('noise_'):]}": v
                           for k, v in model.to_arrays().items()})
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict) -> ConditionalNoise:
        models = []
        for i in range(len(arrays["noise_group_keys"])):
            prefix = f"noise_group{i}_"
            models.append(ObservationNoise.from_arrays(
                {"noise_" + k[len(prefix):]: v for k, v in arrays.items()
                 if k.startswith(prefix)}))
        pooled = ObservationNoise.from_arrays(
            {k: v for k, v in arrays.items() if not k.startswith("noise_group")})
        return cls(pooled, arrays["noise_group_keys"], models)


def noise_from_arrays(arrays: dict) -> ObservationNoise | ConditionalNoise | None:
    """The observation model stored in a model file's arrays (None if it has none)."""
    if "noise_group_keys" in arrays:
        return ConditionalNoise.from_arrays(arrays)
    return ObservationNoise.from_arrays(arrays)
