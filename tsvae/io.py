"""Reading tables (CSV or Parquet by extension) and writing every output file atomically.

All file writing of tsvae goes through :func:`atomic_write`: tables, model files, JSON and
HTML reports. Its promises (``docs/reliability.md``):

- never a half-written file: the bytes go to a temporary file beside the target, which
  becomes the target only once complete and flushed;
- no overwrite unless asked: without ``overwrite`` the target is created with ``os.link``
  (or ``O_EXCL``), which fails if a file of that name appeared meanwhile: no check-then-replace
  race;
- the umask is honoured: a new file gets ``0o666 & ~umask`` (not ``mkstemp``'s 0600), and a
  replaced file keeps its mode;
- temporary files are removed on any exception, including ``KeyboardInterrupt`` (the CLI turns
  SIGTERM into one), and leftovers of killed processes are removed by the next write of the
  same target (see :func:`remove_stale_temporaries`).
"""

from __future__ import annotations

import csv
import errno
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

FORMATS = (".csv", ".parquet", ".pq")
#: First characters that make a spreadsheet read a cell as a formula (OWASP, "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
#: Largest config file (``tsvae fit --config``): options fit in a few KB.
MAX_CONFIG_BYTES = 1 << 20


def _suffix(path: Path, role: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{role} {str(path)!r} has an unsupported format {suffix or '(none)'!r};"
                         " use a .csv or .parquet file.")
    return suffix


def _read_parquet(path: Path, float32_rows: bool = False):
    import pyarrow as pa
    import pyarrow.parquet as pq

    # Neither pre-buffering nor whole column chunks in memory: pages are streamed through a
    # small buffer (about 300 MB less at the peak for 2 million x 16 floats in row groups of
    # a million rows).
    parquet = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 16)
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
    labels = _unnamed_index_columns(parquet)
    floats = [n for n, d in dtypes.items() if np.dtype(d).kind == "f" and n not in labels
              ] if float32_rows else []
    rows = np.empty((n_rows, len(floats)), dtype=np.float32)
    arrays = {name: (rows[:, floats.index(name)] if name in floats
                     else np.empty(n_rows, dtype=dtype)) for name, dtype in dtypes.items()}
    first = 0
    for batch in parquet.iter_batches(batch_size=1 << 16, use_threads=False):
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            arrays[name][first:first + len(batch)] = column.to_numpy(zero_copy_only=False)
        first += len(batch)
    pa.default_memory_pool().release_unused()
    # Row labels pandas stored (an unnamed index as ``__index_level_0__``) are the index, as
    # pandas reads them back, not a data column that fit would train on.
    index = _pandas_index(parquet, [arrays.pop(name) for name in labels], n_rows)
    frame = pd.DataFrame(arrays, index=index, copy=False)  # no consolidation into 2-D blocks
    return frame, ((rows, floats) if floats else None)


def _unnamed_index_columns(parquet) -> list[str]:
    """The columns in which pandas stored an unnamed index (``__index_level_0__``...); a named
    index is stored as a column of its name and read as one (``time_col`` may name it)."""
    meta = parquet.schema_arrow.pandas_metadata or {}
    names = {c.get("field_name"): c.get("name") for c in meta.get("columns") or []
             if isinstance(c, dict)}
    return [c for c in meta.get("index_columns") or [] if isinstance(c, str)
            and c in parquet.schema_arrow.names and c in names and names[c] is None]


def _pandas_index(parquet, levels: list, n_rows: int) -> pd.Index | None:
    """The index pandas stored: unnamed stored columns (``levels``), or a range in the
    metadata (``df.iloc[5:]`` starts at 5); None for the default 0, 1, 2..."""
    if levels:
        return (pd.Index(levels[0]) if len(levels) == 1
                else pd.MultiIndex.from_arrays(levels))
    stored = (parquet.schema_arrow.pandas_metadata or {}).get("index_columns") or []
    if len(stored) == 1 and isinstance(stored[0], dict) and stored[0].get("kind") == "range":
        try:
            index = pd.RangeIndex(stored[0]["start"], stored[0]["stop"], stored[0]["step"],
                                  name=stored[0].get("name"))
        except (KeyError, TypeError, ValueError):
            return None
        return index if len(index) == n_rows else None
    return None


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
    errors = (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError,
              ValueError)
    try:
        names = _header(path, suffix)
    except errors as err:
        raise ValueError(f"Could not read {str(path)!r} as {suffix[1:]}: {err}") from None
    _check_unique_names(names, path)  # before reading: pandas would rename or drop one
    try:
        frame, rows = ((pd.read_csv(path), None) if suffix == ".csv"
                       else _read_parquet(path, float32_rows=float32_rows))
    except errors as err:
        raise ValueError(f"Could not read {str(path)!r} as {suffix[1:]}: {err}") from None
    if time_col is not None:
        if time_col not in frame.columns:
            raise ValueError(f"--time-col {time_col!r} is not a column of {str(path)!r}; "
                             f"columns: {list(frame.columns)!r}.")
        from tsvae.data.validate import parse_timestamps

        frame[time_col] = parse_timestamps(frame[time_col], f"Column {time_col!r} of "
                                                            f"{str(path)!r}")
        frame = frame.set_index(time_col)
    return frame, rows


def _header(path: Path, suffix: str) -> list:
    """The column names as the file spells them (pandas renames a repeated CSV name)."""
    if suffix != ".csv":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return next(csv.reader(handle), [])


def _check_unique_names(names: list, path: Path) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise ValueError(f"Column name {name!r} appears twice in {str(path)!r}; give every "
                             "column a unique name.")
        seen.add(name)


def _has_carriage_return(frame: pd.DataFrame, index: bool) -> bool:
    """Whether a header or a text cell (index included when written) holds ``\r``: every level
    of a MultiIndex, categories by the ones used, columns by position (names may repeat)."""
    axes = [frame.columns, *([frame.index] if index else [])]
    names = [name for axis in axes for name in axis.names]
    if any(isinstance(name, str) and "\r" in name for name in names):
        return True
    labels = [axis.get_level_values(level) for axis in axes for level in range(axis.nlevels)]
    cells = (frame.iloc[:, j] for j in range(frame.shape[1]))
    return any(_holds_carriage_return(values) for values in (*labels, *cells))


def _holds_carriage_return(values) -> bool:
    """Whether a text value of ``values`` (a Series or an Index) holds ``\r`` once written."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = np.asarray(values.cat.codes if isinstance(values, pd.Series) else values.codes)
        values = values.dtype.categories[np.unique(codes[codes >= 0])]
    if not (pd.api.types.is_object_dtype(values.dtype)
            or pd.api.types.is_string_dtype(values.dtype)):
        return False  # numbers, bools, dates: nothing written holds a carriage return
    return bool(pd.Series(values, copy=False).astype(str).str.contains("\r", regex=False).any())


def escape_formula(value):
    """``value`` with ``'`` in front if a spreadsheet would run it as a formula.

    OWASP's rule for CSV: text starting with ``=``, ``+``, ``-``, ``@``, tab or carriage
    return. Numbers, and text that is a plain number (``-1.5``), are left as they are.

    Examples
    --------
    >>> [escape_formula(v) for v in ["=cmd|' /C calc'!A0", "@SUM(1)", "-1.5", -2.0, "a"]]
    ["'=cmd|' /C calc'!A0", "'@SUM(1)", '-1.5', -2.0, 'a']
    """
    if (isinstance(value, str) and value.startswith(FORMULA_STARTS)
            and not _PLAIN_NUMBER.fullmatch(value)):
        return "'" + value
    return value


def escape_formulas(frame: pd.DataFrame, *, index: bool = False) -> pd.DataFrame:
    """``frame`` with its header and text cells passed through :func:`escape_formula`.

    Numeric columns are shared, not copied; a text column is copied only if a cell changes.
    """
    out = frame.copy(deep=False)
    out.columns = _escaped_index(frame.columns)
    for j in range(out.shape[1]):
        column = out.iloc[:, j]
        if not (pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)
                or isinstance(column.dtype, pd.CategoricalDtype)):
            continue
        escaped = column.astype(object).map(escape_formula)
        if not escaped.equals(column.astype(object)):
            out.isetitem(j, escaped)
    if index:
        out.index = _escaped_index(frame.index)
    return out


def _escaped_index(labels: pd.Index) -> pd.Index:
    if isinstance(labels, pd.MultiIndex):
        return labels.set_names([escape_formula(n) for n in labels.names])
    values = (labels.map(escape_formula) if labels.dtype == object or
              pd.api.types.is_string_dtype(labels) else labels)
    return pd.Index(values, name=escape_formula(labels.name))


def write_table(frame: pd.DataFrame, path, *, overwrite: bool = False, index: bool = False,
                escape: bool = True) -> Path:
    """Write a CSV or Parquet file (by extension) with :func:`atomic_write`.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table to write.
    path : str or path
        Target ``.csv``, ``.parquet`` or ``.pq`` file.
    overwrite : bool
        Replace an existing file (default: refuse it).
    index : bool
        Write the frame's index as a column.
    escape : bool
        CSV only: put ``'`` before header and text cells that a spreadsheet would run as a
        formula (:func:`escape_formula`; names and condition values come from data and
        model files, which may be hostile). Numbers are never changed.

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = write_table(pd.DataFrame({"v": [1, 2]}), p)
    >>> p.read_text()
    'v\\n1\\n2\\n'
    """
    path = Path(path)
    suffix = _suffix(path, "Output")
    if suffix == ".csv":
        if escape:
            frame = escape_formulas(frame, index=index)
        # A lone carriage return in a text cell is not quoted by pandas (its line ends are
        # "\n"), and readers then split the row there; such a table quotes every text cell.
        quoting = csv.QUOTE_NONNUMERIC if _has_carriage_return(frame, index) else None
        # Streamed into the temporary file: no second copy of a big table as one string.
        return atomic_write(path, lambda handle: frame.to_csv(handle, index=index,
                                                              quoting=quoting),
                            overwrite=overwrite)
    return atomic_write(path, lambda handle: frame.to_parquet(handle, index=index),
                        overwrite=overwrite)


def read_config(path):
    """A YAML (``.yaml``/``.yml``) or JSON config file, parsed, at most
    :data:`MAX_CONFIG_BYTES` and without YAML aliases (``*name``: a few hundred bytes of
    nested aliases expand to gigabytes).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "c.yaml"
    >>> _ = p.write_text("a: &x [1, 2]\\nb: *x\\n")
    >>> read_config(p)
    Traceback (most recent call last):
    ...
    ValueError: Config ... is not valid YAML: aliases (*x) are not allowed in a config file; ...
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such config file: {str(path)!r}.")
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise ValueError(f"Config {str(path)!r} is {path.stat().st_size} bytes, above the limit "
                         f"of {MAX_CONFIG_BYTES}; a config holds a few model options.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"Config {str(path)!r} is not UTF-8 text (byte {err.start}).") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            return yaml.load(text, Loader=_loader_without_aliases(yaml))  # noqa: S506 (safe)
        except (yaml.YAMLError, RecursionError) as err:
            raise ValueError(f"Config {str(path)!r} is not valid YAML: "
                             f"{' '.join(str(err).split())}") from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as err:
        raise ValueError(f"Config {str(path)!r} is not valid JSON: {err}") from None


def _loader_without_aliases(yaml):
    class Loader(yaml.SafeLoader):
        """PyYAML's safe loader that refuses every alias (``*name``)."""

        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise yaml.composer.ComposerError(
                    None, None, f"aliases (*{event.anchor}) are not allowed in a config file; "
                    "write the value out", event.start_mark)
            return super().compose_node(parent, index)

    return Loader


# --------------------------------------------------------------------------- output checks
def check_writable(path, *, overwrite: bool) -> None:
    """Refuse a path that cannot become a new output file, before any work is done.

    Parameters
    ----------
    path : str or path
        The output file.
    overwrite : bool
        Whether an existing file may be replaced.

    Raises
    ------
    ValueError
        If ``path`` exists (and not ``overwrite``), is a folder or a dangling symbolic link,
        or its folder is missing, not a folder or not writable. The message names ``path``.

    Examples
    --------
    >>> check_writable("/no/such/folder/out.csv", overwrite=False)
    Traceback (most recent call last):
    ...
    ValueError: Folder '/no/such/folder' does not exist; create it first.
    """
    path = Path(path)
    if path.is_symlink() and not path.exists():
        # exists() follows the link: a dangling one looks free, and the final link step
        # would then fail after all the work, calling the output an existing file.
        raise ValueError(f"{str(path)!r} is a symbolic link to {os.readlink(path)!r}, which "
                         "does not exist; remove the link or choose another output path.")
    if path.is_dir():
        raise ValueError(f"{str(path)!r} is a folder; give a file name for the output.")
    if path.exists() and not overwrite:
        raise ValueError(f"{str(path)!r} already exists; pass --overwrite (overwrite=True) to "
                         "replace it.")
    folder = path.parent
    if not folder.exists():
        raise ValueError(f"Folder {str(folder)!r} does not exist; create it first.")
    if not folder.is_dir():
        raise ValueError(f"{str(folder)!r} is not a folder, so {str(path)!r} cannot be "
                         "written.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"Folder {str(folder)!r} is not writable; choose another output "
                         f"path than {str(path)!r}.")


def check_outputs(outputs, inputs=(), *, overwrite: bool) -> None:
    """Check every output path of a command before it starts working.

    Each output must be writable (:func:`check_writable`), differ from every other output, and
    never be one of the ``inputs`` (with ``overwrite`` the data file would be replaced by
    the output).

    Parameters
    ----------
    outputs : iterable of str or path or None
        Output files (None entries are skipped: an option not given).
    inputs : iterable of str or path or None
        Files the command reads.
    overwrite : bool
        Whether existing outputs may be replaced.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> data = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
    >>> _ = data.write_text("v\\n1\\n")
    >>> check_outputs([data], [data], overwrite=True)
    Traceback (most recent call last):
    ...
    ValueError: Output ... is also an input of this command; choose another output path.
    """
    outputs = [Path(p) for p in outputs if p is not None]
    inputs = [Path(p) for p in inputs if p is not None]
    for i, path in enumerate(outputs):
        check_writable(path, overwrite=overwrite)
        for other in inputs + outputs[:i]:
            if _same_file(path, other):
                role = "an input" if other in inputs else "another output"
                raise ValueError(f"Output {str(path)!r} is also {role} of this command; "
                                 "choose another output path.")


def _same_file(a: Path, b: Path) -> bool:
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return os.path.abspath(a) == os.path.abspath(b) or a.resolve() == b.resolve()


# --------------------------------------------------------------------------- atomic writing
#: A temporary file older than this, of a process that no longer runs, is a leftover.
STALE_TEMPORARY_SECONDS = 60.0


def _temporary_pattern(path: Path) -> re.Pattern:
    return re.compile(rf"^\.{re.escape(path.name)}\.(\d+)\.[A-Za-z0-9_]+\.tmp$")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale_temporaries(path) -> list[Path]:
    """Delete leftover temporary files of ``path`` whose writer was killed.

    The rule: a file beside ``path`` named ``.NAME.PID.RANDOM.tmp`` (the pattern of
    :func:`atomic_write`) whose process ``PID`` is not running on this machine and which was not
    modified in the last :data:`STALE_TEMPORARY_SECONDS`. Anything else is left alone.

    Parameters
    ----------
    path : str or path
        The output whose leftovers to remove.

    Returns
    -------
    list of pathlib.Path
        The files removed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> remove_stale_temporaries(pathlib.Path(tempfile.mkdtemp()) / "out.csv")
    []
    """
    path = Path(path)
    pattern = _temporary_pattern(path)
    removed = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        match = pattern.match(entry.name)
        if match is None or _pid_alive(int(match.group(1))):
            continue
        try:
            if now - entry.stat(follow_symlinks=False).st_mtime < STALE_TEMPORARY_SECONDS:
                continue
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def _umask() -> int:
    try:  # Linux: read it without changing it (os.umask would, briefly, for all threads)
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _new_mode(path: Path, overwrite: bool) -> int:
    if overwrite:
        try:
            return path.stat().st_mode & 0o7777
        except FileNotFoundError:
            pass
    return 0o666 & ~_umask()


def atomic_write(path, write: Callable[[BinaryIO], object], *, overwrite: bool = False
                 ) -> Path:
    """Write ``path`` through ``write(handle)`` so that it is complete or absent.

    ``write`` receives a binary file opened on ``.NAME.PID.RANDOM.tmp`` beside ``path``. When
    it returns, the file is flushed, given its final mode (``0o666 & ~umask``, or the
    replaced file's mode) and becomes ``path``: with ``os.replace`` when ``overwrite``, else
    with ``os.link``, which refuses a file that appeared since the start (an ``O_EXCL``
    create and copy where the file system has no hard links). On any exception, including
    ``KeyboardInterrupt``, the temporary file is removed.

    Parameters
    ----------
    path : str or path
        The output file.
    write : callable
        Called once with the open binary file; its return value is ignored.
    overwrite : bool
        Replace an existing file (default: refuse it).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        If ``path`` exists and not ``overwrite``, or cannot be written (the message names
        ``path``, never the temporary file).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> _ = atomic_write(p, lambda handle: handle.write(b"hello"))
    >>> p.read_bytes()
    b'hello'
    >>> atomic_write(p, lambda handle: handle.write(b"again"))
    Traceback (most recent call last):
    ...
    ValueError: ... already exists; pass --overwrite (overwrite=True) to replace it.
    """
    path = Path(path)
    check_writable(path, overwrite=overwrite)
    remove_stale_temporaries(path)
    mode = _new_mode(path, overwrite)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.",
                                   suffix=".tmp")
    except OSError as err:
        raise ValueError(f"Cannot write {str(path)!r}: {err.strerror}.") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), mode)
        if overwrite:
            os.replace(tmp, path)
        else:
            _create_exclusive(Path(tmp), path, mode)
    except OSError as err:
        if isinstance(err, FileExistsError):
            raise ValueError(f"{str(path)!r} already exists (it appeared while tsvae was "
                             "working); pass --overwrite (overwrite=True) to replace it."
                             ) from None
        raise ValueError(f"Cannot write {str(path)!r}: {err.strerror or err}.") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def atomic_write_bytes(path, payload: bytes, *, overwrite: bool = False) -> Path:
    """Write ``payload`` to ``path`` with :func:`atomic_write`.

    Parameters
    ----------
    path : str or path
        The output file.
    payload : bytes
        Its complete content.
    overwrite : bool
        Replace an existing file (default: refuse it).

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.json"
    >>> atomic_write_bytes(p, b"{}").read_text()
    '{}'
    """
    return atomic_write(path, lambda handle: handle.write(payload), overwrite=overwrite)


def _create_exclusive(tmp: Path, path: Path, mode: int) -> None:
    """``tmp`` becomes ``path`` only if ``path`` does not exist (raises FileExistsError)."""
    try:
        os.link(tmp, path)
        return
    except FileExistsError:
        raise
    except OSError as err:
        if err.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV,
                             errno.EMLINK, errno.ENOSYS):
            raise
    # No hard links here (some network and FAT file systems): create exclusively and copy.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as out, open(tmp, "rb") as source:
            shutil.copyfileobj(source, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        path.unlink(missing_ok=True)  # ours: O_EXCL created it
        raise
