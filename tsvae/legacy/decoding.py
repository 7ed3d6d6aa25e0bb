"""How a model file of format 5 or older decodes: network output, mean map, residual draw."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from tsvae.legacy.mean_calibration import ConditionalMeanCalibration, MeanCalibration
from tsvae.legacy.observation import ConditionalNoise, ObservationNoise


@dataclass
class LegacyDecoding:
    """The post-processing of a format-5 (or older) model's decoded values.

    ``noise`` resamples stored training residual windows (a copy of training data's
    movement); ``mean_calibration`` is the linear map fitted after training. Either may be
    absent.

    Examples
    --------
    >>> LegacyDecoding(None, None).needs_generator(True)
    False
    """

    noise: ObservationNoise | ConditionalNoise | None
    mean_calibration: MeanCalibration | ConditionalMeanCalibration | None

    def needs_generator(self, observation_noise: bool) -> bool:
        """Whether decoding draws random numbers (as before: only for the residual draws)."""
        return bool(observation_noise) and self.noise is not None

    def decode(self, vae, z: torch.Tensor, context: torch.Tensor | None, *,
               observation_noise: bool, generator: torch.Generator | None,
               conditions=None) -> torch.Tensor:
        """Decoded values of a batch, mapped and with a residual draw, as format 5 did."""
        decoded = vae.decoder(z, context).float()
        if self.mean_calibration is not None:
            decoded = self.mean_calibration.apply_tensor(decoded, conditions)
        if self.needs_generator(observation_noise):
            decoded += self.noise.sample_tensor(len(z), decoded.shape[1], generator, conditions)
        return decoded
