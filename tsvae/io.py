"""Reading and writing tables (CSV or Parquet by extension), with atomic writes."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from tsvae.persistence import atomic_write_bytes

FORMATS = (".csv", ".parquet", ".pq")


def _suffix(path: Path, role: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{role} {str(path)!r} has an unsupported format {suffix or '(none)'!r};"
                         " use a .csv or .parquet file.")
    return suffix


def read_table(path, *, time_col: str | None = None) -> pd.DataFrame:
    """Read a CSV or Parquet file; ``time_col`` (if given) becomes a DatetimeIndex.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_text("t,v\\n2024-01-01,1\\n2024-01-02,2\\n")
    >>> read_table(p, time_col="t").index.dtype.kind
    'M'
    """
    path = Path(path)
    suffix = _suffix(path, "Input")
    if not path.is_file():
        raise FileNotFoundError(f"No such file: {str(path)!r}.")
    try:
        frame = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError,
            ValueError) as err:
        raise ValueError(f"Could not read {str(path)!r} as {suffix[1:]}: {err}") from None
    if time_col is not None:
        if time_col not in frame.columns:
            raise ValueError(f"--time-col {time_col!r} is not a column of {str(path)!r}; "
                             f"columns: {list(frame.columns)!r}.")
        try:
            frame[time_col] = pd.to_datetime(frame[time_col])
        except (ValueError, TypeError) as err:
            raise ValueError(f"Column {time_col!r} of {str(path)!r} is not dates: {err}") from None
        frame = frame.set_index(time_col)
    return frame


def write_table(frame: pd.DataFrame, path, *, overwrite: bool = False, index: bool = False
                ) -> Path:
    """Write atomically (temporary file, then rename); refuse to replace unless ``overwrite``."""
    path = Path(path)
    suffix = _suffix(path, "Output")
    check_writable(path, overwrite=overwrite)
    buffer = io.BytesIO()
    if suffix == ".csv":
        buffer.write(frame.to_csv(index=index).encode("utf-8"))
    else:
        frame.to_parquet(buffer, index=index)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def check_writable(path, *, overwrite: bool) -> None:
    """Refuse an existing file (unless ``overwrite``) or a missing parent folder."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise ValueError(f"{str(path)!r} already exists; pass --overwrite (overwrite=True) to "
                         "replace it.")
    if not path.parent.exists():
        raise ValueError(f"Folder {str(path.parent)!r} does not exist; create it first.")
