"""Invertible per-column scalers, fitted on the training rows only and saved as JSON."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class _ColumnScaler:
    """Shared machinery: ``scaled = (x - offset_) / scale_`` per column."""

    kind = ""

    def __init__(self) -> None:
        self.offset_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def fit(self, parts: Sequence[np.ndarray]) -> _ColumnScaler:
        """Fit on one or more ``[rows, F]`` arrays (the training rows of each series)."""
        parts = [np.asarray(p) for p in parts if len(p)]
        if not parts:
            raise ValueError("The scaler needs at least one training row.")
        self.offset_, scale = self._statistics(parts)
        # A constant column has zero spread; scaling by 1 keeps it finite and invertible. Any
        # positive spread is kept, however small: a column of amplitude 1e-8 is scaled to
        # [0, 1] like any other (the data arrive shifted and scaled in float64, see
        # ``validate_frame(affine=...)``, so a tiny spread is real, not float32 rounding).
        self.scale_ = np.where((scale > 0) & np.isfinite(scale), scale, 1.0)
        return self

    def compose(self, offset: np.ndarray, scale: np.ndarray) -> _ColumnScaler:
        """Fold an earlier map ``x' = (x - offset) / scale`` into this scaler, in place.

        The scaler was fitted on ``x'``; afterwards it maps the original ``x`` directly:
        ``(x - offset - offset_ * scale) / (scale_ * scale)``, all in float64.

        Examples
        --------
        >>> import numpy as np
        >>> s = MinMaxScaler().fit([np.array([[0.0], [1.0]])]).compose(np.array([1e12]),
        ...                                                            np.array([2.0]))
        >>> s.inverse_transform(np.array([[0.5]])).item()
        1000000000001.0
        """
        self._check_fitted()
        offset = np.asarray(offset, dtype=np.float64)
        scale = np.asarray(scale, dtype=np.float64)
        self.offset_ = offset + self.offset_ * scale
        self.scale_ = self.scale_ * scale
        return self

    def _statistics(self, parts: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _check_fitted(self) -> None:
        if self.scale_ is None:
            raise RuntimeError("The scaler is not fitted; call fit first.")

    def transform(self, values: np.ndarray, *, inplace: bool = False) -> np.ndarray:
        """Scale ``values`` (last axis = features); ``inplace`` avoids a copy for float arrays.

        Float64 input is scaled in float64 (cast to float32 afterwards for the network).
        """
        self._check_fitted()
        out = values if inplace else np.array(values, dtype=np.result_type(values, np.float32))
        out -= self.offset_.astype(out.dtype)
        out /= self.scale_.astype(out.dtype)
        return out

    def inverse_transform(self, values: np.ndarray) -> np.ndarray:
        """Back to original units, computed in float64."""
        self._check_fitted()
        return np.asarray(values, dtype=np.float64) * self.scale_ + self.offset_

    def to_dict(self) -> dict:
        self._check_fitted()
        return {"kind": self.kind, "offset": self.offset_.tolist(), "scale": self.scale_.tolist()}


class MinMaxScaler(_ColumnScaler):
    """Scale each column to [0, 1] on the training rows.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.0, 5.0], [10.0, 5.0]])
    >>> s = MinMaxScaler().fit([x])
    >>> s.transform(x).tolist(), s.inverse_transform(s.transform(x)).tolist()
    ([[0.0, 0.0], [1.0, 0.0]], [[0.0, 5.0], [10.0, 5.0]])
    """

    kind = "minmax"

    def _statistics(self, parts):
        low = np.min([p.min(axis=0) for p in parts], axis=0).astype(np.float64)
        high = np.max([p.max(axis=0) for p in parts], axis=0).astype(np.float64)
        return low, high - low


class StandardScaler(_ColumnScaler):
    """Scale each column to zero mean and unit variance on the training rows.

    Examples
    --------
    >>> import numpy as np
    >>> s = StandardScaler().fit([np.array([[1.0], [3.0]])])
    >>> s.transform(np.array([[1.0], [3.0]])).ravel().tolist()
    [-1.0, 1.0]
    """

    kind = "standard"

    def _statistics(self, parts):
        count = sum(len(p) for p in parts)
        total = np.sum([p.sum(axis=0, dtype=np.float64) for p in parts], axis=0)
        mean = total / count
        sq = np.sum([((p - mean) ** 2).sum(axis=0, dtype=np.float64) for p in parts], axis=0)
        return mean, np.sqrt(sq / count)


SCALERS = {cls.kind: cls for cls in (MinMaxScaler, StandardScaler)}


def make_scaler(kind: str) -> _ColumnScaler:
    """Return an unfitted scaler by name (``"minmax"`` or ``"standard"``)."""
    if kind not in SCALERS:
        raise ValueError(f"scaler={kind!r} is not known; use one of {sorted(SCALERS)}.")
    return SCALERS[kind]()


def scaler_from_dict(state: dict) -> _ColumnScaler:
    """Rebuild a fitted scaler from :meth:`to_dict` output."""
    scaler = make_scaler(state["kind"])
    scaler.offset_ = np.asarray(state["offset"], dtype=np.float64)
    scaler.scale_ = np.asarray(state["scale"], dtype=np.float64)
    return scaler
