"""The decoder's likelihood ``p(x | z)``: an autoregressive Gaussian over the steps of a window.

The decoder network (:mod:`tsvae.nn.lstm`, :mod:`tsvae.nn.conv`) turns the code into features
``h_t`` for every step. From them this head gives the distribution of each value:

``x_0 = m_0 + o``,  ``x_t = m_t + o + d_t``,
``d_t = a_t1 d_{t-1} + ... + a_tp d_{t-p} + s_t * e_t + L_t u_t`` (``d_0 = 0``),
``o = s_0 * e_0 + L_0 u_0``,  ``e_t ~ N(0, I_F)``,  ``u_t ~ N(0, I_r)``

where the decoded level ``m_t``, the AR coefficients ``a_t`` (per feature, stationary by
construction: see :func:`stationary_coefficients`), the scale
``s_t`` and the loadings ``L_t`` (``F x r``, ``r = rank``: innovations that move features
together within a step) are linear maps of ``h_t``. The code sets each window's path; the
first step's draw ``o`` offsets the whole window from it (a level the code placed imprecisely
stays a level, it does not decay into movement), and the later deviations have their own
learned dynamics, mean-reverting to the offset path, so a drawn window never drifts away.
Every value is drawn from the network, none pasted from stored training residuals. Training
reads the real previous deviation (teacher forcing); generation carries its own draws
forward (:meth:`AutoregressiveGaussianHead.sample`; with ``noise=False`` the decoded levels,
the mean of every step).

With a fixed ``scale`` the head is the seed's weighted squared error: ``alpha * SSE`` is a
Gaussian of standard deviation ``1 / sqrt(2 alpha)`` (see :func:`fixed_scale`).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

#: Innovation distributions of the head: Gaussian, or multivariate Student-t (heavy tails).
DISTRIBUTIONS = ("gaussian", "student_t")
#: Log-scales are clamped: below, noiseless data (the sines) would drive the likelihood to
#: infinity; above, one value would be allowed to span many times the scaled range.
LOG_SCALE_MIN, LOG_SCALE_MAX = -7.0, 2.0


def fixed_scale(alpha: float) -> float:
    """Standard deviation of the Gaussian that ``alpha * squared error`` is (up to a constant).

    Examples
    --------
    >>> round(fixed_scale(20.0), 3)
    0.158
    """
    return 1.0 / math.sqrt(2.0 * alpha)


def stationary_coefficients(partial: torch.Tensor) -> torch.Tensor:
    """AR coefficients ``[..., p]`` from partial autocorrelations in (-1, 1) ``[..., p]``
    (Durbin-Levinson, Monahan 1984): every such input gives a stationary AR(p).

    Examples
    --------
    >>> import torch
    >>> stationary_coefficients(torch.tensor([0.5, 0.2])).tolist()
    [0.4000000059604645, 0.20000000298023224]
    """
    coefs = partial[..., :1]
    for k in range(1, partial.shape[-1]):
        r = partial[..., k:k + 1]
        coefs = torch.cat([coefs - r * coefs.flip(-1), r], dim=-1)
    return coefs


class AutoregressiveGaussianHead(nn.Module):
    """``p(x_t | h, x_{<t})`` for a window of ``n_features`` values per step.

    Parameters
    ----------
    in_dim : int
        Features per step from the decoder network.
    n_features : int
        Values per step.
    rank : int
        Shared innovation factors per step (0: independent features given the past).
    lags : int
        Order ``p`` of each feature's deviation process (stationary by construction).
    distribution : {"gaussian", "student_t"}
        Innovations: Gaussian, or a multivariate Student-t with learned degrees of freedom
        (jumps).

    Examples
    --------
    >>> import torch
    >>> head = AutoregressiveGaussianHead(8, 3, rank=1)
    >>> h, x = torch.zeros(2, 12, 8), torch.zeros(2, 12, 3)
    >>> params = head(h, x)
    >>> tuple(params.mean.shape), tuple(params.factor.shape)
    ((2, 12, 3), (2, 12, 3, 1))
    >>> tuple(head.sample(h).shape)
    (2, 12, 3)
    """

    def __init__(self, in_dim: int, n_features: int, *, rank: int = 0, lags: int = 2,
                 distribution: str = "gaussian") -> None:
        super().__init__()
        if distribution not in DISTRIBUTIONS:
            raise ValueError(f"distribution={distribution!r} is not known; use one of "
                             f"{list(DISTRIBUTIONS)}.")
        self.n_features, self.rank, self.lags = n_features, rank, lags
        # Degrees of freedom 2 + softplus(raw): finite variance; starts at 10.
        self.df_raw = (nn.Parameter(torch.tensor(math.log(math.expm1(8.0))))
                       if distribution == "student_t" else None)
        self.out = nn.Linear(in_dim, n_features * (2 + lags + rank))
        #: Share of training windows whose real previous deviations the AR term does not see
        #: (``benchmarks/likelihood_variants.py``; 0 for every fitted model).
        self.teacher_dropout = 0.0
        #: The first step's (the offset's) scale and loadings tied to the second step's times
        #: this factor instead of learned on their own (``benchmarks/likelihood_variants.py``;
        #: None for every fitted model).
        self.offset_cap: float | None = None

    @torch.no_grad()
    def initialise(self, level: torch.Tensor, step_scale: torch.Tensor) -> None:
        """Start from the data's scale: each feature's level at ``level`` and its innovation
        scale at ``step_scale`` (both ``[F]``, e.g. the training windows' mean and step
        standard deviation), with small factor loadings. From the default start (a scale of
        1, the whole scaled range) Adam needs thousands of steps to reach a series whose steps
        are 0.3% of its range (Stocks), and the first epochs' draws are noise."""
        f, p = self.n_features, self.lags
        weight, bias = self.out.weight, self.out.bias
        bias[:f] = level
        rows = slice(f + f * p, f + f * p + f)  # the log-scales
        bias[rows] = step_scale.clamp(min=math.exp(LOG_SCALE_MIN)).log()
        weight[rows] *= 0.1
        weight[f + f * p + f:] *= 0.1  # the loadings
        bias[f + f * p + f:] = 0.0

    def _parts(self, h: torch.Tensor):
        f, r, p = self.n_features, self.rank, self.lags
        level, partial, log_scale, loadings = self.out(h).split([f, f * p, f, f * r], dim=-1)
        coefs = (stationary_coefficients(torch.tanh(partial.unflatten(-1, (f, p))))
                 if p else None)
        factor = loadings.unflatten(-1, (f, r)) if r else None
        log_scale = log_scale.clamp(LOG_SCALE_MIN, LOG_SCALE_MAX)
        if self.offset_cap is not None and h.shape[1] > 1:
            # A study option: an offset no wider than a step's innovation (times the cap),
            # so that the code, not the offset's noise, must carry each window's level.
            log_scale = torch.cat([log_scale[:, 1:2] + math.log(self.offset_cap),
                                   log_scale[:, 1:]], dim=1)
            if factor is not None:
                factor = torch.cat([factor[:, 1:2] * self.offset_cap, factor[:, 1:]], dim=1)
        return level, coefs, log_scale, factor

    @property
    def df(self) -> torch.Tensor | None:
        """Degrees of freedom of the Student-t innovations (None: Gaussian)."""
        return None if self.df_raw is None else 2.0 + nn.functional.softplus(self.df_raw)

    def forward(self, h: torch.Tensor, target: torch.Tensor) -> StepParams:
        """Distribution of every step of ``target`` given the real steps before it (a model
        with a past reads its last step through ``h``: it is no deviation from this window's
        decoded level)."""
        level, coefs, log_scale, factor = self._parts(h)
        deviation = target - level
        # The first step's deviation is the window's offset from its decoded path, carried
        # to every later step: a level the code placed imprecisely is not mistaken for
        # movement (it would decay back to the path through the steps).
        offset = deviation[:, :1]
        mean = torch.cat([level[:, :1], level[:, 1:] + offset], dim=1)
        if not self.lags:
            return StepParams(mean, log_scale, factor, self.df)
        within = deviation - offset  # zero at the first step
        padded = torch.cat([torch.zeros_like(within[:, :self.lags]), within], dim=1)
        steps = within.shape[1]
        # lagged[..., k]: the within-window deviation k + 1 steps before each step.
        lagged = torch.stack([padded[:, self.lags - k - 1:self.lags - k - 1 + steps]
                              for k in range(self.lags)], dim=-1)
        if self.training and self.teacher_dropout > 0:
            # Hide the real previous deviations of some windows, so that the decoded level
            # must carry what they would have predicted (a study option, off by default).
            keep = torch.rand(lagged.shape[0], 1, 1, 1, device=lagged.device)
            lagged = lagged * (keep >= self.teacher_dropout)
        return StepParams(mean + (coefs * lagged).sum(-1), log_scale, factor, self.df)

    def sample(self, h: torch.Tensor, *, noise: bool = True,
               generator: torch.Generator | None = None,
               scale: float | None = None) -> torch.Tensor:
        """Draw a window step by step: the first step's draw sets the window's offset from
        the decoded path, and each later step's deviation from the offset path carries over
        from the steps before. ``noise=False`` gives the decoded levels (the mean of every
        step). ``scale`` replaces the learned scales by one fixed standard deviation (a model
        trained with a fixed ``alpha``)."""
        level, coefs, log_scale, factor = self._parts(h)
        if not noise:
            return level
        innovations = StepParams(torch.zeros_like(level), log_scale, factor,
                                 self.df).draw(generator, scale)
        offset = innovations[:, 0]
        recent = [torch.zeros_like(offset)] * self.lags  # most recent first
        steps = [torch.zeros_like(offset)]
        for t in range(1, h.shape[1]):
            deviation = innovations[:, t] + sum(coefs[:, t, :, k] * recent[k]
                                                for k in range(self.lags))
            recent = [deviation, *recent[:-1]]
            steps.append(deviation)
        return level + offset.unsqueeze(1) + torch.stack(steps, dim=1)


class StepParams:
    """Mean ``[B, T, F]``, log-scale ``[B, T, F]``, loadings ``[B, T, F, r]`` (or None) and
    the degrees of freedom of a Student-t (a scalar tensor, or None for a Gaussian).

    With ``df``, each step's innovation is a multivariate Student-t whose scale matrix is
    ``diag(s^2) + L L^T``: occasional large moves of several features at once, which a
    Gaussian spreads into many medium ones.
    """

    def __init__(self, mean: torch.Tensor, log_scale: torch.Tensor,
                 factor: torch.Tensor | None, df: torch.Tensor | None = None) -> None:
        self.mean, self.log_scale, self.factor, self.df = mean, log_scale, factor, df

    def draw(self, generator: torch.Generator | None, scale: float | None = None
             ) -> torch.Tensor:
        """One draw of the innovation around the mean."""
        eps = torch.randn(self.mean.shape, generator=generator, dtype=self.mean.dtype,
                          device=self.mean.device)
        if scale is not None:
            return scale * eps
        out = self.log_scale.exp() * eps
        if self.factor is not None:
            u = torch.randn((*self.mean.shape[:-1], self.factor.shape[-1], 1),
                            generator=generator, dtype=self.mean.dtype, device=self.mean.device)
            out = out + (self.factor @ u).squeeze(-1)
        if self.df is not None:
            out = out * self._mixing(generator).sqrt()
        return out

    def _mixing(self, generator: torch.Generator | None) -> torch.Tensor:
        """``df / chi2(df)`` per step, shared by the features (a multivariate t)."""
        # torch's gamma sampler takes no generator: numpy's, seeded from the torch one.
        seed = int(torch.randint(2**62, (1,), generator=generator))
        df = float(self.df)
        chi2 = np.random.default_rng(seed).chisquare(df, size=self.mean.shape[:-1])
        return torch.as_tensor(df / chi2, dtype=self.mean.dtype).unsqueeze(-1)

    def nll(self, target: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of ``target``, summed over steps and features, per window.

        The low-rank scale matrix is inverted through its ``r x r`` capacitance (Woodbury),
        so the cost grows with ``F r^2``, not ``F^3``.
        """
        n_features = target.shape[-1]
        inv_scale = torch.exp(-self.log_scale)
        white = (target - self.mean) * inv_scale
        mahalanobis = white.pow(2).sum(-1)
        logdet = 2 * self.log_scale.sum(-1)
        if self.factor is not None:
            scaled = self.factor * inv_scale.unsqueeze(-1)  # D^-1 L
            eye = torch.eye(scaled.shape[-1], dtype=scaled.dtype, device=scaled.device)
            # cholesky_ex: non-finite weights give a non-finite loss (training stops with a
            # clear "diverged" error) instead of a LinAlgError.
            capacitance = torch.linalg.cholesky_ex(eye + scaled.transpose(-1, -2) @ scaled)[0]
            projected = torch.linalg.solve_triangular(
                capacitance, (scaled.transpose(-1, -2) @ white.unsqueeze(-1)), upper=False)
            mahalanobis = mahalanobis - projected.squeeze(-1).pow(2).sum(-1)
            logdet = logdet + 2 * torch.diagonal(capacitance, dim1=-2, dim2=-1).log().sum(-1)
        if self.df is None:
            per_step = 0.5 * (n_features * math.log(2 * math.pi) + logdet + mahalanobis)
        else:
            df = self.df
            per_step = (torch.lgamma(df / 2) - torch.lgamma((df + n_features) / 2)
                        + 0.5 * n_features * torch.log(df * math.pi) + 0.5 * logdet
                        + 0.5 * (df + n_features) * torch.log1p(mahalanobis / df))
        return per_step.sum(dim=1)
