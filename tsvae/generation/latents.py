"""``TrainingLatents``: what a fitted model keeps of its training windows.

It lives here, below both the estimator and the model-file code, so that neither imports the
other to use it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tsvae.generation.samplers import Latents


@dataclass
class TrainingLatents:
    """What ``fit`` keeps of the training windows: their posteriors, not the windows.

    ``contexts`` (models with a past only) are what the decoder reads of each window's past
    (:meth:`~tsvae.model.vae.SequenceVAE.past_context`); ``series`` is the position of each
    window's series in ``series_ids_``. All of it is an encoding of the training windows:
    model files store it only when asked to (``save(..., keep_training_data=True)``).

    Examples
    --------
    >>> import numpy as np
    >>> kept = TrainingLatents(Latents(np.zeros((2, 3)), np.zeros((2, 3))), np.zeros(2, int))
    >>> kept.latents.mu.shape, kept.contexts is None
    ((2, 3), True)
    """

    latents: Latents
    series: np.ndarray
    contexts: np.ndarray | None = None
    #: encoded condition vector of each window (conditioned models only)
    conditions: np.ndarray | None = None
