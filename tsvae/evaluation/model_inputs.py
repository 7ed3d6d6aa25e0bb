"""Real data read the way a model was fitted, and synthetic windows drawn to match it.

What ``tsvae check`` and ``tsvae evaluate --model`` share: the model file already knows the
window length, the time, id and condition columns and the feature columns, so the user does not
pass them again.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tsvae.data.long_format import SAMPLE_COL, STEP_COL
from tsvae.data.windows import sliding_windows

#: Most windows ``sample_like`` draws by default.
MAX_WINDOWS = 10_000


def condition_columns(model) -> list:
    """The model's condition columns (empty for a model without conditions)."""
    encoder = getattr(model, "condition_encoder_", None)
    return list(encoder.columns) if encoder is not None else []


def class_conditions(model) -> list:
    """The model's condition columns that hold classes (what ``evaluate(by=...)`` can split
    by); numeric conditions are continuous and are left out."""
    encoder = getattr(model, "condition_encoder_", None)
    if encoder is None:
        return []
    return [c for c in encoder.columns if encoder.categories.get(c) is not None]


def real_for_model(model, frame: pd.DataFrame) -> pd.DataFrame:
    """The model's feature (and condition) columns of ``frame``: a series frame, or for a
    model fitted with an id column, a long windows frame (``sample``, ``step``, columns) with
    every series cut into its own windows of ``model.n_past`` steps.

    Examples
    --------
    >>> import types, pandas as pd
    >>> model = types.SimpleNamespace(columns_=["a"], id_col_="id", n_past=2,
    ...                               condition_encoder_=None)
    >>> frame = pd.DataFrame({"id": [1, 1, 1, 2, 2], "a": [1.0, 2, 3, 4, 5], "b": 0})
    >>> real_for_model(model, frame)["sample"].tolist()
    [0, 0, 1, 1, 2, 2]
    """
    columns, conditions = list(model.columns_), condition_columns(model)
    missing = [c for c in [*columns, *conditions] if c not in frame.columns]
    if missing:
        raise ValueError(f"The real data has no column {missing[0]!r}, which the model was "
                         f"fitted on; pass the file the model was fitted on (columns: "
                         f"{[*columns, *conditions]!r}).")
    id_col = getattr(model, "id_col_", None)
    if id_col is None:
        return frame[[*columns, *conditions]]
    if id_col not in frame.columns:
        raise ValueError(f"The real data has no id column {id_col!r}, which the model was "
                         "fitted with; pass the file the model was fitted on.")
    n_past, parts, labels = int(model.n_past), [], []
    for _, series in frame.groupby(id_col, sort=False):
        if len(series) < n_past:
            continue
        parts.append(sliding_windows(series[columns].to_numpy(np.float64), n_past))
        if conditions:
            labels.append(series[conditions].iloc[n_past - 1:])
    if not parts:
        raise ValueError(f"No series of {id_col!r} has the {n_past} rows a window needs.")
    windows = np.concatenate(parts)
    n, steps = len(windows), windows.shape[1]
    long = pd.DataFrame(windows.reshape(n * steps, -1), columns=columns)
    long.insert(0, STEP_COL, np.tile(np.arange(steps), n))
    long.insert(0, SAMPLE_COL, np.repeat(np.arange(n), steps))
    if conditions:
        rows = pd.concat(labels).reset_index(drop=True)
        for name in conditions:
            long[name] = np.repeat(rows[name].to_numpy(), steps)
    return long


def sample_like(model, real: pd.DataFrame, n: int | None = None, *, method: str = "aggregate",
                random_state: int | None = 0, observation_noise: bool = True) -> pd.DataFrame:
    """``n`` windows generated with ``method`` (default: as many as ``real`` has, at most
    :data:`MAX_WINDOWS`); a model with conditions draws fresh windows for condition values
    taken at random from the real windows' (their last rows), so both sides can be compared
    per condition value.
    """
    from tsvae.evaluation.conditional import labelled_windows
    from tsvae.evaluation.inputs import to_windows

    if model.n_future:
        raise ValueError("tsvae check evaluates whole windows; this model forecasts "
                         f"(n_future={model.n_future}): generate a series with 'tsvae generate "
                         "--series-length' and run 'tsvae evaluate --model' on it.")
    conditions = condition_columns(model)
    options = {"method": method, "random_state": random_state,
               "observation_noise": bool(observation_noise)}
    if conditions:
        _, labels, _, _ = labelled_windows(real, conditions, model.n_past, "real")
        count = len(labels)
    else:
        count = len(to_windows(real, "real", model.n_past,
                               [c for c in real.columns if c not in (SAMPLE_COL, STEP_COL)])[0])
    n = min(count, MAX_WINDOWS) if n is None else n
    if conditions and method in ("prior", "aggregate"):
        rng = np.random.default_rng(0 if random_state is None else random_state)
        options["conditions"] = labels.iloc[rng.integers(0, len(labels), n)].reset_index(
            drop=True)
    elif method not in ("prior", "aggregate") and model.train_latents_ is None:
        # A model saved without its training codes: the posterior methods draw around the
        # real windows given instead (as compare_methods does).
        windows = model.scaled_windows(real if not conditions else real.drop(
            columns=[c for c in conditions if c in real.columns]))
        options["x"] = model.to_original_units(windows)
        if conditions:
            options["conditions"] = labels.reset_index(drop=True)
    return model.generate(n, **options)
