"""Check a user's frame (or window array) and turn it into one contiguous float32 array.

Nothing the user passes is modified: every array returned here is a fresh copy.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

MISSING_POLICIES = ("error", "interpolate", "ffill", "drop")


@dataclass
class SeriesData:
    """A validated frame: one contiguous ``[T, F]`` float32 array plus where each series lies.

    Attributes
    ----------
    values : numpy.ndarray
        All series stacked in time order, shape ``(T, F)``, float32, C-contiguous.
    bounds : list of (int, int)
        ``(start, stop)`` rows of each series in ``values``.
    series_ids : list
        The ``id_col`` value of each series (``[None]`` for a single series).
    columns : list
        Feature names in the user's order, with their own types (``0`` stays an int).
    time_index : list of pandas.Index
        Each series' time index (DatetimeIndex, or a RangeIndex when the data had no dates).
    freq : str or None
        Inferred frequency of a DatetimeIndex (``None`` when irregular or absent).
    """

    values: np.ndarray
    bounds: list[tuple[int, int]]
    series_ids: list
    columns: list[str]
    time_index: list[pd.Index] = field(default_factory=list)
    freq: str | None = None
    #: the ``carry`` columns, one row per row of ``values`` (RangeIndex), or None
    carried: pd.DataFrame | None = None
    #: ``(offset, scale)`` float64 per column: ``values`` hold ``(x - offset) / scale``
    affine: tuple[np.ndarray, np.ndarray] | None = None


def _check_missing_policy(missing: str) -> None:
    if missing not in MISSING_POLICIES:
        raise ValueError(
            f"missing={missing!r} is not a known policy; use one of {list(MISSING_POLICIES)}."
        )


def _numeric_columns(frame: pd.DataFrame, columns, exclude: set) -> list:
    if columns is None:
        candidates = [c for c in frame.columns if c not in exclude]
        if not candidates:
            raise ValueError("The frame has no feature columns; pass a frame with numeric columns.")
        # dtypes, not frame[c]: building a Series of a strided column view copies it.
        dtypes = frame.dtypes
        bad = [c for c in candidates if not _is_numeric(dtypes[c])]
        if len(bad) == len(candidates):
            raise ValueError(
                f"The frame has no numeric columns (found {candidates!r}); convert them to "
                "numbers or pass a frame with numeric columns."
            )
        if bad:
            raise TypeError(
                f"Column {bad[0]!r} is not numeric (dtype {dtypes[bad[0]]}); choose the "
                f"feature columns with columns=[...] (numeric columns: "
                f"{[c for c in candidates if c not in bad]!r}), or set time_col/id_col."
            )
        return candidates
    if isinstance(columns, str):
        columns = [columns]
    columns = list(columns)
    if not columns:
        raise ValueError("columns=[] selects nothing; pass at least one numeric column name.")
    if len(set(columns)) != len(columns):
        raise ValueError(f"columns={columns!r} repeats a name; list each column once.")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"Column {missing[0]!r} is not in the frame; available columns: "
            f"{list(frame.columns)!r}."
        )
    clash = [c for c in columns if c in exclude]
    if clash:
        raise ValueError(f"Column {clash[0]!r} is the time, id or a condition column; it cannot "
                         "also be a feature.")
    dtypes = frame.dtypes
    for c in columns:
        if not _is_numeric(dtypes[c]):
            raise TypeError(
                f"Column {c!r} is not numeric (dtype {dtypes[c]}); convert it to numbers "
                "or leave it out of columns=."
            )
    return columns


def _is_numeric(dtype) -> bool:
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)


def _fill_missing(frame: pd.DataFrame, missing: str, label: str) -> pd.DataFrame:
    """Apply the missing-value policy to one series' feature frame (a copy)."""
    nan_mask = frame.isna()
    if not nan_mask.to_numpy().any():
        return frame
    if missing == "error":
        col = nan_mask.any().idxmax()
        row = nan_mask[col].to_numpy().argmax()
        raise ValueError(
            f"Column {col!r}{label} has {int(nan_mask[col].sum())} missing value(s) (first at "
            f"row {frame.index[row]!r}); pass missing='interpolate', 'ffill' or 'drop', or fill "
            "them first."
        )
    if missing == "drop":
        empty = [c for c in frame.columns if nan_mask[c].all()]
        if empty:
            raise ValueError(
                f"Column {empty[0]!r}{label} has no values at all, so missing='drop' would drop "
                "every row; leave it out with columns=[...]."
            )
        return frame.dropna()
    if missing == "interpolate":
        filled = frame.interpolate(method="linear", limit_direction="both")
    else:
        filled = frame.ffill().bfill()
    empty = [c for c in filled.columns if filled[c].isna().all()]
    if empty:
        raise ValueError(
            f"Column {empty[0]!r}{label} has no values at all; leave it out with columns=[...]."
        )
    return filled


#: Rows converted at a time when scaling a column into the float32 array (bounds the float64
#: temporary to 8 MiB per column).
_CHUNK_ROWS = 1 << 20


def column_affine(frame: pd.DataFrame, features: list) -> tuple[np.ndarray, np.ndarray]:
    """Per-column ``(offset, scale)`` in float64 that maps each column onto [0, 1].

    Used before the float32 copy: a column ``1e12 + sin(t)`` cast to float32 first would keep
    steps of 65,536; shifted and divided in float64 it keeps its full variation. Constant or
    empty columns get ``(value, 1)``.

    Examples
    --------
    >>> import pandas as pd
    >>> column_affine(pd.DataFrame({"a": [1e12, 1e12 + 2]}), ["a"])
    (array([1.e+12]), array([2.]))
    """
    offset = np.zeros(len(features))
    scale = np.ones(len(features))
    for j, name in enumerate(features):
        column = frame[name]
        low, high = column.min(), column.max()
        if low is pd.NA or high is pd.NA:
            continue
        low, high = float(low), float(high)
        if not (np.isfinite(low) and np.isfinite(high)):
            continue  # infinite values are reported by the copy
        offset[j] = low
        span = high - low
        if not np.isfinite(span):
            raise ValueError(
                f"Column {name!r} spans from {low:.3g} to {high:.3g}, a range wider than "
                "float64 can hold (1.8e308); divide the column by a constant (or clip it) "
                "first.")
        if span > 0:
            scale[j] = span
    return offset, scale


def _raw_values(column: pd.Series) -> np.ndarray:
    """A column as a numpy array without a copy where possible (pd.NA -> NaN)."""
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "fiu":
        return column.to_numpy()
    return column.to_numpy(dtype=np.float64, na_value=np.nan)


def _float32_copy(frame: pd.DataFrame, features: list, float32_rows=None, affine=None
                  ) -> tuple[np.ndarray, tuple[int, int] | None]:
    """The features as a new C-contiguous float32 ``(rows, columns)`` array (pd.NA -> NaN),
    and the ``(row, column)`` of the first infinite value (None when there is none).

    With ``affine = (offset, scale)`` the array holds ``(x - offset) / scale``, computed in
    float64 a chunk of rows at a time. Filled column by column: ``DataFrame.to_numpy`` builds
    a column-major array first, which the C-order copy would double (measured 2x the data at
    20 million rows). ``float32_rows`` (``(array, names)`` read from a file for us, see
    ``tsvae.io.read_training_table``) is taken as it is when it holds exactly the features
    and no affine map is asked for: no copy at all.
    """
    if float32_rows is not None and affine is None:
        rows, names = float32_rows
        if list(names) == list(features) and len(rows) == len(frame):
            return rows, _first_nonfinite(rows, np.isinf)
    out = np.empty((len(frame), len(features)), dtype=np.float32)
    infinite = None
    for j, name in enumerate(features):
        raw = _raw_values(frame[name])
        for first in range(0, len(raw), _CHUNK_ROWS):
            part = raw[first:first + _CHUNK_ROWS]
            if raw.dtype.kind == "f" and infinite is None:
                bad = np.isinf(part)
                if bad.any():
                    infinite = (first + int(bad.argmax()), j)
            if affine is not None:
                part = (part - affine[0][j]) / affine[1][j]
            out[first:first + len(part), j] = part
    return out, infinite


def _first_nonfinite(values: np.ndarray, test, chunk: int = 1 << 20) -> tuple[int, int] | None:
    """(row, column) of the first value where ``test`` holds, scanning ``chunk`` rows at a
    time so the boolean mask never costs a quarter of the data."""
    for first in range(0, len(values), chunk):
        mask = test(values[first:first + chunk])
        if mask.any():
            row, col = np.argwhere(mask)[0]
            return first + int(row), int(col)
    return None


def parse_timestamps(values, what: str) -> pd.DatetimeIndex:
    """``values`` as a DatetimeIndex; ISO texts whose UTC offsets change along the column
    (``+01:00`` then ``+02:00`` across daylight saving time) are read as UTC instants.

    An offset names no zone, so the instants are kept exactly and shown in UTC; a zone-aware
    column (``Europe/Berlin``) keeps its zone. Raises ValueError naming ``what`` otherwise.

    Examples
    --------
    >>> parse_timestamps(["2024-03-31T01:00+01:00", "2024-03-31T03:00+02:00"], "time")[1]
    Timestamp('2024-03-31 01:00:00+0000', tz='UTC')
    """
    try:
        return pd.DatetimeIndex(pd.to_datetime(values))
    except (ValueError, TypeError) as err:
        if "utc=True" not in str(err):
            raise ValueError(f"{what} cannot be read as dates ({err}); pass parseable "
                             "timestamps.") from None
    logger.warning("%s mixes UTC offsets (daylight saving time?); read as UTC", what)
    return pd.DatetimeIndex(pd.to_datetime(values, utc=True))


def check_column_name(name) -> None:
    """Refuse, before any work, a column name that a model file cannot keep.

    Examples
    --------
    >>> check_column_name(pd.Timestamp("2024-01-01"))
    Traceback (most recent call last):
    ...
    TypeError: Column name Timestamp('2024-01-01 00:00:00') has type Timestamp; ...
    """
    from tsvae.data.schema import encode_name

    if name is None or (isinstance(name, float) and math.isnan(name)):
        raise ValueError(f"A column has a missing name ({name!r}); give every column a "
                         "name.")
    encode_name(name)  # TypeError for names a model file cannot keep


def _check_time_order(index: pd.Index, label: str) -> None:
    if index.hasnans:
        row = int(np.flatnonzero(index.isna())[0])
        raise ValueError(
            f"The time index{label} has a missing timestamp (NaT) at row {row}; drop or fill "
            "that row before fitting."
        )
    if index.has_duplicates:
        dup = index[index.duplicated()][0]
        raise ValueError(
            f"Duplicate timestamp {dup!r}{label}; aggregate or drop duplicates before fitting."
        )
    if not index.is_monotonic_increasing:
        raise ValueError(
            f"Timestamps{label} are not sorted in increasing order; sort the frame by time "
            "(df.sort_index() or df.sort_values(time_col)) before fitting."
        )


def validate_frame(
    frame: pd.DataFrame,
    *,
    columns=None,
    time_col: str | None = None,
    id_col: str | None = None,
    missing: str = "error",
    min_length: int = 1,
    float32_rows: tuple | None = None,
    carry: list | None = None,
    affine=None,
) -> SeriesData:
    """Validate a wide (or long/panel, with ``id_col``) frame and copy it into float32.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per time step; a DatetimeIndex, a ``time_col`` or a plain index.
    columns : list of str, optional
        Feature columns; default all columns but ``time_col`` and ``id_col``.
    time_col, id_col : str, optional
        Column holding timestamps; column identifying each series in a panel.
    missing : {"error", "interpolate", "ffill", "drop"}
        What to do with NaN. Infinite values are always an error.
    min_length : int
        Rows each series needs (``n_past + n_future``).
    carry : list of str, optional
        Columns that are not features but must stay aligned with the rows (condition
        columns): returned in ``SeriesData.carried``, rows dropped with ``missing="drop"``.
    float32_rows : (numpy.ndarray, list), optional
        Only for a frame read from a file for this call (``tsvae.io.read_training_table``):
        the float32 ``(rows, columns)`` array its columns are views of, used instead of a copy.
    affine : "fit" or (numpy.ndarray, numpy.ndarray), optional
        Store ``(x - offset) / scale`` per column, computed in float64 before the float32 cast
        (so large offsets and tiny ranges keep their precision): ``"fit"`` maps each column
        onto [0, 1] (:func:`column_affine`; float32 rows read from a file are kept as they
        are), a pair applies a fitted scaler's offset and scale. Values beyond float32's range
        after this map are refused. Default: the values as they are.

    Returns
    -------
    SeriesData

    Examples
    --------
    >>> import pandas as pd
    >>> data = validate_frame(pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0, 1, 0]}))
    >>> data.values.shape, data.columns
    ((3, 2), ['a', 'b'])
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"Expected a pandas DataFrame (or a 3-D window array), got {type(frame).__name__}."
        )
    _check_missing_policy(missing)
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise ValueError("The frame is empty; pass a frame with rows and numeric columns.")
    if not frame.columns.is_unique:
        dup = frame.columns[frame.columns.duplicated()][0]
        raise ValueError(f"Column name {dup!r} appears twice; give every column a unique name.")
    for name, arg in (("time_col", time_col), ("id_col", id_col)):
        if arg is not None and arg not in frame.columns:
            raise ValueError(
                f"{name}={arg!r} is not a column of the frame; columns: {list(frame.columns)!r}."
            )
    if time_col is not None and time_col == id_col:
        raise ValueError("time_col and id_col must be different columns.")
    carry = list(carry or [])
    for name in carry:
        if name not in frame.columns:
            raise ValueError(f"Condition column {name!r} is not in the frame; columns: "
                             f"{list(frame.columns)!r}.")
    exclude = {c for c in (time_col, id_col) if c is not None} | set(carry)
    features = _numeric_columns(frame, columns, exclude)
    for name in [*features, *carry]:
        check_column_name(name)
    if isinstance(affine, str):
        if affine != "fit":
            raise ValueError(f"affine={affine!r}: use 'fit', an (offset, scale) pair or None.")
        keep_rows = (float32_rows is not None and id_col is None
                     and list(float32_rows[1]) == list(features))
        affine = None if keep_rows else column_affine(frame, features)

    groups: list[tuple[object, pd.DataFrame]]
    if id_col is None:
        groups = [(None, frame)]
    else:
        if frame[id_col].isna().any():
            raise ValueError(f"id_col {id_col!r} has missing values; every row needs a series id.")
        groups = list(frame.groupby(id_col, sort=False))

    parts, bounds, ids, indexes, carried = [], [], [], [], []
    start = 0
    for series_id, group in groups:
        label = "" if series_id is None else f" of series {series_id!r}"
        if time_col is not None:
            index = parse_timestamps(group[time_col], f"time_col {time_col!r}{label}")
            if index.hasnans:
                raise ValueError(f"time_col {time_col!r}{label} has missing timestamps.")
        else:
            index = group.index
        if isinstance(index, pd.DatetimeIndex) or time_col is not None:
            _check_time_order(index, label)
        # One float32 copy of the features; memory stays ~1x the data plus a bool mask.
        values, infinite = _float32_copy(group, features,
                                         float32_rows if id_col is None else None, affine)
        if infinite is not None:
            row, col = infinite
            raise ValueError(
                f"Column {features[col]!r}{label} has an infinite value at row {index[row]!r}; "
                "replace infinite values (e.g. with NaN and a missing= policy) before fitting."
            )
        overflow = _first_nonfinite(values, np.isinf)
        if overflow is not None:
            row, col = overflow
            raise ValueError(
                f"Column {features[col]!r}{label} has the value {group[features[col]].iloc[row]!r}"
                f" at row {index[row]!r}, beyond float32's range (3.4e38) once scaled; divide the "
                "column by a constant (or clip it) first."
            )
        extra = group[carry].reset_index(drop=True) if carry else None
        if _first_nonfinite(values, np.isnan) is not None:
            if missing == "drop" and extra is not None:
                extra = extra[~np.isnan(values).any(axis=1)].reset_index(drop=True)
            filled = _fill_missing(pd.DataFrame(values, columns=features, index=index),
                                   missing, label)
            index = filled.index
            values = filled.to_numpy(dtype=np.float32, copy=True)
        if len(values) < min_length:
            raise ValueError(
                f"Series{label} has {len(values)} usable row(s) but a window needs {min_length} "
                f"(n_past + n_future); pass at least {min_length} rows or shorten n_past."
            )
        if not isinstance(index, pd.DatetimeIndex):
            index = pd.RangeIndex(len(values))
        parts.append(values)
        carried.append(extra)
        bounds.append((start, start + len(values)))
        start += len(values)
        ids.append(series_id)
        indexes.append(index)

    values = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
    values = np.require(values, dtype=np.float32, requirements=["C", "W"])
    return SeriesData(
        values=values,
        bounds=bounds,
        series_ids=ids,
        columns=list(features),
        time_index=indexes,
        freq=_infer_freq(indexes[0]),
        carried=pd.concat(carried, ignore_index=True) if carry else None,
        affine=affine,
    )


def _infer_freq(index: pd.Index) -> str | None:
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 3:
        return None
    if index.freqstr is not None:
        return index.freqstr
    try:
        return pd.infer_freq(index)
    except (TypeError, ValueError):
        return None


def window_affine(array: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature ``(offset, scale)`` in float64 mapping windows' last axis onto [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> window_affine(np.array([[[1e12, 5.0], [1e12 + 4, 5.0]]]))
    (array([1.e+12, 5.e+00]), array([4., 1.]))
    """
    array = np.asarray(array)
    low = array.min(axis=(0, 1)).astype(np.float64)
    span = array.max(axis=(0, 1)).astype(np.float64) - low
    usable = np.isfinite(low) & np.isfinite(span)
    offset = np.where(usable, low, 0.0)
    return offset, np.where(usable & (span > 0), span, 1.0)


def validate_windows(windows, *, window_length: int | None = None, affine=None,
                     dtype=np.float32) -> np.ndarray:
    """Check a 3-D array of ready-made windows ``(n_windows, length, n_features)``.

    Returns a float32 (or ``dtype``), C-contiguous copy. NaN and infinite values are errors. With
    ``affine = (offset, scale)`` (float64 per feature) the copy holds ``(x - offset) / scale``
    computed in float64, and only values beyond float32's range after that are refused.

    Examples
    --------
    >>> import numpy as np
    >>> validate_windows(np.zeros((4, 24, 2)), window_length=24).shape
    (4, 24, 2)
    >>> validate_windows(np.full((1, 2, 1), 1e39), affine=([1e39], [1e39])).ravel().tolist()
    [0.0, 0.0]
    """
    try:
        array = np.asarray(windows)
        if array.dtype.kind not in "fiub":
            array = array.astype(np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"Windows must be a numeric array, could not convert: {err}") from None
    if array.ndim != 3:
        raise ValueError(
            f"Windows must be 3-D (n_windows, length, n_features), got shape {array.shape}."
        )
    if min(array.shape) == 0:
        raise ValueError(f"Windows array is empty (shape {array.shape}).")
    if window_length is not None and array.shape[1] != window_length:
        raise ValueError(
            f"Windows have {array.shape[1]} steps but the model needs {window_length} "
            "(n_past + n_future); cut them to that length or change n_past/n_future."
        )
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        bad = np.argwhere(~np.isfinite(array))[0]
        raise ValueError(
            f"Windows contain NaN or infinite values (first at window {bad[0]}, step {bad[1]}, "
            f"feature {bad[2]}); fill or drop them first."
        )
    if affine is None:
        out = np.array(array, dtype=dtype, copy=True, order="C")
    else:
        offset = np.asarray(affine[0], dtype=np.float64)
        scale = np.asarray(affine[1], dtype=np.float64)
        out = np.empty(array.shape, dtype=np.float32)
        per_chunk = max(1, _CHUNK_ROWS // (array.shape[1] * array.shape[2]))
        for first in range(0, len(array), per_chunk):
            out[first:first + per_chunk] = (array[first:first + per_chunk] - offset) / scale
    if not np.isfinite(out).all():
        bad = np.argwhere(~np.isfinite(out))[0]
        raise ValueError(
            f"Windows have the value {array[tuple(bad)]!r} (window {bad[0]}, step {bad[1]}, "
            f"feature {bad[2]}), beyond float32's range (3.4e38) once scaled; divide that "
            "feature by a constant (or clip it) first."
        )
    return out
