"""Latent samplers: four ways of choosing ``z`` before decoding.

Every sampler has ``fit(latents)`` and ``sample(n, rng)``; they are swapped by name through
:data:`SAMPLERS`. ``sample`` returns a :class:`LatentSample`, so the draws are inspectable.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)


@dataclass
class Latents:
    """Posterior parameters of a set of encoded windows.

    ``mu`` and ``log_var`` have shape ``(N, latent_dim)``; ``log_var`` is a log-variance.
    """

    mu: np.ndarray
    log_var: np.ndarray

    def __post_init__(self) -> None:
        self.mu = np.asarray(self.mu, dtype=np.float64)
        self.log_var = np.asarray(self.log_var, dtype=np.float64)
        if self.mu.ndim != 2 or self.mu.shape != self.log_var.shape or len(self.mu) == 0:
            raise ValueError("Latents need mu and log_var of the same non-empty 2-D shape.")

    @property
    def sigma(self) -> np.ndarray:
        return np.exp(0.5 * self.log_var)

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """One posterior draw per window: ``mu + eps * sigma``."""
        return self.mu + rng.standard_normal(self.mu.shape) * self.sigma


@dataclass
class LatentSample:
    """Latent draws ``z`` (n, latent_dim) and, for posterior draws, the encoded window used."""

    z: np.ndarray
    index: np.ndarray | None = None


class PriorSampler:
    """``z ~ N(0, I)``: the textbook sample from the learned ``p(x)``.

    Examples
    --------
    >>> import numpy as np
    >>> s = PriorSampler().fit(Latents(np.zeros((3, 2)), np.zeros((3, 2))))
    >>> s.sample(4, np.random.default_rng(0)).z.shape
    (4, 2)
    """

    name = "prior"
    uses_real_windows = False

    def __init__(self) -> None:
        self.latent_dim_: int | None = None

    def fit(self, latents: Latents) -> PriorSampler:
        self.latent_dim_ = latents.mu.shape[1]
        return self

    def sample(self, n: int, rng: np.random.Generator) -> LatentSample:
        return LatentSample(rng.standard_normal((n, self.latent_dim_)))

    def to_dict(self) -> dict:
        return {"name": self.name}


class NoisyPosteriorSampler:
    """``z = mu + noise_scale * eps * sigma`` of encoded real windows, drawn at random.

    ``noise_scale=0`` decodes the posterior mean (a reconstruction), ``1`` is the true
    posterior, larger values give more diverse output. Windows are drawn without replacement
    while ``n`` does not exceed their number; ``n`` equal to their number takes each once,
    in order (so ``generate(x=x, method="noisy_posterior", noise_scale=0,
    observation_noise=False)`` is ``reconstruct(x)``, row for row).

    Examples
    --------
    >>> import numpy as np
    >>> lat = Latents(np.ones((5, 2)), np.zeros((5, 2)))
    >>> s = NoisyPosteriorSampler(noise_scale=0.0).fit(lat)
    >>> s.sample(3, np.random.default_rng(0)).z.tolist()
    [[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]]
    """

    name = "noisy_posterior"
    uses_real_windows = True

    def __init__(self, noise_scale: float = 1.0) -> None:
        self.noise_scale = noise_scale
        self.latents_: Latents | None = None

    def fit(self, latents: Latents) -> NoisyPosteriorSampler:
        self.latents_ = latents
        return self

    def sample(self, n: int, rng: np.random.Generator) -> LatentSample:
        available = len(self.latents_.mu)
        index = (np.arange(n) if n == available
                 else rng.choice(available, size=n, replace=n > available))
        eps = rng.standard_normal((n, self.latents_.mu.shape[1]))
        z = self.latents_.mu[index] + self.noise_scale * eps * self.latents_.sigma[index]
        return LatentSample(z, index)

    def to_dict(self) -> dict:
        return {"name": self.name, "noise_scale": self.noise_scale}


class PosteriorSampler(NoisyPosteriorSampler):
    """``z = mu + eps * sigma`` of encoded real windows: augmentation of real data."""

    name = "posterior"

    def __init__(self) -> None:
        super().__init__(noise_scale=1.0)


#: What the ``aggregate`` mixture can be fitted to (see :class:`AggregateSampler`).
FIT_TO = ("means", "draws")


class AggregateSampler:
    """Gaussian mixture fitted after training to the training windows' latent codes.

    The mixture is fitted (scikit-learn) to the posterior means of the training windows
    (``fit_to="means"``, an ex-post density of the codes the decoder reconstructs from) or to
    one posterior draw per window (``"draws"``, a smoothed aggregated posterior ``q(z)``); its
    number of components is chosen by BIC between 1 and ``max_components`` unless
    ``n_components`` is given. Samples are fresh but stay where the decoder was trained.

    Parameters
    ----------
    n_components : int, optional
        Mixture components; default chosen by BIC.
    fit_to : {"means", "draws"}
        What the mixture is fitted to. Decoding a posterior draw away from its mean gives
        windows a detector tells from real ones more often than decoded means (larger
        steps): the means are what reconstructions, which detectors cannot tell from real
        windows on Stocks, are decoded from (``docs/benchmarks.md``).
    max_components : int
        Largest number of components BIC may choose.
    max_fit_samples : int
        Latent codes the mixture is fitted to at most (a random subset beyond).
    random_state : int, optional
        Seed of the subset, the draws and the mixture's initialisation.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> lat = Latents(rng.normal(size=(500, 2)), np.full((500, 2), -4.0))
    >>> s = AggregateSampler(n_components=1, random_state=0).fit(lat)
    >>> s.sample(10, rng).z.shape
    (10, 2)
    """

    name = "aggregate"
    uses_real_windows = False

    def __init__(self, n_components: int | None = None, *, fit_to: str = "means",
                 max_components: int = 10, max_fit_samples: int = 20_000,
                 random_state: int | None = 0) -> None:
        if fit_to not in FIT_TO:
            raise ValueError(f"fit_to={fit_to!r} is not known; use one of {list(FIT_TO)}.")
        self.n_components = n_components
        self.fit_to = fit_to
        self.max_components = max_components
        self.max_fit_samples = max_fit_samples
        self.random_state = random_state
        self.weights_: np.ndarray | None = None
        self.means_: np.ndarray | None = None
        self.covariances_: np.ndarray | None = None

    def fit(self, latents: Latents) -> AggregateSampler:
        from sklearn.mixture import GaussianMixture

        rng = np.random.default_rng(self.random_state)
        points = latents.mu.copy() if self.fit_to == "means" else latents.draw(rng)
        if len(points) > self.max_fit_samples:
            points = points[rng.choice(len(points), self.max_fit_samples, replace=False)]
        if self.n_components is not None:
            candidates = [int(self.n_components)]
        else:
            candidates = list(range(1, max(1, min(self.max_components, len(points) // 10)) + 1))
        best, best_bic = None, np.inf
        for k in candidates:
            gmm = GaussianMixture(k, covariance_type="full", reg_covar=1e-5,
                                  random_state=self.random_state).fit(points)
            bic = gmm.bic(points)
            if bic < best_bic:
                best, best_bic = gmm, bic
        logger.info("aggregate sampler: %d mixture components (BIC %.1f)", best.n_components,
                    best_bic)
        self.weights_ = best.weights_
        self.means_ = best.means_
        self.covariances_ = best.covariances_
        return self

    def sample(self, n: int, rng: np.random.Generator) -> LatentSample:
        component = rng.choice(len(self.weights_), size=n, p=self.weights_ / self.weights_.sum())
        chol = np.linalg.cholesky(self.covariances_)
        eps = rng.standard_normal((n, self.means_.shape[1]))
        z = self.means_[component] + np.einsum("nij,nj->ni", chol[component], eps)
        return LatentSample(z)

    def to_dict(self) -> dict:
        state = {"name": self.name, "n_components": self.n_components, "fit_to": self.fit_to,
                 "max_components": self.max_components, "random_state": self.random_state}
        if self.weights_ is not None:
            state.update(weights=self.weights_.tolist(), means=self.means_.tolist(),
                         covariances=self.covariances_.tolist())
        return state

    @classmethod
    def from_dict(cls, state: dict) -> AggregateSampler:
        # Files written before ``fit_to`` existed hold mixtures fitted to posterior draws.
        sampler = cls(state.get("n_components"), fit_to=state.get("fit_to", "draws"),
                      max_components=state.get("max_components", 10),
                      random_state=state.get("random_state"))
        if "weights" in state:
            sampler.weights_ = np.asarray(state["weights"], dtype=np.float64)
            sampler.means_ = np.asarray(state["means"], dtype=np.float64)
            sampler.covariances_ = np.asarray(state["covariances"], dtype=np.float64)
        return sampler


#: name -> sampler class; ``make_sampler`` builds one with its options.
SAMPLERS = {
    cls.name: cls
    for cls in (PriorSampler, PosteriorSampler, NoisyPosteriorSampler, AggregateSampler)
}


def make_sampler(method: str, *, noise_scale: float = 1.0):
    """Build an unfitted sampler by method name.

    Examples
    --------
    >>> make_sampler("noisy_posterior", noise_scale=0.5).noise_scale
    0.5
    """
    if method not in SAMPLERS:
        raise ValueError(f"method={method!r} is not known; use one of {sorted(SAMPLERS)}.")
    if method == "noisy_posterior":
        return NoisyPosteriorSampler(noise_scale=noise_scale)
    return SAMPLERS[method]()
