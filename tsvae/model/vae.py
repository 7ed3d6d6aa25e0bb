"""Sequence VAE: encode, reparameterize, decode, and the ELBO-style loss. Pure torch."""

from __future__ import annotations

import math

import torch
from torch import nn

from tsvae.nn import ARCHITECTURES
from tsvae.nn.likelihood import AutoregressiveGaussianHead, StepParams, fixed_scale

#: log-variance is clamped so exp(0.5 * log_var) stays finite and non-degenerate.
LOG_VAR_MIN, LOG_VAR_MAX = -12.0, 8.0


class SequenceVAE(nn.Module):
    """Encoder -> (mu, log_var) -> z -> decoder, for windows of ``n_past (+ n_future)`` steps.

    With ``n_future == 0`` the decoder reconstructs the whole window from ``z``. With
    ``n_future > 0`` it is a conditional VAE: the encoder sees past and future
    (``q(z | past, future)``), a context encoder summarises the past, and the decoder produces
    the future from ``z`` and that context; the prior stays ``N(0, I)``.

    With ``condition_dim > 0`` it is also a CVAE on a condition vector (encoded labels or
    static attributes): the encoder reads it beside every step (``q(z | x, c)``) and the
    decoder receives it with the context (``p(x | z, c)``).

    The decoder network gives features per step and the likelihood head
    (:class:`~tsvae.nn.likelihood.AutoregressiveGaussianHead`) the distribution of every
    value given the steps before it: a window is drawn step by step from ``p(x | z)``.
    ``head_rank`` is the number of shared innovation factors per step, ``head_lags`` the
    order of the deviations' autoregression, ``likelihood`` the innovations' distribution
    (``"gaussian"`` or ``"student_t"``). ``legacy_output``
    builds the network of model files of format 5 and older instead (a decoder that
    outputs values, no head).

    Examples
    --------
    >>> import torch
    >>> vae = SequenceVAE(n_features=3, n_past=12, latent_dim=4, hidden_size=8)
    >>> params, mu, log_var = vae(torch.zeros(5, 12, 3))
    >>> tuple(params.mean.shape), tuple(mu.shape)
    ((5, 12, 3), (5, 4))
    >>> tuple(vae.decode(mu).shape)
    (5, 12, 3)
    """

    def __init__(self, n_features: int, n_past: int, n_future: int = 0, *,
                 architecture: str = "lstm", latent_dim: int = 8, hidden_size: int = 64,
                 num_layers: int = 1, condition_dim: int = 0, head_rank: int = 0,
                 head_lags: int = 2, likelihood: str = "gaussian",
                 legacy_output: bool = False) -> None:
        super().__init__()
        if architecture not in ARCHITECTURES:
            raise ValueError(
                f"architecture={architecture!r} is not known; use one of {sorted(ARCHITECTURES)}."
            )
        encoder_cls, decoder_cls = ARCHITECTURES[architecture]
        self.n_past, self.n_future, self.latent_dim = n_past, n_future, latent_dim
        self.condition_dim = condition_dim
        sizes = {"hidden_size": hidden_size, "num_layers": num_layers}
        self.encoder = encoder_cls(n_features + condition_dim, n_past + n_future, **sizes)
        # Linear heads straight on the encoder output: no ReLU that would clip mu/log_var.
        self.mu_head = nn.Linear(self.encoder.out_dim, latent_dim)
        self.log_var_head = nn.Linear(self.encoder.out_dim, latent_dim)
        self.context_encoder = encoder_cls(n_features, n_past, **sizes) if n_future else None
        self.n_features, self.legacy_output = n_features, legacy_output
        context_dim = self.past_dim + condition_dim
        self.decoder = decoder_cls(n_features, n_future or n_past, latent_dim=latent_dim,
                                   context_dim=context_dim,
                                   out_features=n_features if legacy_output else None, **sizes)
        self.head = None if legacy_output else AutoregressiveGaussianHead(
            self.decoder.out_dim, n_features, rank=head_rank, lags=head_lags,
            distribution=likelihood)

    def _check_condition(self, condition: torch.Tensor | None) -> None:
        if self.condition_dim and condition is None:
            raise ValueError("This model was fitted with conditions: pass the condition vector.")

    def encode(self, window: torch.Tensor, condition: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior parameters of ``q(z | window[, condition])``: ``mu`` and clamped
        ``log_var``."""
        if self.condition_dim:
            self._check_condition(condition)
            steps = condition[:, None, :].expand(-1, window.shape[1], -1)
            window = torch.cat([window, steps], dim=-1)
        h = self.encoder(window)
        log_var = self.log_var_head(h).clamp(LOG_VAR_MIN, LOG_VAR_MAX)
        return self.mu_head(h), log_var

    @staticmethod
    def reparameterize(mu: torch.Tensor, log_var: torch.Tensor,
                       noise_scale: float = 1.0) -> torch.Tensor:
        """``z = mu + noise_scale * eps * exp(0.5 * log_var)`` (``log_var`` is a log-variance)."""
        return mu + noise_scale * torch.randn_like(mu) * torch.exp(0.5 * log_var)

    @property
    def past_dim(self) -> int:
        """Length of :meth:`past_context`'s vector (0 for an unconditional model)."""
        if self.context_encoder is None:
            return 0
        return self.context_encoder.out_dim + (0 if self.legacy_output else self.n_features)

    def past_context(self, past: torch.Tensor | None) -> torch.Tensor | None:
        """What the decoder reads of the past steps (``None`` for an unconditional model):
        the context encoder's vector and the last past step itself."""
        if self.context_encoder is None:
            return None
        if past is None:
            raise ValueError("This model has n_future > 0: decoding needs the past steps.")
        if self.legacy_output:
            return self.context_encoder(past)
        return torch.cat([self.context_encoder(past), past[:, -1]], dim=-1)

    def context(self, past: torch.Tensor | None, condition: torch.Tensor | None = None
                ) -> torch.Tensor | None:
        """What the decoder receives beside ``z``: past context and condition, concatenated."""
        self._check_condition(condition)
        parts = [self.past_context(past), condition if self.condition_dim else None]
        parts = [p for p in parts if p is not None]
        return torch.cat(parts, dim=-1) if parts else None

    def decode(self, z: torch.Tensor, past: torch.Tensor | None = None,
               condition: torch.Tensor | None = None, *, noise: bool = False,
               generator: torch.Generator | None = None,
               scale: float | None = None) -> torch.Tensor:
        """Decode latents (with the past of a conditional model, and the condition vector)
        into scaled steps: see :meth:`decode_context`."""
        return self.decode_context(z, self.context(past, condition), noise=noise,
                                   generator=generator, scale=scale)

    def decode_context(self, z: torch.Tensor, context: torch.Tensor | None, *,
                       noise: bool = False, generator: torch.Generator | None = None,
                       scale: float | None = None) -> torch.Tensor:
        """Decode latents given the decoder's context vector (:meth:`context`): a draw of
        ``p(x | z)`` with ``noise``, else its decoded mean (the decoded levels). ``scale``
        fixes the draw's standard deviation (a model trained with a fixed ``alpha``)."""
        h = self.decoder(z, context)
        if self.head is None:  # format-5 network: the decoder outputs the values
            return h
        # The head in float32 even under bfloat16 autocast: its step recursion accumulates
        # rounding (3.5% of a column's range in bfloat16, measured on the energy data).
        with torch.autocast(device_type=h.device.type, enabled=False):
            return self.head.sample(h.float(), noise=noise, generator=generator, scale=scale)

    def target(self, window: torch.Tensor) -> torch.Tensor:
        """What the decoder must produce for ``window``: itself, or its future part."""
        return window[:, self.n_past:] if self.n_future else window

    def forward(self, window: torch.Tensor, condition: torch.Tensor | None = None
                ) -> tuple[StepParams, torch.Tensor, torch.Tensor]:
        """Distribution of every target step given the real steps before it (teacher forcing)
        under one posterior draw, and the posterior parameters."""
        mu, log_var = self.encode(window, condition)
        z = self.reparameterize(mu, log_var)
        past = window[:, : self.n_past] if self.n_future else None
        context = self.context(past, condition)
        return self.head(self.decoder(z, context), self.target(window)), mu, log_var

    @torch.no_grad()
    def initialise_head(self, windows: torch.Tensor) -> None:
        """Start the likelihood head at the level and step size of ``windows`` (a sample of
        training windows, ``[N, n_past + n_future, F]``): see
        :meth:`~tsvae.nn.likelihood.AutoregressiveGaussianHead.initialise`."""
        target = self.target(windows).double()
        steps = target.diff(dim=1).flatten(0, 1)
        scale = steps.std(dim=0) if len(steps) > 1 else torch.ones(target.shape[-1])
        self.head.initialise(target.flatten(0, 1).mean(dim=0).float(),
                             torch.nan_to_num(scale, nan=1.0).float())


def vae_loss(params: StepParams, target: torch.Tensor, mu: torch.Tensor,
             log_var: torch.Tensor, *, alpha: float | None = None, beta: float = 1.0,
             free_bits: float = 0.0) -> dict:
    """Negative ELBO terms, averaged over the batch.

    With ``alpha=None`` the loss is ``NLL + beta * KL``: the head's own likelihood. With a
    number it is the seed's ``alpha * SSE + beta * KL`` (squared error of the head's means,
    summed over steps and features), a Gaussian of fixed standard deviation
    ``1 / sqrt(2 alpha)``; ``nll`` is then that Gaussian's. ``free_bits`` (nats per latent
    dimension) stops the loss from pushing a dimension's batch-mean KL below it, so that the
    autoregressive head cannot make the code useless. ``elbo_per_value`` is the ELBO (at
    ``beta = 1``, without free bits) divided by the number of values, in nats.

    Examples
    --------
    >>> import torch
    >>> from tsvae.nn.likelihood import StepParams
    >>> params = StepParams(torch.zeros(2, 3, 1), torch.zeros(2, 3, 1), None)
    >>> out = vae_loss(params, torch.ones(2, 3, 1), torch.zeros(2, 4), torch.zeros(2, 4),
    ...                alpha=1.0)
    >>> float(out["recon"]), float(out["kl"])
    (3.0, 0.0)
    """
    recon = (params.mean - target).pow(2).sum(dim=(1, 2)).mean()
    kl_dims = -0.5 * (1.0 + log_var - mu.pow(2) - log_var.exp())
    kl = kl_dims.sum(dim=1).mean()
    n_values = target.shape[1] * target.shape[2]
    if alpha is None:
        nll = params.nll(target).mean()
        fit = nll
    else:
        variance = fixed_scale(alpha) ** 2
        nll = recon / (2 * variance) + 0.5 * n_values * math.log(2 * math.pi * variance)
        fit = alpha * recon
    kl_term = kl_dims.mean(dim=0).clamp(min=free_bits).sum() if free_bits > 0 else kl
    return {"loss": fit + beta * kl_term, "recon": recon, "kl": kl, "nll": nll,
            "elbo_per_value": -(nll + kl) / n_values}
