"""Sequence VAE: encode, reparameterize, decode, and the ELBO-style loss. Pure torch."""

from __future__ import annotations

import torch
from torch import nn

from tsvae.nn import ARCHITECTURES

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

    Examples
    --------
    >>> import torch
    >>> vae = SequenceVAE(n_features=3, n_past=12, latent_dim=4, hidden_size=8)
    >>> x_hat, mu, log_var = vae(torch.zeros(5, 12, 3))
    >>> tuple(x_hat.shape), tuple(mu.shape)
    ((5, 12, 3), (5, 4))
    """

    def __init__(self, n_features: int, n_past: int, n_future: int = 0, *,
                 architecture: str = "lstm", latent_dim: int = 8, hidden_size: int = 64,
                 num_layers: int = 1, condition_dim: int = 0) -> None:
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
        context_dim = (self.context_encoder.out_dim if n_future else 0) + condition_dim
        self.decoder = decoder_cls(n_features, n_future or n_past, latent_dim=latent_dim,
                                   context_dim=context_dim, **sizes)

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

    def past_context(self, past: torch.Tensor | None) -> torch.Tensor | None:
        """Context vector of the past steps (``None`` for an unconditional model)."""
        if self.context_encoder is None:
            return None
        if past is None:
            raise ValueError("This model has n_future > 0: decoding needs the past steps.")
        return self.context_encoder(past)

    def context(self, past: torch.Tensor | None, condition: torch.Tensor | None = None
                ) -> torch.Tensor | None:
        """What the decoder receives beside ``z``: past context and condition, concatenated."""
        self._check_condition(condition)
        parts = [self.past_context(past), condition if self.condition_dim else None]
        parts = [p for p in parts if p is not None]
        return torch.cat(parts, dim=-1) if parts else None

    def decode(self, z: torch.Tensor, past: torch.Tensor | None = None,
               condition: torch.Tensor | None = None) -> torch.Tensor:
        """Decode latents (with the past of a conditional model, and the condition vector)
        into scaled steps."""
        return self.decoder(z, self.context(past, condition))

    def target(self, window: torch.Tensor) -> torch.Tensor:
        """What the decoder must produce for ``window``: itself, or its future part."""
        return window[:, self.n_past:] if self.n_future else window

    def forward(self, window: torch.Tensor, condition: torch.Tensor | None = None):
        mu, log_var = self.encode(window, condition)
        z = self.reparameterize(mu, log_var)
        past = window[:, : self.n_past] if self.n_future else None
        return self.decode(z, past, condition), mu, log_var


def vae_loss(x_hat: torch.Tensor, target: torch.Tensor, mu: torch.Tensor,
             log_var: torch.Tensor, *, alpha: float = 1.0, beta: float = 1.0) -> dict:
    """``alpha * recon + beta * KL``: squared error summed over steps and features, KL to
    ``N(0, I)`` summed over latent dimensions, both averaged over the batch.

    Examples
    --------
    >>> import torch
    >>> out = vae_loss(torch.zeros(2, 3, 1), torch.ones(2, 3, 1), torch.zeros(2, 4),
    ...                torch.zeros(2, 4))
    >>> float(out["recon"]), float(out["kl"])
    (3.0, 0.0)
    """
    recon = (x_hat - target).pow(2).sum(dim=(1, 2)).mean()
    kl = (-0.5 * (1.0 + log_var - mu.pow(2) - log_var.exp()).sum(dim=1)).mean()
    return {"loss": alpha * recon + beta * kl, "recon": recon, "kl": kl}
