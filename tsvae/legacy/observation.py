"""Format 1-5 model files: the VAR(p) residual process those models added to the decoded mean.

Those models were fitted, after training, a vector autoregression ``r_t = c + A_1 r_{t-1} +
... + A_p r_{t-p} + e_t`` on the training windows' residuals ``r = x - decode(mu)`` and stored
up to 2,000 whole residual windows with it. Generation at the training length added a stored
residual window to each decoded mean (a copy of one training window's movement); other lengths
ran the VAR from a stored window's start and innovations. Conditional models kept one such
process per condition value (:class:`ConditionalNoise`). Kept only so that such files load and
generate as they did.
"""

from __future__ import annotations

import numpy as np
import torch

from tsvae.legacy.condition_groups import matching_rows

#: Windows of at most this many values (steps x features) run the VAR recursion as one
#: precomputed linear map: a single matrix product instead of a Python loop over steps,
#: whose per-step overhead dominates for narrow data (``benchmarks/generation_speed.py``).
#: The map has (steps x features)^2 entries, so wide data keeps the loop.
MAX_MAP_VALUES = 256


def _companion(coefs: np.ndarray) -> np.ndarray:
    p, f, _ = coefs.shape
    top = np.concatenate(list(coefs), axis=1)
    if p == 1:
        return top
    return np.concatenate([top, np.eye(f * (p - 1), f * p)], axis=0)


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
               conditions: np.ndarray | None = None) -> np.ndarray:
        """``n`` residual windows ``(n, steps, F)`` as float32; deterministic given ``rng``
        (``conditions``: one vector per window, read by :class:`ConditionalNoise`)."""
        generator = torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))
        with torch.inference_mode():
            return self.sample_tensor(n, steps, generator, conditions).numpy()

    def sample_tensor(self, n: int, steps: int, generator: torch.Generator,
                      conditions=None) -> torch.Tensor:
        """Torch version of :meth:`sample` (float32), used by batched generation
        (``conditions`` is accepted for the interface of :class:`ConditionalNoise`).

        Draws of the training windows' length are whole stored residual windows, of a random
        training window; other lengths (and older model files) run the VAR."""
        t = self._torch()
        if "residual_windows" in t and steps == self.window_length:
            pool = t["residual_windows"]
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
                      conditions=None) -> torch.Tensor:
        if conditions is None:
            return self.pooled.sample_tensor(n, steps, generator)
        out = torch.empty(n, steps, len(self.pooled.intercept))
        unmatched = torch.ones(n, dtype=torch.bool)
        for i, rows in matching_rows(self.keys, conditions):
            rows = torch.from_numpy(rows)
            out[rows] = self.models[i].sample_tensor(int(rows.sum()), steps, generator)
            unmatched &= ~rows
        if unmatched.any():
            out[unmatched] = self.pooled.sample_tensor(int(unmatched.sum()), steps, generator)
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
