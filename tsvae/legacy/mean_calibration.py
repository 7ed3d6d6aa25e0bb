"""A linear map from decoded windows onto the data, fitted after training.

Fresh windows are a decoded mean plus a residual window of the training data: ``m_i + r_j``
with ``r_j = x_j - m_j`` taken from another window than the one ``m_i`` stands for. A real
window is ``m_j + r_j``, and its mean and residual are not independent: a decoder trained
toward ``N(0, I)`` shrinks, so its residuals put back part of what it smoothed out, and they
cancel part of what it made up. The covariance of a real window is ``Cov(m) + Cov(r) +
2 Cov(m, r)``; an independent pairing keeps the first two terms and loses the third, so the
synthetic windows have the wrong variance along exactly the directions the decoder gets
wrong (ETTh1's lag-1 autocorrelation and step size, air quality's cross-sensor steps).

Regressing the data on the decoded mean removes the cross term: with ``x = b + W m + r`` fitted
by least squares, ``r`` is uncorrelated with ``m``, and ``b + W m_i + r_j`` has the data's
covariance whenever ``m_i`` is distributed like the training means. The map is one
``T x T`` matrix per feature (every step of a feature's decoded window predicts every step of
its data window) plus an offset, fitted by least squares on the training windows'
posterior-mean decodings, restricted to the principal directions in which the decoded windows
vary (:data:`MIN_VARIANCE_SHARE`): the rest, the decoder's least reliable detail, is left to
the residual. ``benchmarks/mean_calibration.py`` measures its effect.

A model with conditions of a few distinct values gets one map per value
(:class:`ConditionalMeanCalibration`, see ``condition_groups.py``).
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from tsvae.legacy.condition_groups import (
    MAX_CONDITION_GROUPS,
    MIN_GROUP_WINDOWS,
    ByCondition,
    matching_rows,
)

logger = logging.getLogger(__name__)

#: The map reads a feature's decoded window only along its principal directions with at
#: least this share of the average variance per step; the directions in which decoded windows
#: barely vary (the decoder's least reliable detail) are left to the residual. Chosen on the
#: training blocks of ETTh1, air quality and Stocks (``benchmarks/mean_calibration.py``,
#: docs/benchmarks.md): 1 lowered the detection score on all three, 0.3 not on air quality. A
#: ridge penalty instead of the cut lowered it as much but shrank the output's spread (by 5%
#: on a plain sine), as the ridge leaves the residual correlated with the mean.
MIN_VARIANCE_SHARE = 1.0
#: Largest gain of the map (its singular values are clipped here). Maps fitted to trained
#: decoders stay below it (at most 1.05 on ETTh1, 1.15 on air quality); a decoder whose
#: windows barely vary (trained for a few epochs) would otherwise be stretched to the data's
#: spread, and with it its rounding (bfloat16 decoding).
MAX_GAIN = 2.0
#: Largest map (features x steps x steps values) fitted: beyond it (very long or very wide
#: windows) the decoded means are used as they are, to keep the model file and the fit small.
MAX_MAP_VALUES = 4_000_000


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


class MeanCalibrationAccumulator:
    """Streams pairs of decoded windows and data windows ``(N, T, F)`` into the moments of
    the per-feature regression, then fits :class:`MeanCalibration` by least squares on the
    decoded windows' principal directions.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> m = rng.normal(size=(500, 4, 2))
    >>> acc = MeanCalibrationAccumulator(4, 2)
    >>> acc.add(m, 1.0 + 2.0 * m)  # the data: twice the decoded mean, shifted by one
    >>> every_direction = acc.fit(share=0.0)
    >>> bool(np.allclose(every_direction.apply(m), 1.0 + 2.0 * m, atol=1e-4))
    True
    """

    def __init__(self, steps: int, n_features: int) -> None:
        self.steps, self.n_features = steps, n_features
        self.n = 0
        self.sum_m = np.zeros((n_features, steps))
        self.sum_x = np.zeros((n_features, steps))
        self.mm = np.zeros((n_features, steps, steps))
        self.mx = np.zeros((n_features, steps, steps))

    @staticmethod
    def fits(steps: int, n_features: int) -> bool:
        """Whether a map of this size is fitted at all (see :data:`MAX_MAP_VALUES`)."""
        return n_features * steps * steps <= MAX_MAP_VALUES

    def add(self, decoded: np.ndarray, target: np.ndarray) -> None:
        """Add decoded windows and the data windows they decode, both ``(N, T, F)``."""
        m = np.asarray(decoded, dtype=np.float64).transpose(2, 0, 1)  # (F, N, T)
        x = np.asarray(target, dtype=np.float64).transpose(2, 0, 1)
        self.n += m.shape[1]
        self.sum_m += m.sum(axis=1)
        self.sum_x += x.sum(axis=1)
        self.mm += m.transpose(0, 2, 1) @ m
        self.mx += m.transpose(0, 2, 1) @ x

    def fit(self, share: float | None = None) -> MeanCalibration | None:
        """The least-squares map on the decoded windows' principal directions whose variance
        is at least ``share`` (default :data:`MIN_VARIANCE_SHARE`) times their average, with
        its gain capped at :data:`MAX_GAIN`; ``None`` if the moments are not finite."""
        share = MIN_VARIANCE_SHARE if share is None else share
        n = max(self.n, 1)
        mean_m, mean_x = self.sum_m / n, self.sum_x / n
        cov_mm = self.mm / n - mean_m[:, :, None] * mean_m[:, None, :]
        cov_mx = self.mx / n - mean_m[:, :, None] * mean_x[:, None, :]
        if not (np.isfinite(cov_mm).all() and np.isfinite(cov_mx).all()):
            logger.warning("the mean calibration's moments are not finite; decoded means are "
                           "used as they are")
            return None
        scale = np.trace(cov_mm, axis1=1, axis2=2) / self.steps  # (F,) mean variance per step
        # Principal-component regression: least squares on the directions in which the
        # decoded windows vary enough; the residual is orthogonal to every kept direction, so
        # a fresh mean plus a random residual keeps the data's variance. A feature the decoder
        # holds constant keeps no direction (its offset is the data's mean window). The
        # relative tolerance keeps directions exactly at the cut (one step, or equal spread).
        variances, vectors = np.linalg.eigh(cov_mm)
        threshold = share * np.maximum(scale, 0.0)[:, None] * (1.0 - 1e-6)
        keep = (variances >= threshold) & (variances > 1e-12)
        inverse = np.where(keep, 1.0 / np.where(keep, variances, 1.0), 0.0)
        weight = (vectors * inverse[:, None, :]) @ vectors.transpose(0, 2, 1) @ cov_mx
        u, gains, vt = np.linalg.svd(weight)
        weight = (u * np.minimum(gains, MAX_GAIN)[:, None, :]) @ vt
        bias = mean_x - np.einsum("fs,fst->ft", mean_m, weight)
        return MeanCalibration(weight, bias)


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


class ConditionalMeanCalibrationAccumulator:
    """One :class:`MeanCalibrationAccumulator` per distinct condition vector; fits a
    :class:`ConditionalMeanCalibration` over the values with at least
    :data:`~tsvae.legacy.condition_groups.MIN_GROUP_WINDOWS` windows, or ``None`` when
    none has them or there are more values than :func:`max_calibrated_groups` (continuous
    conditions; then the decoded means are used as they are).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> m = rng.normal(size=(400, 3, 1))
    >>> labels = np.repeat([[0.0], [1.0]], 200, axis=0)
    >>> acc = ConditionalMeanCalibrationAccumulator(3, 1)
    >>> acc.add(m, m * (1.0 + labels[:, :, None]), labels)  # label 1: twice the mean
    >>> fitted = acc.fit(share=0.0)
    >>> bool(np.allclose(fitted.apply(m, labels), m * (1.0 + labels[:, :, None]), atol=1e-4))
    True
    """

    def __init__(self, steps: int, n_features: int) -> None:
        self.by_condition = ByCondition(lambda i: MeanCalibrationAccumulator(steps, n_features),
                                        limit=max_calibrated_groups(steps, n_features))

    def add(self, decoded: np.ndarray, target: np.ndarray, conditions: np.ndarray) -> None:
        """Add decoded windows, the data windows they decode (``(N, T, F)``) and their
        condition vectors ``(N, condition_dim)``."""
        for accumulator, rows in self.by_condition.rows(conditions):
            accumulator.add(decoded[rows], target[rows])

    def fit(self, share: float | None = None) -> ConditionalMeanCalibration | None:
        """The map of every condition value with enough windows (``share`` as in
        :meth:`MeanCalibrationAccumulator.fit`)."""
        fitted = [(key, acc.fit(share)) for key, acc in self.by_condition.entries()
                  if acc.n >= MIN_GROUP_WINDOWS]
        fitted = [(key, mapping) for key, mapping in fitted if mapping is not None]
        if not fitted:
            return None
        return ConditionalMeanCalibration(np.stack([k for k, _ in fitted]),
                                          [m for _, m in fitted])


def mean_calibration_from_arrays(arrays: dict):
    """The mean calibration stored in a model file's arrays, or ``None`` (files saved
    without one)."""
    if "mean_calibration_group_keys" in arrays:
        return ConditionalMeanCalibration.from_arrays(arrays)
    return MeanCalibration.from_arrays(arrays)
