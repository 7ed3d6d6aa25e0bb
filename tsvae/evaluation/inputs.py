"""Bring real and synthetic data to two window arrays on one scale, with clear errors."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tsvae.data.long_format import (
    SAMPLE_COL,
    STEP_COL,
    frame_to_windows,
    is_long_format,
    with_index_columns,
)
from tsvae.data.validate import validate_frame, validate_windows
from tsvae.data.windows import sliding_windows

MIN_WINDOWS = 10


@dataclass
class EvalOptions:
    """Settings shared by every check: sample sizes and classifier budgets.

    ``fast`` lowers every budget for a quick look (about 10x less work).
    """

    fast: bool = False
    max_windows: int = 2_000
    discriminative_iterations: int = 2_000
    predictive_iterations: int = 5_000
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))
    seed: int = 0
    #: scaled windows of a baseline generator (``evaluate(..., baseline="var")``) and its name
    baseline: np.ndarray | None = None
    baseline_name: str = ""
    #: filled by the detection checks: name -> score, interval, floor, baseline
    details: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.fast:
            self.max_windows = min(self.max_windows, 500)
            self.discriminative_iterations = min(self.discriminative_iterations, 300)
            self.predictive_iterations = min(self.predictive_iterations, 500)


@dataclass
class EvalData:
    """Real and synthetic windows ``(N, T, F)``, raw and min-max scaled by the real data."""

    real: np.ndarray
    synthetic: np.ndarray
    columns: list[str]
    holdout: np.ndarray | None = None
    low: np.ndarray = field(init=False)
    span: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        flat = self.real.reshape(-1, self.real.shape[2])
        self.low = flat.min(axis=0)
        span = flat.max(axis=0) - self.low
        self.span = np.where(span > 0, span, 1.0)

    def scale(self, windows: np.ndarray) -> np.ndarray:
        """Min-max scale by the real data (the TimeGAN protocol), in float32."""
        return ((windows - self.low) / self.span).astype(np.float32)

    @property
    def real_scaled(self) -> np.ndarray:
        return self.scale(self.real)

    @property
    def synthetic_scaled(self) -> np.ndarray:
        return self.scale(self.synthetic)


def _feature_columns(frame: pd.DataFrame) -> list:
    skip = {SAMPLE_COL, STEP_COL}
    return [c for c in frame.columns if c not in skip]


def check_not_empty(data, name: str) -> None:
    """Refuse a frame without rows or an array without windows, naming ``name``.

    Examples
    --------
    >>> check_not_empty(pd.DataFrame(columns=["sample", "step", "x"]), "synthetic")
    Traceback (most recent call last):
    ...
    ValueError: synthetic is empty (a frame with 0 rows); ...
    """
    if isinstance(data, pd.DataFrame):
        empty, what = len(data) == 0, "a frame with 0 rows"
    else:
        shape = getattr(data, "shape", None)
        empty = shape is not None and (len(shape) == 0 or shape[0] == 0)
        what = f"an array of shape {tuple(shape) if shape is not None else ()}"
    if empty:
        raise ValueError(f"{name} is empty ({what}); evaluate needs at least {MIN_WINDOWS} "
                         f"windows on each side: check the file or the call that produced "
                         f"the {name} data (e.g. model.generate(1000)).")


def to_windows(data, name: str, n_past: int | None, columns: list | None = None):
    """Windows ``(N, T, F)`` (float64) and column names (as in the frame) from an array or
    frame."""
    check_not_empty(data, name)
    if n_past is not None and (isinstance(n_past, bool) or not isinstance(n_past, int | np.integer)
                               or n_past < 1):
        raise ValueError(f"n_past must be a positive integer (the window length), got {n_past!r}.")
    if isinstance(data, pd.DataFrame):
        data = with_index_columns(data)
        if is_long_format(data):
            # Without explicit columns, non-numeric ones (a panel's id column) are not features;
            # frame_to_windows rejects non-numeric columns that were asked for.
            cols = columns or [c for c in _feature_columns(data)
                               if pd.api.types.is_numeric_dtype(data[c].dtype)]
            windows = frame_to_windows(data, list(cols))
        else:
            if n_past is None:
                raise ValueError(f"{name} is a series frame: pass n_past, the window length "
                                 "to cut it into.")
            cols = validate_frame(data, columns=columns, min_length=n_past).columns
            # Windows of the float64 values: the validity checks compare values exactly (a
            # level 0.1 or a count of 30,000,001 is not what its float32 cast is).
            values = np.empty((len(data), len(cols)))
            for j, column in enumerate(cols):
                values[:, j] = data[column].to_numpy(dtype=np.float64)
            windows = sliding_windows(values, n_past)
        windows = validate_windows(windows, dtype=np.float64)
        return windows, list(cols)
    if isinstance(data, np.ndarray) or hasattr(data, "__array__"):
        windows = validate_windows(data, dtype=np.float64)
        if columns is not None and len(columns) != windows.shape[2]:
            raise ValueError(f"{name} has {windows.shape[2]} features but the real data has "
                             f"{len(columns)}.")
        cols = columns or [f"feature_{j}" for j in range(windows.shape[2])]
        return windows, list(cols)
    raise TypeError(f"{name} must be a DataFrame or an array (N, T, F), got "
                    f"{type(data).__name__}.")


def prepare(real, synthetic, n_past: int | None, holdout=None) -> EvalData:
    """Validate both sides and check that they describe the same features and length."""
    real_w, columns = to_windows(real, "real", n_past)
    if n_past is None:
        n_past = real_w.shape[1]
    synth_cols = columns if not isinstance(synthetic, pd.DataFrame) else None
    if isinstance(synthetic, pd.DataFrame):
        synthetic = with_index_columns(synthetic)
        missing = [c for c in columns if c not in synthetic.columns]
        if missing:
            raise ValueError(f"synthetic is missing column {missing[0]!r}; real and synthetic "
                             f"need the same features ({columns!r}).")
        synth_cols = columns
    synth_w, _ = to_windows(synthetic, "synthetic", n_past, synth_cols)
    if synth_w.shape[1] != real_w.shape[1]:
        raise ValueError(f"real windows have {real_w.shape[1]} steps but synthetic ones have "
                         f"{synth_w.shape[1]}; generate windows of the same length or set "
                         "n_past to match.")
    for label, windows in (("real", real_w), ("synthetic", synth_w)):
        if len(windows) < MIN_WINDOWS:
            raise ValueError(f"{label} has {len(windows)} window(s); the checks need at least "
                             f"{MIN_WINDOWS}.")
    holdout_w = None
    if holdout is not None:
        holdout_w, _ = to_windows(holdout, "holdout", real_w.shape[1], columns)
    # Rows and figures label features by text; lookups above used the names as they are.
    return EvalData(real_w, synth_w, [str(c) for c in columns], holdout_w)


def subsample(windows: np.ndarray, limit: int, rng: np.random.Generator) -> np.ndarray:
    """At most ``limit`` windows, drawn without replacement."""
    if len(windows) <= limit:
        return windows
    return windows[np.sort(rng.choice(len(windows), limit, replace=False))]
