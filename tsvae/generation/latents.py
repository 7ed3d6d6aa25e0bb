"""``TrainingLatents``: what a fitted model keeps of its training windows.

It lives here, below both the estimator and the model-file code, so that neither imports the
other to use it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tsvae.generation.mean_calibration import ConditionalMeanCalibration, MeanCalibration
from tsvae.generation.observation import ConditionalNoise, ObservationNoise
from tsvae.generation.samplers import Latents


@dataclass
class TrainingLatents:
    """What ``fit`` keeps of the training windows: their posteriors, not the windows.

    ``contexts`` (conditional models only) are the context-encoder vectors of each window's
    past; ``series`` is the position of each window's series in ``series_ids_``.

    Examples
    --------
    >>> import numpy as np
    >>> kept = TrainingLatents(Latents(np.zeros((2, 3)), np.zeros((2, 3))), np.zeros(2, int))
    >>> kept.latents.mu.shape, kept.noise is None
    ((2, 3), True)
    """

    latents: Latents
    series: np.ndarray
    contexts: np.ndarray | None = None
    #: the decoder's observation model, fitted to the training residuals after training
    noise: ObservationNoise | ConditionalNoise | None = None
    #: encoded condition vector of each window (conditioned models only)
    conditions: np.ndarray | None = None
    #: linear map from decoded windows onto the data (``None``: decoded means as they are)
    mean_calibration: MeanCalibration | ConditionalMeanCalibration | None = None
