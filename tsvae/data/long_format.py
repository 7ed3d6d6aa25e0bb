"""Convert between window arrays ``(N, T, F)`` and the long frame ``sample, step, <features>``."""

from __future__ import annotations

import numpy as np
import pandas as pd

SAMPLE_COL, STEP_COL = "sample", "step"


def windows_to_frame(windows: np.ndarray, columns: list[str], *, extra: dict | None = None
                     ) -> pd.DataFrame:
    """Long-format frame: one row per (sample, step), features in ``columns`` order.

    ``extra`` maps a column name to one value per sample (e.g. a series id).

    Examples
    --------
    >>> import numpy as np
    >>> windows_to_frame(np.zeros((2, 3, 1)), ["x"]).shape
    (6, 3)
    """
    n, steps, n_features = windows.shape
    data = {SAMPLE_COL: np.repeat(np.arange(n), steps), STEP_COL: np.tile(np.arange(steps), n)}
    for name, values in (extra or {}).items():
        data[name] = np.repeat(np.asarray(values, dtype=object), steps)
    flat = windows.reshape(n * steps, n_features)
    for j, column in enumerate(columns):
        data[column] = flat[:, j]
    return pd.DataFrame(data)


def is_long_format(frame: pd.DataFrame) -> bool:
    """True when the frame has the ``sample`` and ``step`` columns of generated windows."""
    return isinstance(frame, pd.DataFrame) and {SAMPLE_COL, STEP_COL} <= set(frame.columns)


def frame_to_windows(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Back from the long format to an array ``(N, T, F)`` in ``columns`` order.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.arange(12.0).reshape(2, 3, 2)
    >>> bool((frame_to_windows(windows_to_frame(w, ["a", "b"]), ["a", "b"]) == w).all())
    True
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"Column {missing[0]!r} is missing from the windows frame; it needs {columns!r}."
        )
    repeated = frame.duplicated([SAMPLE_COL, STEP_COL])
    if repeated.any():
        sample, step = frame.loc[repeated.idxmax(), [SAMPLE_COL, STEP_COL]].tolist()
        raise ValueError(
            f"The windows frame has step {step!r} of sample {sample!r} "
            "more than once; every (sample, step) pair must appear once."
        )
    ordered = frame.sort_values([SAMPLE_COL, STEP_COL], kind="stable")
    counts = ordered.groupby(SAMPLE_COL, sort=False).size()
    if counts.nunique() != 1:
        raise ValueError("Every sample in the windows frame must have the same number of steps.")
    steps = int(counts.iloc[0])
    for column in columns:
        if not pd.api.types.is_numeric_dtype(ordered[column].dtype):
            raise TypeError(f"Column {column!r} of the windows frame is not numeric.")
    values = ordered[columns].to_numpy(dtype=np.float64)
    return values.reshape(len(counts), steps, len(columns))
