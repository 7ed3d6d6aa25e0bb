"""Reading and writing tables (CSV or Parquet by extension), with atomic writes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from tsvae.persistence import atomic_write_bytes

FORMATS = (".csv", ".parquet", ".pq")


def _suffix(path: Path, role: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{role} {str(path)!r} has an unsupported format {suffix or '(none)'!r};"
                         " use a .csv or .parquet file.")
    return suffix


def _read_parquet(path: Path, float32_rows: bool = False):
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path, pre_buffer=False)  # pre-buffering holds the whole file
    dtypes = _plain_numpy_dtypes(parquet)
    if dtypes is None:
        # Strings, categories, nullable integers...: let Arrow convert, one block per column
        # and its buffers freed while converting.
        frame = parquet.read().to_pandas(split_blocks=True, self_destruct=True)
        pa.default_memory_pool().release_unused()
        return frame, None
    # Plain numeric and timestamp columns (the big-data case): fill arrays batch by batch, so
    # reading costs the frame's own size and no Arrow table. With ``float32_rows`` the float
    # columns land in one C-ordered (rows, columns) float32 array, the layout training uses,
    # so that fit needs no second copy.
    n_rows = parquet.metadata.num_rows
    floats = [n for n, d in dtypes.items() if np.dtype(d).kind == "f"] if float32_rows else []
    rows = np.empty((n_rows, len(floats)), dtype=np.float32)
    arrays = {name: (rows[:, floats.index(name)] if name in floats
                     else np.empty(n_rows, dtype=dtype)) for name, dtype in dtypes.items()}
    first = 0
    for batch in parquet.iter_batches(batch_size=1 << 20):
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            arrays[name][first:first + len(batch)] = column.to_numpy(zero_copy_only=False)
        first += len(batch)
    pa.default_memory_pool().release_unused()
    frame = pd.DataFrame(arrays, copy=False)  # copy=False: no consolidation into 2-D blocks
    return frame, ((rows, floats) if floats else None)


def _plain_numpy_dtypes(parquet) -> dict | None:
    """Column -> numpy dtype when every column is float, null-free integer or naive timestamp."""
    import pyarrow as pa

    metadata = parquet.metadata
    dtypes = {}
    for j, field in enumerate(parquet.schema_arrow):
        kind = field.type
        if pa.types.is_integer(kind):
            nulls = [metadata.row_group(g).column(j).statistics for g in
                     range(metadata.num_row_groups)]
            if any(s is None or s.null_count for s in nulls):
                return None
        elif pa.types.is_timestamp(kind):
            if kind.tz is not None:
                return None
        elif not pa.types.is_floating(kind):
            return None
        dtypes[field.name] = kind.to_pandas_dtype()
    if not dtypes or metadata.num_rows == 0:
        return None
    return dtypes


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
    return _read(path, time_col=time_col)[0]


def read_training_table(path):
    """Read a file for ``fit``: ``(frame, float32_rows)``.

    For Parquet files of plain numeric columns, the float columns are read straight into one
    C-ordered ``(rows, columns)`` float32 array (the layout training uses) and the frame's
    columns are views of it; ``float32_rows`` is then ``(array, names)``, else None.
    """
    return _read(path, float32_rows=True)


def _read(path, *, time_col: str | None = None, float32_rows: bool = False):
    path = Path(path)
    suffix = _suffix(path, "Input")
    if not path.is_file():
        raise FileNotFoundError(f"No such file: {str(path)!r}.")
    try:
        frame, rows = ((pd.read_csv(path), None) if suffix == ".csv"
                       else _read_parquet(path, float32_rows=float32_rows))
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
    return frame, rows


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
