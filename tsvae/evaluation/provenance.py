"""Where a report's numbers come from: tsvae version, date, input files (name, size,
SHA-256), method, seed and model parameters."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from tsvae._version import __version__

#: Key of ``DataFrame.attrs`` where ``generate`` records how a frame was made.
ATTRS_KEY = "tsvae"


def file_record(path) -> dict:
    """A file's name, size in bytes and SHA-256, read in chunks.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = path.write_bytes(b"a,b")
    >>> record = file_record(path)
    >>> record["file"], record["bytes"], record["sha256"][:12]
    ('x.csv', 3, '1eb7c54d5283')
    """
    path = Path(path)
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return {"file": path.name, "bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def provenance(synthetic=None, model=None, sources=None) -> dict:
    """tsvae's version, the UTC time, what ``synthetic`` (a frame from ``generate``) and
    ``model`` record about themselves, and the files in ``sources`` (``role -> path``, e.g.
    ``{"real data": "energy.csv", "model": "energy.tsvae"}``) under ``inputs``.

    Examples
    --------
    >>> sorted(provenance())
    ['created', 'tsvae_version']
    """
    out = {"tsvae_version": __version__,
           "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")}
    if sources:
        out["inputs"] = {role: file_record(path) for role, path in sources.items()
                         if path is not None}
    recorded = getattr(synthetic, "attrs", {}).get(ATTRS_KEY) if synthetic is not None else None
    if isinstance(recorded, dict):
        out.update(recorded)
    if model is not None:
        params = model.get_params(deep=False)
        params.pop("trainer_kwargs", None)
        out["model_parameters"] = params
        if hasattr(model, "n_epochs_"):
            out["trained_epochs"] = int(model.n_epochs_)
    return out
