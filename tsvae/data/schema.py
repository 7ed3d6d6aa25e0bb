"""What the user's columns look like, so synthetic output can look the same.

Fitted at fit time on the feature columns (every row the user passed): each column's observed
minimum and maximum, its kind (``float``, ``integer`` or ``bool``) and dtype, and the observed
values when it has at most :data:`MAX_LEVELS` distinct ones, and its *resolution*: the grid
every value lies on (``step``: a number of decimal places such as 0.01, or a common step
such as 10), None when there is none within :data:`MAX_DECIMALS` decimals. On output, values
in original units are clipped to the observed range, snapped to the observed values, put on
the grid, rounded and given back their dtype, each step switchable (``TimeSeriesVAE(
enforce_bounds=..., enforce_types=..., snap_discrete=...)``; ``restore(resolution=...)``). A
constant column always comes back as exactly its constant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: A column with at most this many distinct observed values is *discrete*: with
#: ``snap_discrete`` every output value becomes the nearest observed value.
MAX_LEVELS = 20
#: Rows looked at first when counting distinct values: a column with more than
#: ``MAX_LEVELS`` values among them is continuous without a pass over all rows.
_PROBE_ROWS = 100_000
KINDS = ("float", "integer", "bool")
#: Most decimal places looked for when detecting a column's resolution.
MAX_DECIMALS = 10


def encode_name(name):
    """A column name as JSON that :func:`decode_name` turns back into the same name.

    Strings stay strings; integers, floats, booleans and tuples get a type tag.

    Examples
    --------
    >>> [decode_name(encode_name(n)) for n in ["a", 3, (1, "b")]]
    ['a', 3, (1, 'b')]
    """
    if isinstance(name, str):
        return name
    if isinstance(name, (bool, np.bool_)):
        return {"bool": bool(name)}
    if isinstance(name, (int, np.integer)):
        return {"int": int(name)}
    if isinstance(name, (float, np.floating)):
        return {"float": float(name)}
    if isinstance(name, tuple):
        return {"tuple": [encode_name(part) for part in name]}
    raise TypeError(f"Column name {name!r} has type {type(name).__name__}; tsvae keeps "
                    "string, integer, float, bool and tuple names. Rename the column.")


def decode_name(value):
    """Inverse of :func:`encode_name` (a plain string is returned as it is)."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict) or len(value) != 1:
        raise ValueError(f"Unreadable column name {value!r} in the model file.")
    (tag, payload), = value.items()
    if tag == "tuple":
        return tuple(decode_name(part) for part in payload)
    return {"int": int, "float": float, "bool": bool}[tag](payload)


@dataclass
class ColumnSchema:
    """One column: its name, kind, dtype, observed range and (if few) observed values."""

    name: object
    kind: str = "float"
    dtype: str = "float64"
    low: float = -np.inf
    high: float = np.inf
    #: sorted observed values when there are at most ``MAX_LEVELS`` of them, else None
    levels: np.ndarray | None = None
    #: the grid every observed value lies on (e.g. 0.01 or 10), None for none or unknown
    step: float | None = None
    #: decimal places of ``step`` (0 for whole steps), None with no step
    decimals: int | None = None

    @property
    def constant(self) -> bool:
        return bool(self.low == self.high)


def _kind(dtype) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    return "float"


def _levels(values: np.ndarray) -> np.ndarray | None:
    """Sorted distinct finite values, or None when there are more than ``MAX_LEVELS``."""
    if len(np.unique(values[:_PROBE_ROWS])) > MAX_LEVELS + 1:  # +1: a NaN counts once
        return None
    # Distinct after the float64 cast: integers beyond 2**53 may collapse into one value.
    unique = np.unique(pd.unique(values).astype(np.float64))
    unique = unique[np.isfinite(unique)]
    return unique if len(unique) <= MAX_LEVELS else None


def _column_schema(name, values: np.ndarray, dtype) -> ColumnSchema:
    """Schema of one column from its values (a view of the user's data: nothing is copied
    but the first ``_PROBE_ROWS`` rows)."""
    if values.dtype.kind == "f":
        if np.isnan(values).all():
            return ColumnSchema(name, _kind(dtype), str(dtype))
        low, high = np.nanmin(values), np.nanmax(values)
    else:
        low, high = values.min(), values.max()
    low, high = float(low), float(high)
    if not (np.isfinite(low) and np.isfinite(high)):
        return ColumnSchema(name, _kind(dtype), str(dtype))
    kind = _kind(dtype)
    step, decimals = resolution(values) if kind != "bool" and low != high else (None, None)
    return ColumnSchema(name, kind, str(dtype), low, high, _levels(values), step, decimals)


def resolution(values: np.ndarray) -> tuple[float | None, int | None]:
    """The grid of a column: ``(step, decimals)`` with every finite value a whole multiple of
    ``step``, which has ``decimals`` decimal places: the fewest decimal places (up to
    :data:`MAX_DECIMALS`) that write every value, and the largest common step at those places.
    ``(None, None)`` when there is no such grid.

    Examples
    --------
    >>> import numpy as np
    >>> resolution(np.array([30.0, 50.0, 1080.0]))
    (10.0, 0)
    >>> resolution(np.array([19.32, 19.5, 21.01]))
    (0.01, 2)
    >>> resolution(np.array([0.25, 0.5, 1.75]))
    (0.25, 2)
    >>> resolution(np.array([1 / 3, 0.5]))
    (None, None)
    >>> resolution(1e12 + np.sin(np.arange(50.0)))   # float64 cannot hold its decimals
    (None, None)
    >>> resolution(np.array([19.32, 1000.25], dtype=np.float32))
    (0.01, 2)
    """
    values = np.asarray(values).ravel()
    # A float32 column's 19.32 is 19.3199997: allow its own rounding error, and look no finer
    # than that error can tell apart (1e12 + x holds no third decimal place in float64).
    eps = np.finfo(values.dtype).eps if values.dtype.kind == "f" else np.finfo(np.float64).eps
    chunks = [values[first:first + _RESOLUTION_CHUNK]
              for first in range(0, len(values), _RESOLUTION_CHUNK)]
    # In float64: an int64 column's abs(-2**63) would overflow back to -2**63.
    largest, n_finite = 0.0, 0
    for part in chunks:
        values64 = _finite64(part)
        largest = max(largest, float(np.abs(values64).max(initial=0.0)))
        n_finite += len(values64)
    if not n_finite:
        return None, None
    for decimals in range(MAX_DECIMALS + 1):
        scale = 10.0 ** decimals
        if largest * scale >= 2.0 ** 53 or 2 * eps * largest * scale > 0.05:
            break
        common = _common_step(chunks, scale, eps)
        if common == 0:
            return None, None
        if common is not None:
            return round(common / scale, decimals), decimals
    return None, None


#: Values checked at a time by :func:`resolution`: its float64 temporaries stay a few
#: megabytes however long the column (20 million rows would otherwise need about 1 GB).
_RESOLUTION_CHUNK = 1 << 20


def _finite64(part: np.ndarray) -> np.ndarray:
    """The finite values of one chunk, as float64."""
    return part.astype(np.float64) if part.dtype.kind in "iu" else \
        part[np.isfinite(part)].astype(np.float64)


def _common_step(chunks: list, scale: float, eps: float) -> int | None:
    """Greatest common divisor of every finite value x ``scale`` when all are whole numbers
    (within the column's rounding error), else None; the first chunk that is not decides."""
    common = 0
    for part in chunks:
        scaled = _finite64(part) * scale
        whole = np.rint(scaled)
        if not np.all(np.abs(scaled - whole) <= 2 * eps * np.maximum(np.abs(scaled), 1.0)):
            return None
        common = int(np.gcd.reduce(np.append(np.abs(whole).astype(np.int64), common)))
    return common


class OutputSchema:
    """The schema of the user's feature columns, applied to every output.

    Parameters
    ----------
    columns : list of ColumnSchema
        One entry per feature column, in the user's order.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame({"count": [0, 2, 5, 3], "level": [0.5, 1.0, 0.5, 1.0]})
    >>> schema = OutputSchema.from_frame(df, ["count", "level"])
    >>> schema.restore(np.array([[-1.2, 0.9], [2.6, 0.6]])).tolist()
    [[0.0, 1.0], [3.0, 0.5]]
    >>> schema.cast(pd.DataFrame({"count": [0.0, 3.0]}))["count"].dtype
    dtype('int64')
    """

    def __init__(self, columns: list[ColumnSchema]) -> None:
        self.columns = list(columns)

    # ------------------------------------------------------------------ fitting
    @classmethod
    def from_frame(cls, frame: pd.DataFrame, features: list) -> OutputSchema:
        """Describe the ``features`` columns of ``frame`` (every row, missing values aside)."""
        columns = []
        for name in features:
            column = frame[name]
            if isinstance(column.dtype, np.dtype) and column.dtype.kind in "fiub":
                values = column.to_numpy()
            else:
                values = column.to_numpy(dtype=np.float64, na_value=np.nan)
            columns.append(_column_schema(name, values, column.dtype))
        return cls(columns)

    @classmethod
    def from_array(cls, values: np.ndarray, names: list) -> OutputSchema:
        """Describe the last axis of an array of rows or windows (its dtype for every column)."""
        values = np.asarray(values)
        flat = values.reshape(-1, values.shape[-1])
        return cls([_column_schema(name, flat[:, j], values.dtype)
                    for j, name in enumerate(names)])

    @classmethod
    def unconstrained(cls, names: list) -> OutputSchema:
        """No bounds, no types, no levels: how model files written before schemas load."""
        return cls([ColumnSchema(name) for name in names])

    @property
    def names(self) -> list:
        return [c.name for c in self.columns]

    @property
    def _lows(self) -> np.ndarray:
        return np.array([c.low for c in self.columns], dtype=np.float64)

    @property
    def _highs(self) -> np.ndarray:
        return np.array([c.high for c in self.columns], dtype=np.float64)

    def _where(self, kind: str) -> list[int]:
        return [j for j, c in enumerate(self.columns) if c.kind == kind and not c.constant]

    # ------------------------------------------------------------------ output
    def restore(self, values: np.ndarray, *, bounds: bool = True, types: bool = True,
                snap: bool = True, resolution: bool = True) -> np.ndarray:
        """Apply the schema to float64 values in original units (last axis = columns), in place.

        Constant columns always become their constant; ``bounds`` clips to the observed
        range, ``snap`` moves discrete columns to the nearest observed value, ``resolution``
        puts each column with a grid on it (the nearest multiple of its ``step``, written with
        its decimal places: 19.32, not 19.320138778686523), ``types`` rounds integer columns
        and turns bool columns into 0/1 (the array stays float).
        """
        # Whole-array operations where possible: per-column loops over strided views cost
        # more than the decoder for small models.
        if bounds:
            np.clip(values, self._lows, self._highs, out=values)
        if snap:
            for j, column in enumerate(self.columns):
                if column.levels is not None and not column.constant:
                    values[..., j] = _nearest(column.levels, values[..., j])
        if resolution:
            for j, column in enumerate(self.columns):
                if column.step is not None and column.kind != "bool" and not column.constant:
                    on_grid = np.rint(values[..., j] / column.step) * column.step
                    values[..., j] = np.round(on_grid, column.decimals)
        if types:
            integer = self._where("integer")
            if len(integer):
                values[..., integer] = np.rint(values[..., integer])
            flags = self._where("bool")
            if len(flags):
                values[..., flags] = values[..., flags] >= 0.5
        constant = [j for j, c in enumerate(self.columns) if c.constant]
        if constant:
            values[..., constant] = self._lows[constant]
        return values

    def cast(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Give integer and bool columns of ``frame`` (already restored) their dtypes back."""
        for column in self.columns:
            if column.kind != "float" and column.name in frame.columns:
                dtype = _output_dtype(column)
                values = frame[column.name]
                if column.kind == "integer":
                    values = values.clip(*_float_range(dtype))
                frame[column.name] = values.astype(dtype)
        return frame

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict:
        """JSON-safe state (names keep their type through :func:`encode_name`)."""
        return {"columns": [{"name": encode_name(c.name), "kind": c.kind, "dtype": c.dtype,
                             "low": _json_float(c.low), "high": _json_float(c.high),
                             "levels": None if c.levels is None else c.levels.tolist(),
                             "step": c.step, "decimals": c.decimals}
                            for c in self.columns]}

    @classmethod
    def from_dict(cls, state: dict) -> OutputSchema:
        """Rebuild from :meth:`to_dict` output. Dicts written before resolutions were
        recorded (no ``step``) put nothing on a grid."""
        return cls([ColumnSchema(decode_name(c["name"]), c["kind"], c["dtype"],
                                 _from_json_float(c["low"], -np.inf),
                                 _from_json_float(c["high"], np.inf),
                                 None if c["levels"] is None
                                 else np.asarray(c["levels"], dtype=np.float64),
                                 *_grid(c, j))
                    for j, c in enumerate(state["columns"])])


def _grid(state: dict, j: int) -> tuple[float | None, int | None]:
    """A column's ``(step, decimals)`` from its dict, checked: a positive finite step with
    0 to :data:`MAX_DECIMALS` decimal places, or neither."""
    step, decimals = state.get("step"), state.get("decimals")
    if step is None and decimals is None:
        return None, None
    ok_step = (isinstance(step, (int, float)) and not isinstance(step, bool)
               and np.isfinite(step) and step > 0)
    ok_decimals = (isinstance(decimals, int) and not isinstance(decimals, bool)
                   and 0 <= decimals <= MAX_DECIMALS)
    if not (ok_step and ok_decimals):
        raise ValueError(f"schema.columns[{j}]: step {step!r} and decimals {decimals!r} must "
                         f"be a positive number and an integer 0-{MAX_DECIMALS}; the model "
                         "file is damaged: refit the model.")
    return float(step), int(decimals)


def _nearest(levels: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The element of sorted ``levels`` nearest to each value (ties to the lower one)."""
    upper = np.clip(np.searchsorted(levels, values), 1, len(levels) - 1) if len(levels) > 1 \
        else np.zeros(values.shape, dtype=np.int64)
    if len(levels) == 1:
        return np.full(values.shape, levels[0])
    lower = upper - 1
    pick_upper = np.abs(levels[upper] - values) < np.abs(values - levels[lower])
    return np.where(pick_upper, levels[upper], levels[lower])


def _output_dtype(column: ColumnSchema):
    if column.kind == "bool":
        return "boolean" if column.dtype == "boolean" else bool
    try:
        return pd.api.types.pandas_dtype(column.dtype)
    except TypeError:
        return np.int64


def _float_range(dtype) -> tuple[float, float]:
    """The widest float64 interval whose values all cast into integer ``dtype``: its maximum
    rounds up to 2**63 for int64, which would wrap to the minimum."""
    info = np.iinfo(np.dtype(getattr(dtype, "numpy_dtype", dtype)))
    low, high = float(info.min), float(info.max)
    if high > info.max:
        high = float(np.nextafter(high, 0.0))
    return low, high


def _json_float(value: float):
    return value if np.isfinite(value) else None


def _from_json_float(value, default: float) -> float:
    return default if value is None else float(value)
