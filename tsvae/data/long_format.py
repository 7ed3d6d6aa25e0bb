"""Convert between window arrays ``(N, T, F)`` and the long frame ``sample, step, <features>``.

``sample`` and ``step`` are reserved: ``fit`` refuses feature, id and condition columns of
those names (:func:`check_reserved_names`), so a frame that has both (as columns, or as the
names of a two-level index) is generated windows (:func:`is_long_format`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SAMPLE_COL, STEP_COL = "sample", "step"
RESERVED = (SAMPLE_COL, STEP_COL)
#: Output layouts of generated windows: index columns, or a ``(sample, step)`` MultiIndex.
LAYOUTS = ("long", "multiindex")


def check_reserved_names(names) -> None:
    """Refuse column names that generated windows use for their index.

    Examples
    --------
    >>> check_reserved_names(["load", "temperature"])
    >>> check_reserved_names(["step"])
    Traceback (most recent call last):
    ...
    ValueError: Column 'step' has a name tsvae reserves for the window index of generated ...
    """
    for name in names:
        if isinstance(name, str) and name in RESERVED:
            raise ValueError(
                f"Column {name!r} has a name tsvae reserves for the window index of generated "
                f"data ({SAMPLE_COL!r}, {STEP_COL!r}), so it would be overwritten; rename it "
                f"first, e.g. df.rename(columns={{{name!r}: {name + '_value'!r}}})."
            )


def check_layout(layout: str) -> str:
    if layout not in LAYOUTS:
        raise ValueError(f"layout={layout!r} is not known; use one of {list(LAYOUTS)}.")
    return layout


def windows_to_frame(windows: np.ndarray, columns: list, *, extra: dict | None = None,
                     layout: str = "long", times: pd.Index | None = None,
                     time_name: object = "timestamp") -> pd.DataFrame:
    """Frame with one row per (sample, step), features in ``columns`` order.

    Parameters
    ----------
    windows : numpy.ndarray
        ``(n, steps, n_features)``.
    columns : list
        Feature names (any hashable, kept as they are).
    extra : dict, optional
        Column name -> one value per sample (e.g. a series id), placed before the features.
    layout : {"long", "multiindex"}
        ``"long"``: ``sample`` and ``step`` columns and a RangeIndex; ``"multiindex"``: a
        ``(sample, step)`` MultiIndex and only the data columns.
    times : pandas.DatetimeIndex, optional
        One timestamp per step (the same for every sample), as the column ``time_name``
        before the features.

    Examples
    --------
    >>> import numpy as np
    >>> windows_to_frame(np.zeros((2, 3, 1)), ["x"]).shape
    (6, 3)
    >>> windows_to_frame(np.zeros((2, 3, 1)), [0], layout="multiindex").index.names
    FrozenList(['sample', 'step'])
    """
    check_layout(layout)
    n, steps, n_features = windows.shape
    sample, step = np.repeat(np.arange(n), steps), np.tile(np.arange(steps), n)
    data = {}
    if times is not None:
        data[time_name] = pd.DatetimeIndex(times).take(step)
    for name, values in (extra or {}).items():
        # A Series keeps the values' dtype (integer labels stay integers).
        data[name] = pd.Series(values).repeat(steps).reset_index(drop=True)
    flat = windows.reshape(n * steps, n_features)
    frame = pd.DataFrame(data)
    features = pd.DataFrame(flat, columns=pd.Index(columns, tupleize_cols=False))
    frame = pd.concat([frame, features], axis=1) if len(frame.columns) else features
    if layout == "multiindex":
        frame.index = pd.MultiIndex.from_arrays([sample, step], names=[SAMPLE_COL, STEP_COL])
        return frame
    frame.insert(0, STEP_COL, step)
    frame.insert(0, SAMPLE_COL, sample)
    return frame


def _has_index_levels(frame: pd.DataFrame) -> bool:
    return list(frame.index.names) == [SAMPLE_COL, STEP_COL]


def with_index_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """A ``(sample, step)`` MultiIndex frame as the long layout (columns); others unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> multi = windows_to_frame(np.zeros((2, 3, 1)), ["x"], layout="multiindex")
    >>> list(with_index_columns(multi).columns)
    ['sample', 'step', 'x']
    """
    if (isinstance(frame, pd.DataFrame) and _has_index_levels(frame)
            and not {SAMPLE_COL, STEP_COL} <= set(frame.columns)):
        return frame.reset_index()
    return frame


def is_long_format(frame: pd.DataFrame) -> bool:
    """True for generated windows: ``sample`` and ``step`` columns, or a MultiIndex of them."""
    return isinstance(frame, pd.DataFrame) and (
        {SAMPLE_COL, STEP_COL} <= set(frame.columns) or _has_index_levels(frame))


def frame_to_windows(frame: pd.DataFrame, columns: list) -> np.ndarray:
    """Back from the long (or MultiIndex) layout to an array ``(N, T, F)`` in ``columns`` order.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.arange(12.0).reshape(2, 3, 2)
    >>> bool((frame_to_windows(windows_to_frame(w, ["a", "b"]), ["a", "b"]) == w).all())
    True
    """
    frame = with_index_columns(frame)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"Column {missing[0]!r} is missing from the windows frame; it needs {columns!r}."
        )
    repeated = frame.duplicated([SAMPLE_COL, STEP_COL])
    if repeated.any():
        sample, step = frame[[SAMPLE_COL, STEP_COL]].iloc[int(np.argmax(repeated))].tolist()
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
    values = np.empty((len(ordered), len(columns)), dtype=np.float64)
    for j, column in enumerate(columns):
        values[:, j] = ordered[column].to_numpy(dtype=np.float64, na_value=np.nan)
    return values.reshape(len(counts), steps, len(columns))
