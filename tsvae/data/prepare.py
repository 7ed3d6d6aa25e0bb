"""From the user's data to one scaled array plus the window split: what ``fit`` trains on."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tsvae.data.long_format import check_reserved_names
from tsvae.data.scaling import make_scaler
from tsvae.data.schema import OutputSchema
from tsvae.data.validate import validate_frame, validate_windows, window_affine
from tsvae.data.windows import WindowSplit, split_window_starts


@dataclass
class TrainingData:
    """Scaled ``[T, F]`` float32 array (one contiguous copy), window split and metadata."""

    values: np.ndarray
    bounds: list[tuple[int, int]]
    split: WindowSplit
    scaler: object
    columns: list[str]
    series_ids: list
    freq: str | None
    index_name: object
    last_index: list
    from_frame: bool
    #: for each user column, the model feature it is generated from (identical columns share)
    feature_map: np.ndarray | None = None
    #: condition values, one row per row of ``values`` (a window's is its last row's), or None
    conditions: pd.DataFrame | None = None
    #: the user's columns as observed (range, kind, levels): restored on every output
    schema: OutputSchema | None = None


def _split_ready_made(n_rows: int, length: int, val_fraction: float) -> WindowSplit:
    # Ready-made windows are independent: hold out the last windows, not the last rows.
    n_windows = n_rows // length
    n_val = int(round(n_windows * val_fraction)) if n_windows > 1 else 0
    split = split_window_starts([(0, (n_windows - n_val) * length)], length, stride=length,
                                val_fraction=0.0)
    split.val_starts = np.arange(n_windows - n_val, n_windows, dtype=np.int64) * length
    return split


def prepare_training_data(data, *, length: int, stride: int = 1, val_fraction: float = 0.1,
                          scaler: str = "minmax", missing: str = "error", columns=None,
                          time_col: str | None = None, id_col: str | None = None,
                          condition_cols=None, conditions=None) -> TrainingData:
    """Validate, split chronologically, fit the scaler on training rows, scale in place.

    Each column is shifted and scaled in float64 before its float32 copy (see
    ``validate_frame(affine="fit")``), and the scaler fitted on that copy is composed with
    the shift, so it maps original units directly. Memory: one float32 copy of the features
    plus the window start indices (float32 rows read from a Parquet file are used as they are).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> frame = pd.DataFrame({"a": np.arange(100.0)})
    >>> prepared = prepare_training_data(frame, length=10, val_fraction=0.2)
    >>> float(prepared.values.max()) > 1.0  # validation rows lie beyond the training range
    True
    """
    float32_rows = None
    condition_rows = None
    if isinstance(condition_cols, str):
        condition_cols = [condition_cols]
    if isinstance(data, (str, os.PathLike)):
        from tsvae.io import read_training_table

        # Read for this call only, so the float32 array read from the file can be trained on.
        data, float32_rows = read_training_table(data)
    if isinstance(data, pd.DataFrame):
        if conditions is not None:
            raise ValueError("For a DataFrame, name the condition columns with condition_cols=; "
                             "conditions= is for 3-D window arrays (one row per window).")
        series = validate_frame(data, columns=columns, time_col=time_col, id_col=id_col,
                                missing=missing, min_length=length, float32_rows=float32_rows,
                                carry=condition_cols, affine="fit")
        index_name = series.time_index[0].name if isinstance(
            series.time_index[0], pd.DatetimeIndex) else None
        check_reserved_names([*series.columns, *(c for c in (id_col, time_col, index_name)
                                                 if c is not None), *(condition_cols or [])])
        schema = OutputSchema.from_frame(data, series.columns)
        affine = series.affine
        data = float32_rows = None
        condition_rows = series.carried
        values, bounds = series.values, series.bounds
        split = split_window_starts(bounds, length, stride=stride, val_fraction=val_fraction)
        meta = dict(columns=series.columns, series_ids=series.series_ids, freq=series.freq,
                    index_name=series.time_index[0].name,
                    last_index=[index[-1] for index in series.time_index], from_frame=True)
    elif isinstance(data, np.ndarray) or hasattr(data, "__array__"):
        if (columns is not None or time_col is not None or id_col is not None
                or condition_cols is not None):
            raise ValueError("columns, time_col, id_col and condition_cols apply to DataFrames; "
                             "give window arrays their conditions with conditions=.")
        raw = np.asarray(data)
        affine = (window_affine(raw) if raw.ndim == 3 and raw.size and raw.dtype.kind in "fiub"
                  else None)
        windows = validate_windows(raw, window_length=length, affine=affine)
        if conditions is not None:
            condition_rows = _window_conditions(conditions, len(windows)).loc[
                np.repeat(np.arange(len(windows)), length)].reset_index(drop=True)
        values = windows.reshape(-1, windows.shape[2])
        bounds = [(0, len(values))]
        split = _split_ready_made(len(values), length, val_fraction)
        names = [f"feature_{j}" for j in range(windows.shape[2])]
        schema = OutputSchema.from_array(raw, names)
        meta = dict(columns=names,
                    series_ids=[None], freq=None, index_name=None, last_index=[None],
                    from_frame=False)
    else:
        raise TypeError(f"fit expects a pandas DataFrame, a 3-D numpy array or the path of a "
                        f".csv/.parquet file, got {type(data).__name__}.")
    fitted = make_scaler(scaler).fit([values[a:b] for a, b in split.train_bounds])
    fitted.transform(values, inplace=True)  # our own copy, never the user's data
    if affine is not None:
        fitted.compose(*affine)
    feature_map = identical_column_map(values)
    keep = first_columns(feature_map)
    if len(keep) < values.shape[1]:
        values = np.ascontiguousarray(values[:, keep])
    return TrainingData(values=values, bounds=bounds, split=split, scaler=fitted,
                        feature_map=feature_map, conditions=condition_rows, schema=schema,
                        **meta)


def _window_conditions(conditions, n_windows: int) -> pd.DataFrame:
    """Per-window conditions of a window array as a frame (a 1-D array is one column)."""
    if isinstance(conditions, pd.Series):
        frame = conditions.to_frame(name=conditions.name or "condition")
    elif isinstance(conditions, pd.DataFrame):
        frame = conditions
    else:
        array = np.asarray(conditions)
        if array.ndim == 1:
            frame = pd.DataFrame({"condition": array})
        elif array.ndim == 2:
            frame = pd.DataFrame(array, columns=[f"condition_{j}" for j in range(array.shape[1])])
        else:
            raise ValueError(f"conditions must be 1-D or 2-D (one row per window), got shape "
                             f"{array.shape}.")
    if len(frame) != n_windows:
        raise ValueError(f"conditions has {len(frame)} rows but there are {n_windows} windows; "
                         "give one condition row per window.")
    return frame.reset_index(drop=True)


def identical_column_map(values: np.ndarray) -> np.ndarray:
    """Map each column to the first column identical to it on every row.

    Real data has exact copies (energy's ``rv1``/``rv2``, stocks' ``Close``/``Adj_Close``); a
    model that generates each copy separately breaks the equality a classifier spots at once.
    Such columns are modelled once and copied on output.

    Examples
    --------
    >>> import numpy as np
    >>> identical_column_map(np.array([[1., 2., 1.], [3., 4., 3.]])).tolist()
    [0, 1, 0]
    """
    import hashlib

    # Digest keys keep memory at one column at a time; equality is then confirmed exactly.
    seen: dict[bytes, list[int]] = {}
    model_index: list[int] = []
    mapping = []
    for j in range(values.shape[1]):
        column = np.ascontiguousarray(values[:, j])
        key = hashlib.blake2b(column.data, digest_size=16).digest()
        match = next((m for m in seen.get(key, [])
                      if np.array_equal(values[:, model_index[m]], column)), None)
        if match is None:
            match = len(model_index)
            seen.setdefault(key, []).append(match)
            model_index.append(j)
        mapping.append(match)
    return np.asarray(mapping, dtype=np.int64)


def first_columns(feature_map: np.ndarray) -> np.ndarray:
    """User column index of each model feature (the first of each identical group)."""
    _, first = np.unique(feature_map, return_index=True)
    return np.sort(first)
