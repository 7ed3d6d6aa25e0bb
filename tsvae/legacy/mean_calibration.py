"""Format 4-5 model files: the linear map from decoded windows onto the data.

Those models fitted, after training, one ``T x T`` matrix and an offset per feature that maps
the decoded mean onto the data (least squares on the training windows), and applied it to
every decoded window before the residual draw (``observation.py``); conditional models one map
per condition value (:class:`ConditionalMeanCalibration`). Kept only so that such files load
and generate as they did.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from tsvae.legacy.condition_groups import (
    MAX_CONDITION_GROUPS,
    matching_rows,
)

logger = logging.getLogger(__name__)

#: Largest map (features x steps x steps values) fitted: beyond it (very long or very wide
#: windows) the decoded means are used as they are, to keep the model file and the fit small.
MAX_MAP_VALUES = 4_000_000


def map_fits(steps: int, n_features: int) -> bool:
    """Whether format 4-5 fitted a map of this size at all (see :data:`MAX_MAP_VALUES`)."""
    return n_features * steps * steps <= MAX_MAP_VALUES


class MeanCalibration:
    """Per-feature affine map ``x[:, :, f] = bias[f] + m[:, :, f] @ weight[f]`` of decoded
    windows ``m`` of ``T`` steps and ``F`` features (``weight`` ``(F, T, T)``, ``bias``
    ``(F, T)``).

    Parameters
    ----------
    weight : numpy.ndarray
        ``(F, T, T)``: row ``s`` of ``weight[f]`` is how much step ``s`` of the decoded
        window adds to each step of the output.
    bias : numpy.ndarray
        ``(F, T)`` offsets.

    Examples
    --------
    >>> import numpy as np
    >>> identity = MeanCalibration(np.eye(3)[None].repeat(2, 0), np.zeros((2, 3)))
    >>> m = np.arange(6, dtype=np.float32).reshape(1, 3, 2)
    >>> bool(np.allclose(identity.apply(m), m))
    True
    """

    def __init__(self, weight: np.ndarray, bias: np.ndarray) -> None:
        self.weight = np.ascontiguousarray(weight, dtype=np.float32)
        self.bias = np.ascontiguousarray(bias, dtype=np.float32)
        self._tensors: tuple[torch.Tensor, torch.Tensor] | None = None

    def apply_tensor(self, decoded: torch.Tensor, conditions=None) -> torch.Tensor:
        """The map applied to decoded windows ``(n, T, F)`` (float32 torch tensor;
        ``conditions`` is accepted for the interface of :class:`ConditionalMeanCalibration`)."""
        if self._tensors is None:
            with torch.inference_mode(False):  # plain tensors: usable outside inference too
                self._tensors = (torch.from_numpy(self.weight), torch.from_numpy(self.bias))
        weight, bias = self._tensors
        return torch.einsum("nsf,fst->ntf", decoded, weight) + bias.T

    def apply(self, decoded: np.ndarray, conditions=None) -> np.ndarray:
        """:meth:`apply_tensor` for numpy arrays ``(n, T, F)``; returns float32."""
        with torch.inference_mode():
            return self.apply_tensor(
                torch.as_tensor(np.asarray(decoded, dtype=np.float32)), conditions).numpy()

    def to_arrays(self) -> dict:
        """The map as named arrays for the model file."""
        return {"mean_calibration_weight": self.weight, "mean_calibration_bias": self.bias}

    @classmethod
    def from_arrays(cls, arrays: dict) -> MeanCalibration | None:
        """The map stored in a model file's arrays, or ``None`` (files saved without one)."""
        if "mean_calibration_weight" not in arrays:
            return None
        return cls(arrays["mean_calibration_weight"], arrays["mean_calibration_bias"])


class ConditionalMeanCalibration:
    """One :class:`MeanCalibration` per condition vector ``keys[i]``; windows whose condition
    matches no key keep their decoded means.

    A model fitted with a few distinct condition values decodes each value's windows with
    their own shape; one map pooled over all of them would pull the values toward each
    other, so each value gets the map of its own windows.

    Parameters
    ----------
    keys : numpy.ndarray
        ``(k, condition_dim)`` encoded condition vectors.
    maps : list of MeanCalibration
        The map of each key's windows.

    Examples
    --------
    >>> import numpy as np
    >>> double = MeanCalibration(2 * np.eye(2)[None], np.zeros((1, 2)))
    >>> calibration = ConditionalMeanCalibration(np.array([[1.0]]), [double])
    >>> calibration.apply(np.ones((2, 2, 1)), np.array([[1.0], [0.0]]))[:, 0, 0].tolist()
    [2.0, 1.0]
    """

    def __init__(self, keys: np.ndarray, maps: list[MeanCalibration]) -> None:
        if len(keys) != len(maps):
            raise ValueError(f"{len(keys)} condition keys but {len(maps)} maps.")
        self.keys = np.ascontiguousarray(keys, dtype=np.float32)
        self.maps = list(maps)

    def apply_tensor(self, decoded: torch.Tensor, conditions=None) -> torch.Tensor:
        """Each row of ``decoded`` ``(n, T, F)`` through the map of its condition vector
        (``conditions``, ``(n, condition_dim)``); without conditions, the decoded means."""
        if conditions is None:
            return decoded
        out = decoded.clone()
        for i, rows in matching_rows(self.keys, conditions):
            rows = torch.from_numpy(rows)
            out[rows] = self.maps[i].apply_tensor(decoded[rows])
        return out

    apply = MeanCalibration.apply

    def to_arrays(self) -> dict:
        """The maps as named arrays for the model file."""
        arrays = {"mean_calibration_group_keys": self.keys}
        for i, mapping in enumerate(self.maps):
            arrays[f"mean_calibration_group{i}_weight"] = mapping.weight
            arrays[f"mean_calibration_group{i}_bias"] = mapping.bias
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict) -> ConditionalMeanCalibration:
        keys = arrays["mean_calibration_group_keys"]
        return cls(keys, [MeanCalibration(arrays[f"mean_calibration_group{i}_weight"],
                                          arrays[f"mean_calibration_group{i}_bias"])
                          for i in range(len(keys))])


def max_calibrated_groups(steps: int, n_features: int) -> int:
    """Most condition values that get a map of their own: all maps together hold at most
    :data:`MAX_MAP_VALUES` values (one map always fits; more distinct values than this and
    the means stay as decoded, as for continuous conditions).

    Examples
    --------
    >>> max_calibrated_groups(24, 7), max_calibrated_groups(1_000, 4)
    (32, 1)
    """
    return max(1, min(MAX_CONDITION_GROUPS, MAX_MAP_VALUES // (n_features * steps * steps)))


def mean_calibration_from_arrays(arrays: dict):
    """The mean calibration stored in a model file's arrays, or ``None`` (files saved
    without one)."""
    if "mean_calibration_group_keys" in arrays:
        return ConditionalMeanCalibration.from_arrays(arrays)
    return MeanCalibration.from_arrays(arrays)
