"""Condition columns (labels, static attributes) -> the vectors a conditional VAE reads.

Categorical columns (strings, categories, booleans, integers with at most
``MAX_INTEGER_CATEGORIES`` distinct values) are one-hot encoded; other numeric columns are
standardised with the training mean and standard deviation. The encoding is plain JSON.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tsvae.data.schema import MAX_LEVELS

#: Integer columns with at most this many distinct values are categories (class labels,
#: machine types); more distinct integers are treated as a number (an age, a size).
MAX_INTEGER_CATEGORIES = 20
#: A numeric condition column with at most this many distinct training values keeps them
#: (``levels``): a code decodes back to exactly the value it was encoded from. The same limit
#: as a feature column's levels (``schema.MAX_LEVELS``): a model file keeps a short list of
#: settings, never a column of training values (beyond it, each code decodes to the shortest
#: decimal that encodes to it: 7.3, not 7.2999997).
MAX_NUMERIC_LEVELS = MAX_LEVELS


def _python(value):
    """A JSON-safe Python scalar for a category value."""
    return value.item() if isinstance(value, np.generic) else value


def _is_categorical(column: pd.Series) -> bool:
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        return True
    return (pd.api.types.is_integer_dtype(dtype)
            and column.nunique(dropna=True) <= MAX_INTEGER_CATEGORIES)


def _numeric_dtype(dtype) -> str:
    """The numpy dtype name a numeric condition column comes back in (nullable and extension
    integers and floats as their numpy counterparts)."""
    try:
        dtype = np.dtype(getattr(dtype, "numpy_dtype", dtype))
    except TypeError:
        return "float64"
    return dtype.name if dtype.kind in "iuf" else "float64"


def _mean_std(values: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation (1.0 for a constant) of finite float64 ``values``; values
    near the float64 limits (1e300, 1e-300) are scaled first, where the squares overflow to
    an infinite or underflow to a zero deviation (codes then all 0, or NaN)."""
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        mean, std = float(values.mean()), float(values.std())
        if not (np.isfinite(mean) and np.isfinite(std)) or std * std < np.finfo(float).tiny:
            scale = float(np.abs(values).max()) or 1.0
            unit = values / scale
            mean, std = float(unit.mean()) * scale, float(unit.std()) * scale
    return mean, (std or 1.0)


def _in_dtype(values: np.ndarray, given: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Asked-for numbers (``values`` as given, ``given`` as float64) in a numeric condition
    column's training ``dtype`` where it holds every one of them (an integer exactly, beyond
    2**53 too; a float to its own precision: not 2.5 in an integer column, nor 1e300 or 1e-300
    in a float32 one), else as float64."""
    if dtype.kind == "f":
        with np.errstate(over="ignore", under="ignore"):
            cast = given.astype(dtype)
            held = np.isfinite(cast) & (np.abs(cast - given) <= np.finfo(dtype).eps
                                        * np.abs(given))
        return cast if held.all() else given
    info = np.iinfo(dtype)
    if values.dtype.kind in "iub":
        if len(values) and (int(values.min()) < info.min or int(values.max()) > info.max):
            return given
        return values.astype(dtype)
    if values.dtype.kind == "f":
        whole = ((given == np.floor(given)) & (given >= info.min)
                 & (given < float(info.max) + 1))  # float(2**63 - 1) is 2**63
        return given.astype(dtype) if whole.all() else given
    numbers = []  # Python integers (beyond 64 bits too), numpy scalars, mixed
    for value in values:
        if isinstance(value, bool | np.bool_ | int | np.integer):
            number = int(value)
        else:
            number = float(value)
            if not number.is_integer():
                return given
            number = int(number)
        if not info.min <= number <= info.max:
            return given
        numbers.append(number)
    return np.array(numbers, dtype=dtype)


def _decode_number(encoded: np.ndarray, mean: float, std: float,
                   levels: list | None = None) -> np.ndarray:
    """Numbers (float64) of standardised float32 codes, each the value it was encoded from
    rather than that plus float32 error: the training value (of ``levels``) that
    :meth:`ConditionEncoder.transform` encodes to exactly that code, else the value with the
    fewest decimal places that does (0.0, 7.3; 7e14, not 699999996669469: from the largest
    value's leading digit to 15 places), else the plain inverse."""
    encoded = np.asarray(encoded, dtype=np.float32)
    plain = encoded.astype(np.float64) * std + mean
    result, done = plain.copy(), np.zeros(len(plain), dtype=bool)
    largest = float(np.abs(plain[np.isfinite(plain)]).max(initial=0.0))
    first = -int(np.floor(np.log10(largest))) if largest >= 1.0 else 0
    with np.errstate(over="ignore", invalid="ignore"):
        if levels:
            known = np.asarray(levels, dtype=np.float64)
            codes = ((known - mean) / std).astype(np.float32)
            order = np.argsort(codes, kind="stable")
            codes, known = codes[order], known[order]
            at = np.minimum(np.searchsorted(codes, encoded), len(codes) - 1)
            done = codes[at] == encoded
            result[done] = known[at[done]]
        for decimals in range(first, 16):
            if done.all():
                break
            candidate = np.round(plain, decimals)
            same = ((candidate - mean) / std).astype(np.float32) == encoded
            fresh = same & ~done
            result[fresh] = candidate[fresh]
            done |= same
    return result + 0.0  # -0.0 -> 0.0


class ConditionEncoder:
    """Encode condition columns into float32 vectors; remembers what it saw in training.

    Examples
    --------
    >>> import pandas as pd
    >>> enc = ConditionEncoder().fit(pd.DataFrame({"machine": ["A", "B", "A"],
    ...                                            "load": [1.0, 2.0, 3.0]}))
    >>> enc.columns, enc.dim
    (['machine', 'load'], 3)
    >>> enc.transform({"machine": "B", "load": 2.0}).tolist()
    [[0.0, 1.0, 0.0]]
    """

    def __init__(self) -> None:
        self.columns: list[str] = []
        #: column -> sorted category values (categorical) or None (numeric)
        self.categories: dict[str, list | None] = {}
        self.mean: dict[str, float] = {}
        self.std: dict[str, float] = {}
        #: numeric column -> the training column's dtype (``"int64"``, ``"float32"``...), given
        #: back on output; files without it: float64
        self.dtypes: dict[str, str] = {}
        #: numeric column -> its sorted distinct training values (at most
        #: ``MAX_NUMERIC_LEVELS``; absent beyond, and in files without them)
        self.levels: dict[str, list[float]] = {}

    @property
    def dim(self) -> int:
        """Length of one condition vector."""
        return sum(len(c) if c is not None else 1 for c in self.categories.values())

    def fit(self, frame: pd.DataFrame) -> ConditionEncoder:
        self.columns = [str(c) for c in frame.columns]
        for name in frame.columns:
            column = frame[name]
            if column.isna().any():
                raise ValueError(f"Condition column {name!r} has missing values; every window "
                                 "needs a condition value. Fill or drop them first.")
            if _is_categorical(column):
                values = pd.unique(column)
                try:
                    values = sorted(values)
                except TypeError:  # mixed types: keep first-seen order
                    values = list(values)
                self.categories[str(name)] = [_python(v) for v in values]
            else:
                values = column.to_numpy(dtype=np.float64)
                if not np.isfinite(values).all():
                    raise ValueError(f"Condition column {name!r} has infinite values.")
                self.categories[str(name)] = None
                self.dtypes[str(name)] = _numeric_dtype(column.dtype)
                distinct = np.unique(values)
                if len(distinct) <= MAX_NUMERIC_LEVELS:
                    self.levels[str(name)] = distinct.tolist()
                self.mean[str(name)], self.std[str(name)] = _mean_std(values)
        return self

    def allowed(self, name: str) -> str:
        """Human-readable description of the values a condition column accepts."""
        cats = self.categories[name]
        return f"one of {cats!r}" if cats is not None else "a finite number"

    def as_frame(self, conditions) -> pd.DataFrame:
        """A dict (one condition for every window) or a frame of rows, checked for columns."""
        if isinstance(conditions, dict):
            for key, value in conditions.items():
                if not pd.api.types.is_scalar(value):
                    raise ValueError(
                        f"conditions[{key!r}] must be one value (a string, number or bool) "
                        f"for every window, got a {type(value).__name__}; pass a DataFrame "
                        "with one row per window to vary it.")
            frame = pd.DataFrame({k: [v] for k, v in conditions.items()})
        elif isinstance(conditions, pd.DataFrame):
            frame = conditions
        elif isinstance(conditions, pd.Series):
            frame = conditions.to_frame().T.reset_index(drop=True)
        else:
            raise TypeError("conditions must be a dict {column: value} or a DataFrame with one "
                            f"row per window, got {type(conditions).__name__}.")
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise ValueError(
                f"conditions lack column {missing[0]!r}; the model was fitted on conditions "
                + ", ".join(f"{c!r} ({self.allowed(c)})" for c in self.columns) + ".")
        extra = [c for c in frame.columns if c not in self.columns]
        if extra:
            raise ValueError(f"conditions have unknown column {extra[0]!r}; the model's "
                             f"conditions are {self.columns!r}.")
        return frame[self.columns].reset_index(drop=True)

    def transform(self, conditions) -> np.ndarray:
        """Condition vectors ``(rows, dim)`` float32 of a dict or a frame of condition rows."""
        frame = self.as_frame(conditions)
        parts = []
        for name in self.columns:
            column = frame[name]
            cats = self.categories[name]
            if cats is None:
                try:
                    values = column.to_numpy(dtype=np.float64)
                except (TypeError, ValueError):
                    raise ValueError(f"Condition {name!r} must be a number, got "
                                     f"{column.iloc[0]!r}.") from None
                if not np.isfinite(values).all():
                    raise ValueError(f"Condition {name!r} has a missing or infinite value.")
                parts.append(((values - self.mean[name]) / self.std[name])[:, None]
                             .astype(np.float32))
                continue
            codes = pd.Categorical(column, categories=cats).codes
            if (codes < 0).any():
                value = _python(column.iloc[int(np.argmax(codes < 0))])
                raise ValueError(f"Condition {name!r} has value {value!r}, which the model "
                                 f"never saw in training; allowed values: {cats!r}.")
            parts.append(np.eye(len(cats), dtype=np.float32)[codes])
        return np.concatenate(parts, axis=1).astype(np.float32)

    def dtype(self, name: str) -> np.dtype:
        """The dtype a numeric condition column is given back in (its training dtype)."""
        return np.dtype(self.dtypes.get(name, "float64"))

    def values(self, conditions) -> pd.DataFrame:
        """The condition values asked for (a dict or a frame of rows, as :meth:`transform`
        takes), as the output frame carries them: a number exactly as given, in the column's
        training dtype (an integer column's only where it holds the value: 2.5 stays 2.5), a
        category as the training data had it."""
        frame = self.as_frame(conditions)
        self.transform(frame)  # the same checks and messages as the encoding
        columns = {}
        for name in self.columns:
            cats = self.categories[name]
            if cats is None:
                # An integer column takes 2.5 as 2.5 (float64), not 2; 2**53 + 1 exactly.
                columns[name] = _in_dtype(frame[name].to_numpy(),
                                          frame[name].to_numpy(dtype=np.float64),
                                          self.dtype(name))
            else:
                codes = pd.Categorical(frame[name], categories=cats).codes
                columns[name] = pd.Series(np.asarray(cats, dtype=object)[codes]).infer_objects()
        return pd.DataFrame(columns)

    def inverse_transform(self, vectors: np.ndarray) -> pd.DataFrame:
        """Condition values (one row per vector) of encoded vectors.

        A number comes back as the training value that encodes to the same float32 code (the
        value a training window had, not it plus float32 error: 0.0, not -1.19e-07), or else
        the shortest decimal that does, in the column's training dtype.
        """
        columns, first = {}, 0
        for name in self.columns:
            cats = self.categories[name]
            if cats is None:
                values = _decode_number(vectors[:, first], self.mean[name], self.std[name],
                                        self.levels.get(name))
                dtype = self.dtype(name)
                columns[name] = (np.rint(values) if dtype.kind in "iu" else values).astype(dtype)
                first += 1
            else:
                codes = vectors[:, first:first + len(cats)].argmax(axis=1)
                # Levels are kept as a list (JSON in model files); infer_objects gives
                # integer, float and bool labels their dtype back instead of object.
                columns[name] = pd.Series(np.asarray(cats, dtype=object)[codes]).infer_objects()
                first += len(cats)
        return pd.DataFrame(columns)

    def describe(self, vector: np.ndarray) -> dict:
        """``{column: value}`` of one encoded vector, for messages."""
        return {k: _python(v) for k, v in
                self.inverse_transform(vector[None]).iloc[0].to_dict().items()}

    def to_dict(self) -> dict:
        return {"columns": self.columns, "categories": self.categories, "mean": self.mean,
                "std": self.std, "dtypes": self.dtypes, "levels": self.levels}

    @classmethod
    def from_dict(cls, state: dict) -> ConditionEncoder:
        encoder = cls()
        encoder.columns = list(state["columns"])
        encoder.categories = dict(state["categories"])
        encoder.mean, encoder.std = dict(state["mean"]), dict(state["std"])
        encoder.dtypes = dict(state.get("dtypes") or {})  # files before it: float64
        encoder.levels = dict(state.get("levels") or {})
        return encoder
