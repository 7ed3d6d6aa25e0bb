"""The decoder's likelihood ``p(x | z)``: an autoregressive Gaussian over the steps of a window.

The decoder network (:mod:`tsvae.nn.lstm`, :mod:`tsvae.nn.conv`) turns the code into features
``h_t`` for every step. From them this head gives the distribution of each value:

``x_t = m_t + d_t``,  ``d_t = a_t1 d_{t-1} + ... + a_tp d_{t-p} + s_t * e_t + L_t u_t``,
``e_t ~ N(0, I_F)``,  ``u_t ~ N(0, I_r)``

where the decoded level ``m_t``, the AR coefficients ``a_t`` (per feature, stationary by
construction: see :func:`stationary_coefficients`), the scale
``s_t`` and the loadings ``L_t`` (``F x r``, ``r = rank``: innovations that move features
together within a step) are linear maps of ``h_t``. The code sets each window's path; the
deviations from it have their own learned dynamics, mean-reverting to the path, so a drawn
window never drifts away from its level. Every value is drawn from the network, none pasted
from stored training residuals. Training reads the real previous deviation (teacher
forcing); generation carries its own draws forward (:meth:`AutoregressiveGaussianHead.sample`;
with ``noise=False`` the decoded levels, the mean of every step).

With a fixed ``scale`` the head is the seed's weighted squared error: ``alpha * SSE`` is a
Gaussian of standard deviation ``1 / sqrt(2 alpha)`` (see :func:`fixed_scale`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

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
    """``p(x_t | h_t, x_{t-p..t-1})`` for a window of ``n_features`` values per step.

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
                 max_partial: float = 1.0, recurrent: int = 0) -> None:
        super().__init__()
        self.n_features, self.rank, self.lags = n_features, rank, lags
        self.max_partial = max_partial
        self.out = nn.Linear(in_dim, n_features * (2 + lags + rank))
        self.gru = nn.GRU(in_dim + n_features, recurrent, batch_first=True) if recurrent else None
        self.gru_out = nn.Linear(recurrent, n_features * 2) if recurrent else None

    def _parts(self, h: torch.Tensor):
        f, r, p = self.n_features, self.rank, self.lags
        level, partial, log_scale, loadings = self.out(h).split([f, f * p, f, f * r], dim=-1)
        coefs = stationary_coefficients(
            self.max_partial * torch.tanh(partial.unflatten(-1, (f, p)))) if p else None
        factor = loadings.unflatten(-1, (f, r)) if r else None
        return level, coefs, log_scale.clamp(LOG_SCALE_MIN, LOG_SCALE_MAX), factor

    def forward(self, h: torch.Tensor, target: torch.Tensor,
                previous: torch.Tensor | None = None) -> StepParams:
        """Distribution of every step of ``target`` given the real steps before it.

        ``previous`` (the last past value of a model with a past) is not a deviation from a
        decoded level, so the first step starts from none, as an unconditional window does.
        """
        level, coefs, log_scale, factor = self._parts(h)
        deviation = target - level
        if self.gru is not None:
            before = torch.cat([torch.zeros_like(deviation[:, :1]), deviation[:, :-1]], dim=1)
            out, _ = self.gru(torch.cat([h, before], dim=-1))
            shift, rescale = self.gru_out(out).chunk(2, dim=-1)
            level = level + shift
            log_scale = (log_scale + rescale).clamp(LOG_SCALE_MIN, LOG_SCALE_MAX)
            deviation = target - level
        if not self.lags:
            return StepParams(level, log_scale, factor)
        padded = torch.cat([torch.zeros_like(deviation[:, :self.lags]), deviation], dim=1)
        steps = deviation.shape[1]
        # lagged[..., k]: the deviation k + 1 steps before each step.
        lagged = torch.stack([padded[:, self.lags - k - 1:self.lags - k - 1 + steps]
                              for k in range(self.lags)], dim=-1)
        return StepParams(level + (coefs * lagged).sum(-1), log_scale, factor)

    def sample(self, h: torch.Tensor, previous: torch.Tensor | None = None, *,
               noise: bool = True, generator: torch.Generator | None = None,
               scale: float | None = None) -> torch.Tensor:
        """Draw a window step by step, each step's deviation from the decoded level carried
        over from the steps before. ``noise=False`` gives the decoded levels (the mean of
        every step, since deviations start at zero). ``scale`` replaces the learned scales by
        one fixed standard deviation (a model trained with a fixed ``alpha``)."""
        level, coefs, log_scale, factor = self._parts(h)
        if self.gru is not None:
            return self._sample_recurrent(h, level, log_scale, factor, noise, generator, scale)
        if not noise:
            return level
        innovations = StepParams(torch.zeros_like(level), log_scale, factor).draw(generator,
                                                                                   scale)
        recent = [torch.zeros_like(level[:, 0])] * self.lags  # most recent first
        steps = []
        for t in range(h.shape[1]):
            deviation = innovations[:, t] + sum(coefs[:, t, :, k] * recent[k]
                                                for k in range(self.lags))
            recent = [deviation, *recent[:-1]]
            steps.append(deviation)
        return level + torch.stack(steps, dim=1)


    def _sample_recurrent(self, h, level, log_scale, factor, noise, generator, scale):
        state, previous, steps = None, torch.zeros_like(level[:, 0]), []
        for t in range(h.shape[1]):
            out, state = self.gru(torch.cat([h[:, t], previous], dim=-1).unsqueeze(1), state)
            shift, rescale = self.gru_out(out[:, 0]).chunk(2, dim=-1)
            value = level[:, t] + shift
            if noise:
                params = StepParams(
                    torch.zeros_like(value),
                    (log_scale[:, t] + rescale).clamp(LOG_SCALE_MIN, LOG_SCALE_MAX),
                    None if factor is None else factor[:, t])
                value = value + params.draw(generator, scale)
            previous = value - level[:, t]
            steps.append(value)
        return torch.stack(steps, dim=1)


class StepParams:
    """Mean ``[B, T, F]``, log-scale ``[B, T, F]`` and loadings ``[B, T, F, r]`` (or None)."""

    def __init__(self, mean: torch.Tensor, log_scale: torch.Tensor,
                 factor: torch.Tensor | None) -> None:
        self.mean, self.log_scale, self.factor = mean, log_scale, factor

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
        return out

    def nll(self, target: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of ``target``, summed over steps and features, per window."""
        if self.factor is None:
            z = (target - self.mean) * torch.exp(-self.log_scale)
            per_value = 0.5 * z.pow(2) + self.log_scale + 0.5 * math.log(2 * math.pi)
            return per_value.sum(dim=(1, 2))
        dist = torch.distributions.LowRankMultivariateNormal(
            self.mean, self.factor, torch.exp(2 * self.log_scale), validate_args=False)
        return -dist.log_prob(target).sum(dim=1)
