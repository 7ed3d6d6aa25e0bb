"""Refuse, up front, outputs that cannot fit in memory: a clear error instead of a crash."""

from __future__ import annotations

#: Bytes of one value at each stage of the output: float32 decoded, float64 in original units.
_FLOAT32, _FLOAT64 = 4, 8


def window_output_bytes(n: int, steps: int, n_features: int, as_array: bool) -> int:
    """Peak bytes of ``generate``: the float64 windows, plus the long frame (two int64 index
    columns, one float64 column per feature, built once and consolidated once).

    Examples
    --------
    >>> window_output_bytes(10, 24, 2, as_array=True)
    3840
    """
    values = n * steps * n_features
    if as_array:
        return values * _FLOAT64
    return values * _FLOAT64 + 2 * (values + 2 * n * steps) * _FLOAT64


def series_output_bytes(length: int, n_series: int, n_features: int) -> int:
    """Peak bytes of ``generate_series``: float32 chunks, their float64 copy and the frame.

    Examples
    --------
    >>> series_output_bytes(100, 1, 2)
    4800
    """
    values = length * n_series * n_features
    return values * (2 * _FLOAT32 + 2 * _FLOAT64)


def available_memory() -> int:
    """Bytes of memory the system can give this process now."""
    import psutil

    return int(psutil.virtual_memory().available)


def check_fits_in_memory(n_bytes: int, what: str, advice: str) -> None:
    """Raise ``ValueError`` (not a crash) when ``n_bytes`` exceed the available memory.

    Examples
    --------
    >>> check_fits_in_memory(2**60, "a lot", "ask for less")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Generating a lot needs about 1,073,741,824.0 GiB of memory but ... ask for less.
    """
    available = available_memory()
    if n_bytes > available:
        raise ValueError(
            f"Generating {what} needs about {n_bytes / 2**30:,.1f} GiB of memory but "
            f"{available / 2**30:,.1f} GiB is available; {advice}.")
