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


def training_bytes(n_parameters: int, batch_size: int, steps: int, values_per_step: int
                   ) -> int:
    """Rough peak bytes of training beyond the data: weights, gradients and Adam's two
    moments (float32), and one batch's activations about three times over (forward values,
    their gradients, temporaries); ``values_per_step`` counts what the network holds per
    window and step (the likelihood head's outputs dominate for wide data). Measured peak of
    a 10,000-column fit on 300 rows (whole process): 4.4 GB; this gives 4.6 GB.

    Examples
    --------
    >>> training_bytes(1_000, 128, 24, 100)
    3702400
    """
    return 4 * _FLOAT32 * n_parameters + 3 * _FLOAT32 * batch_size * steps * values_per_step


def check_fits_in_memory(n_bytes: int, what: str, advice: str,
                         action: str = "Generating") -> None:
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
            f"{action} {what} needs about {n_bytes / 2**30:,.1f} GiB of memory but "
            f"{available / 2**30:,.1f} GiB is available; {advice}.")
