"""The VAE core (pure torch) and the LightningModule that trains it."""

from tsvae.model.lightning import TrainingDivergedError, VAELightningModule
from tsvae.model.vae import SequenceVAE, vae_loss

__all__ = ["SequenceVAE", "TrainingDivergedError", "VAELightningModule", "vae_loss"]
