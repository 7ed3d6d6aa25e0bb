"""LightningModule: training and validation steps, KL warm-up, optimizer. Nothing else."""

from __future__ import annotations

import pytorch_lightning as pl
import torch

from tsvae.model.vae import SequenceVAE, vae_loss


def _batch_len(batch) -> int:
    return len(batch[0] if isinstance(batch, (tuple, list)) else batch)


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite; the model is not usable."""


class VAELightningModule(pl.LightningModule):
    """Train a :class:`~tsvae.model.vae.SequenceVAE` on batches of windows."""

    def __init__(self, vae: SequenceVAE, *, alpha: float | None = None, beta: float = 1.0,
                 free_bits: float = 0.0, kl_warmup_epochs: int = 0,
                 learning_rate: float = 1e-3) -> None:
        super().__init__()
        self.vae = vae
        self.alpha, self.beta, self.free_bits = alpha, beta, free_bits
        self.kl_warmup_epochs = kl_warmup_epochs
        self.learning_rate = learning_rate

    def current_beta(self) -> float:
        """``beta`` ramped linearly from 0 over the first ``kl_warmup_epochs`` epochs."""
        if self.kl_warmup_epochs <= 0 or self.trainer is None:
            return self.beta
        batches = max(int(self.trainer.num_training_batches or 1), 1)
        progress = (self.current_epoch + self.trainer.fit_loop.epoch_loop.batch_progress
                    .current.ready / batches) / self.kl_warmup_epochs
        return self.beta * min(1.0, progress)

    def _step(self, batch, beta: float) -> dict:
        # A batch is the windows, or (windows, condition vectors) for a conditioned model.
        windows, condition = batch if isinstance(batch, (tuple, list)) else (batch, None)
        params, mu, log_var = self.vae(windows, condition)
        return vae_loss(params, self.vae.target(windows), mu, log_var, alpha=self.alpha,
                        beta=beta, free_bits=self.free_bits)

    def training_step(self, batch: torch.Tensor, batch_idx: int) -> torch.Tensor:
        out = self._step(batch, self.current_beta())
        if not torch.isfinite(out["loss"]):
            value = float(out["loss"].detach())
            raise TrainingDivergedError(
                f"Training loss became {value} at epoch {self.current_epoch}, "
                f"batch {batch_idx}. Likely causes: a learning rate too high (try "
                f"learning_rate={self.learning_rate / 10:g}), inputs left unscaled or with "
                "extreme values (keep scaler='minmax' or 'standard'), or too large alpha."
            )
        self.log_dict({"train_loss": out["loss"], "train_nll": out["nll"],
                       "train_kl": out["kl"]}, prog_bar=True, batch_size=_batch_len(batch))
        return out["loss"]

    def validation_step(self, batch: torch.Tensor, batch_idx: int) -> None:
        out = self._step(batch, self.beta)
        # sync_dist: under DDP every rank must see the same val_loss, or early stopping and
        # the best-weight restore would pick different epochs on different ranks.
        # val_elbo_per_value: the held-out ELBO in nats per value, what models compare by.
        self.log_dict({"val_loss": out["loss"], "val_nll": out["nll"], "val_kl": out["kl"],
                       "val_elbo_per_value": out["elbo_per_value"]},
                      prog_bar=True, batch_size=_batch_len(batch), sync_dist=True)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.learning_rate)
