"""Bundled real benchmark data sets and the TimeGAN sines generator.

The CSV files ship inside the package (``tsvae.bundled_data``), so the loaders work from a
regular install and never touch the network. Provenance and licences are in
``datasets/README.md`` of the source tree (shipped beside the CSVs).
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "load_stocks",
    "load_energy",
    "load_air_quality",
    "load_etth1",
    "make_sines",
    "provenance",
]

_PACKAGE = "tsvae.bundled_data"


def _data_dir() -> Traversable:
    """The CSV folder: packaged in a wheel, or ``datasets/`` of a source checkout."""
    try:
        return resources.files(_PACKAGE)
    except ModuleNotFoundError:
        # Imported from a source tree (e.g. the repository root), where the package mapping
        # of the installed distribution does not apply.
        return Path(__file__).resolve().parent.parent / "datasets"


def _read_csv(name: str, date_col: str | None) -> pd.DataFrame:
    with _data_dir().joinpath(name).open("rb") as handle:
        frame = pd.read_csv(handle)
    if date_col is not None:
        frame[date_col] = pd.to_datetime(frame[date_col])
        frame = frame.set_index(date_col)
    return frame


def provenance() -> str:
    """Return the provenance and licence notes of the bundled data sets (markdown).

    Examples
    --------
    >>> from tsvae.datasets import provenance
    >>> "ETTh1" in provenance()
    True
    """
    return _data_dir().joinpath("README.md").read_text(encoding="utf-8")


def load_stocks() -> pd.DataFrame:
    """Google (GOOG) daily prices 2004-2019, the TimeGAN "Stocks" set, oldest first.

    Returns
    -------
    pandas.DataFrame
        3,685 rows x 6 float columns (Open, High, Low, Close, Adj_Close, Volume) with a
        RangeIndex: the source has no dates.

    Examples
    --------
    >>> from tsvae.datasets import load_stocks
    >>> load_stocks().shape
    (3685, 6)
    """
    return _read_csv("stocks.csv", date_col=None)


def load_energy() -> pd.DataFrame:
    """UCI appliances energy data, the TimeGAN/TimeVAE "Energy" set (10-minute steps).

    Returns
    -------
    pandas.DataFrame
        19,734 rows x 28 numeric columns with a DatetimeIndex named ``date``.

    Examples
    --------
    >>> from tsvae.datasets import load_energy
    >>> df = load_energy()
    >>> df.shape, df.index.freqstr is None
    ((19734, 28), True)
    """
    return _read_csv("energy.csv", date_col="date")


def load_air_quality() -> pd.DataFrame:
    """UCI air quality data, hourly, with real gaps (NaN where the source had -200).

    Fit it with ``missing="interpolate"`` (or choose the columns you need).

    Returns
    -------
    pandas.DataFrame
        9,356 rows x 13 numeric columns with a DatetimeIndex named ``date``.

    Examples
    --------
    >>> from tsvae.datasets import load_air_quality
    >>> df = load_air_quality()
    >>> df.shape, bool(df.isna().any().any())
    ((9356, 13), True)
    """
    return _read_csv("air_quality.csv", date_col="date")


def load_etth1() -> pd.DataFrame:
    """ETDataset ETTh1: hourly electricity transformer load and oil temperature.

    Returns
    -------
    pandas.DataFrame
        17,420 rows x 7 numeric columns with a DatetimeIndex named ``date``.

    Examples
    --------
    >>> from tsvae.datasets import load_etth1
    >>> load_etth1().columns[-1]
    'OT'
    """
    return _read_csv("ETTh1.csv", date_col="date")


def make_sines(
    n_samples: int = 10_000,
    length: int = 24,
    n_features: int = 5,
    random_state: int | None = None,
) -> np.ndarray:
    """TimeGAN's "Sines" windows: ``sin(f * t + p)`` with ``f, p ~ U(0, 0.1)``, in [0, 1].

    Parameters
    ----------
    n_samples : int
        Number of windows.
    length : int
        Steps per window.
    n_features : int
        Features per window.
    random_state : int, optional
        Seed; the same seed gives the same array.

    Returns
    -------
    numpy.ndarray
        Array of shape ``(n_samples, length, n_features)``, float32, rescaled by ``(x + 1) / 2``.

    Examples
    --------
    >>> from tsvae.datasets import make_sines
    >>> x = make_sines(100, random_state=0)
    >>> x.shape, bool(0 <= x.min() and x.max() <= 1)
    ((100, 24, 5), True)
    """
    for name, value in (("n_samples", n_samples), ("length", length), ("n_features", n_features)):
        if not isinstance(value, (int, np.integer)) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    rng = np.random.default_rng(random_state)
    freq = rng.uniform(0, 0.1, size=(n_samples, 1, n_features))
    phase = rng.uniform(0, 0.1, size=(n_samples, 1, n_features))
    t = np.arange(length).reshape(1, length, 1)
    return ((np.sin(freq * t + phase) + 1.0) / 2.0).astype(np.float32)
