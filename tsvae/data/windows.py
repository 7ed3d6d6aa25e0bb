"""Windows as strided views of one contiguous array, and the chronological split.

A window is identified by the row where it starts in the stacked ``[T, F]`` array; the
dataset slices ``values[start:start + length]`` on demand, so memory grows with the data and
not with data x window length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def sliding_windows(values: np.ndarray, length: int, stride: int = 1) -> np.ndarray:
    """All windows of ``length`` rows, every ``stride`` rows, as a read-only view.

    Parameters
    ----------
    values : numpy.ndarray
        Array of shape ``(T, F)``.
    length, stride : int
        Window length and step between window starts.

    Returns
    -------
    numpy.ndarray
        View of shape ``(n_windows, length, F)`` sharing memory with ``values``.

    Examples
    --------
    >>> import numpy as np
    >>> base = np.arange(10.0).reshape(5, 2)
    >>> w = sliding_windows(base, 3)
    >>> w.shape, bool(np.shares_memory(w, base))
    ((3, 3, 2), True)
    """
    if values.shape[0] < length:
        raise ValueError(f"Need at least {length} rows for one window, got {values.shape[0]}.")
    view = sliding_window_view(values, length, axis=0)[::stride]
    return view.transpose(0, 2, 1)


@dataclass
class WindowSplit:
    """Start rows of training and validation windows, plus the training rows per series."""

    train_starts: np.ndarray
    val_starts: np.ndarray
    train_bounds: list[tuple[int, int]]


def _starts(first: int, stop: int, length: int, stride: int, dtype) -> np.ndarray:
    return np.arange(first, stop - length + 1, stride, dtype=dtype)


def split_window_starts(
    bounds: list[tuple[int, int]], length: int, *, stride: int = 1, val_fraction: float = 0.1
) -> WindowSplit:
    """Chronological train/validation split inside each series.

    The first ``1 - val_fraction`` of each series' rows train, the rest validate; no window
    crosses the cut or the boundary between two series.

    Examples
    --------
    >>> split = split_window_starts([(0, 100)], 10, val_fraction=0.2)
    >>> int(split.train_starts.max()) + 10 <= 80 <= int(split.val_starts.min())
    True
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction!r}.")
    if stride < 1:
        raise ValueError(f"stride must be a positive integer, got {stride!r}.")
    train, val, train_bounds = [], [], []
    # int32 starts halve the largest array after the data itself (18 million windows: 72 MB).
    dtype = np.int32 if (bounds[-1][1] if bounds else 0) < 2**31 else np.int64
    for start, stop in bounds:
        cut = stop - int(round((stop - start) * val_fraction))
        if cut - start < length:
            # Too short to hold out a validation part: the whole series trains.
            cut = stop
        train.append(_starts(start, cut, length, stride, dtype))
        val.append(_starts(cut, stop, length, stride, dtype))
        train_bounds.append((start, cut))
    train_starts = (train[0] if len(train) == 1 else np.concatenate(train)) if train \
        else np.empty(0, dtype)
    if train_starts.size == 0:
        raise ValueError(
            f"No training window of {length} rows fits in the data; pass longer series or "
            "shorten n_past/n_future."
        )
    return WindowSplit(train_starts, val[0] if len(val) == 1 else np.concatenate(val),
                       train_bounds)
