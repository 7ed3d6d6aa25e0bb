"""Reading model files of format 5 and older: their parameters and residual arrays."""

from __future__ import annotations

from tsvae.legacy.decoding import LegacyDecoding
from tsvae.legacy.mean_calibration import mean_calibration_from_arrays
from tsvae.legacy.observation import noise_from_arrays

#: The last format whose decoder output values and whose generation pasted stored residuals.
LAST_LEGACY_FORMAT = 5
#: Parameters of those formats that no longer exist (the residual model and the mean map).
RETIRED_PARAMS = ("noise_lags", "calibrate_means")


def legacy_params(params):
    """The stored parameters without the retired ones (anything else is checked as usual).

    Examples
    --------
    >>> legacy_params({"alpha": 20.0, "noise_lags": 2, "calibrate_means": True})
    {'alpha': 20.0}
    """
    if not isinstance(params, dict):
        return params
    return {k: v for k, v in params.items() if k not in RETIRED_PARAMS}


def legacy_decoding(arrays: dict) -> LegacyDecoding:
    """The residual process and mean map stored in a format-5 (or older) file's arrays."""
    return LegacyDecoding(noise_from_arrays(arrays), mean_calibration_from_arrays(arrays))
