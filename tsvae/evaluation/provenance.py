"""Where a report's numbers come from: tsvae version, date, method and model parameters."""

from __future__ import annotations

import datetime as dt

from tsvae._version import __version__

#: Key of ``DataFrame.attrs`` where ``generate`` records how a frame was made.
ATTRS_KEY = "tsvae"


def provenance(synthetic=None, model=None) -> dict:
    """tsvae's version, the UTC time, and what ``synthetic`` (a frame from ``generate``) and
    ``model`` record about themselves.

    Examples
    --------
    >>> sorted(provenance())
    ['created', 'tsvae_version']
    """
    out = {"tsvae_version": __version__,
           "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")}
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
