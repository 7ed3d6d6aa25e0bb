"""Data layer: validation, invertible scaling, windows as strided views, the DataModule."""

from tsvae.data.scaling import MinMaxScaler, StandardScaler, make_scaler, scaler_from_dict
from tsvae.data.schema import OutputSchema
from tsvae.data.validate import SeriesData, validate_frame, validate_windows
from tsvae.data.windows import WindowSplit, sliding_windows, split_window_starts

__all__ = [
    "MinMaxScaler",
    "StandardScaler",
    "make_scaler",
    "scaler_from_dict",
    "OutputSchema",
    "SeriesData",
    "validate_frame",
    "validate_windows",
    "WindowSplit",
    "sliding_windows",
    "split_window_starts",
]
