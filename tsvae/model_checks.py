"""Checks of an untrusted model file's content, one function per stored field.

:func:`tsvae.persistence.load_model` calls these before it builds anything from a file, so that
a tampered or damaged file fails with a message naming the field instead of a numpy
broadcasting error, a LinAlgError, a NaN output or a multi-gigabyte allocation. Each function
raises :class:`ModelFileError` (a ValueError) and returns the checked value; a new stored
field gets a new function here and one call in ``load_model``.
"""

from __future__ import annotations

import logging
import math
import reprlib

import numpy as np
import pandas as pd
import torch

from tsvae.legacy.mean_calibration import max_calibrated_groups

#: Longest window (``n_past + n_future`` steps) a model file may declare. The LSTM decoder
#: allocates a buffer per step when it is built, and no weight shape depends on the window
#: length, so the length needs a bound of its own: a million steps (4 MB of buffer) is far
#: beyond any window a sequence VAE is trained on.
MAX_WINDOW_LENGTH = 1_000_000
#: Longest text a stored value is shown with in a message.
SHOWN_CHARACTERS = 80
#: Trainer arguments a model file may restore. Anything else (``default_root_dir``,
#: ``enable_checkpointing``, ``logger``, ``callbacks``, ``profiler``, ``plugins``...) could
#: make a later refit write files where the file's author chose, so it is dropped on load.
RESTORED_TRAINER_KWARGS = frozenset({
    "accelerator", "devices", "num_nodes", "strategy", "precision", "deterministic",
    "benchmark", "gradient_clip_val", "gradient_clip_algorithm", "accumulate_grad_batches",
    "limit_train_batches", "limit_val_batches", "num_sanity_val_steps",
    "check_val_every_n_epoch", "val_check_interval", "min_epochs", "max_steps", "min_steps",
    "log_every_n_steps", "enable_model_summary", "inference_mode", "detect_anomaly",
    "sync_batchnorm", "use_distributed_sampler", "reload_dataloaders_every_n_epochs",
})

logger = logging.getLogger(__name__)
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = SHOWN_CHARACTERS


def shown(value, limit: int = SHOWN_CHARACTERS) -> str:
    """``repr(value)`` cut to ``limit`` characters, without building the whole repr.

    Examples
    --------
    >>> shown([0] * 10_000_000)
    '[0, 0, 0, 0, 0, 0, ...]'
    >>> shown(10**5000)
    '<an integer of about 5001 digits>'
    """
    if isinstance(value, int) and value.bit_length() > 4000:  # str() stops at 4300 digits
        return f"<an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits>"
    try:
        text = _REPR.repr(value)
    except (ValueError, RecursionError):
        text = f"<a {type(value).__name__}>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


class ModelFileError(ValueError):
    """A model file's field is missing, of the wrong type or shape, or not finite."""

    def __init__(self, field: str, problem: str) -> None:
        self.field, self.problem = field, problem
        super().__init__(f"corrupted or incompatible model file: {field} {problem}")


def _shape(value) -> tuple:
    return tuple(np.shape(value))


def check_array(field: str, value, shape: tuple, *, dtype=np.float64,
                finite: bool = True) -> np.ndarray:
    """``value`` as an array of ``shape`` (``None`` entries match any size), all finite.

    Parameters
    ----------
    field : str
        The field's name, for the message.
    value : array-like
        The stored value.
    shape : tuple of int or None
        Expected shape; ``None`` matches any length on that axis.
    dtype : numpy dtype
        The dtype to convert to.
    finite : bool
        Refuse NaN and infinite values.

    Returns
    -------
    numpy.ndarray
        The value, converted.

    Examples
    --------
    >>> check_array("scaler.scale", [1.0, 2.0], (3,))
    Traceback (most recent call last):
    ...
    tsvae.model_checks.ModelFileError: corrupted or incompatible model file: scaler.scale has \
shape (2,), expected (3,)
    """
    wanted = np.dtype(dtype).kind
    if isinstance(value, np.ndarray) and (value.dtype.kind == "f") != (wanted == "f"):
        # Stored tensors keep their dtype: integers or booleans where floats belong (or
        # floats where indices belong) are a damaged or edited file, not something to cast.
        raise ModelFileError(field, f"has dtype {value.dtype}, expected "
                             f"{'floating point' if wanted == 'f' else 'integers'}")
    try:
        array = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError, OverflowError):
        raise ModelFileError(field, f"is not an array of {np.dtype(dtype).name}") from None
    expected = tuple(shape)
    if array.ndim != len(expected) or any(e is not None and a != e
                                          for a, e in zip(array.shape, expected, strict=True)):
        shown = tuple("any" if e is None else e for e in expected)
        raise ModelFileError(field, f"has shape {array.shape}, expected "
                             f"{shown}".replace("'", ""))
    if finite and array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ModelFileError(field, "holds NaN or infinite values")
    return array


def check_int(field: str, value, *, low: int = 0, high: int | None = None) -> int:
    """``value`` as an int in ``[low, high]`` (bools and floats refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ModelFileError(field, f"must be a whole number, got {shown(value)}")
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"between {low} and {high}"
        raise ModelFileError(field, f"is {shown(value)}, expected {bound}")
    return int(value)


def check_format_version(version, newest: int) -> int:
    """The file's ``format_version``: a whole number from 1 to ``newest``.

    Examples
    --------
    >>> check_format_version("3", 3)
    Traceback (most recent call last):
    ...
    tsvae.model_checks.ModelFileError: corrupted or incompatible model file: format_version \
must be a whole number, got '3' (a str)
    """
    if version is None:
        raise ModelFileError("format_version", "is missing")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ModelFileError("format_version", f"must be a whole number, got {shown(version)} "
                             f"(a {type(version).__name__})")
    if version < 1:
        raise ModelFileError("format_version", f"is {version}; versions start at 1")
    return version


def check_window_length(model) -> None:
    """``n_past + n_future`` within :data:`MAX_WINDOW_LENGTH` (checked before building)."""
    length = model.n_past + model.n_future
    if length > MAX_WINDOW_LENGTH:
        raise ModelFileError("params.n_past + params.n_future",
                             f"is {length}, above the limit of {MAX_WINDOW_LENGTH} steps")


def check_layer_count(model, weights: dict) -> None:
    """``num_layers`` no larger than the number of stored tensors (each layer has some).

    Checked before the network is built even on the ``meta`` device: a million layers cost
    nothing in memory there but minutes of Python objects.
    """
    if model.num_layers > len(weights):
        raise ModelFileError("params.num_layers", f"is {model.num_layers}, but the file holds "
                             f"only {len(weights)} weight tensors")


def check_columns(meta: dict) -> int:
    """``columns`` is a list of ``n_features`` names; returns ``n_features``."""
    columns = meta["columns"]
    if not isinstance(columns, list):
        raise ModelFileError("columns", "must be a list")
    n_features = check_int("n_features", meta["n_features"], low=1)
    if len(columns) != n_features:
        raise ModelFileError("columns", f"has {len(columns)} names, expected n_features="
                             f"{n_features}")
    return n_features


def check_feature_map(value, n_features: int) -> np.ndarray:
    """Model feature of each user column: ``n_features`` ints covering ``0..k-1``."""
    feature_map = check_array("feature_map", value, (n_features,), dtype=np.int64)
    if feature_map.min() < 0 or set(feature_map.tolist()) != set(range(feature_map.max() + 1)):
        raise ModelFileError("feature_map", "must number the model features 0, 1, ... "
                             "without gaps")
    return feature_map


def check_scaler(scaler, n_features: int):
    """A fitted scaler with ``n_features`` finite offsets and scales."""
    scaler.offset_ = check_array("scaler.offset", scaler.offset_, (n_features,))
    scaler.scale_ = check_array("scaler.scale", scaler.scale_, (n_features,))
    if not (scaler.scale_ > 0).all():  # zero flattens a column, a negative one mirrors it
        j = int(np.argmin(scaler.scale_ > 0))
        raise ModelFileError(f"scaler.scale[{j}]", f"is {scaler.scale_[j]:g}; scales must be > 0")
    return scaler


def check_series(meta: dict) -> int:
    """``series_ids`` and ``last_index`` are lists of the same length; returns it."""
    ids, last = meta["series_ids"], meta["last_index"]
    if not isinstance(ids, list) or not ids:
        raise ModelFileError("series_ids", "must be a non-empty list")
    if not isinstance(last, list) or len(last) != len(ids):
        raise ModelFileError("last_index", f"must list one entry per series ({len(ids)})")
    return len(ids)


def check_weights(weights: dict, expected: dict) -> None:
    """Stored tensors match the network's names and shapes and are finite.

    Parameters
    ----------
    weights : dict
        Name -> tensor, as stored.
    expected : dict
        Name -> shape of the network that the file's parameters describe (built on the
        ``meta`` device, so without allocating).
    """
    missing = sorted(set(expected) - set(weights))
    extra = sorted(set(weights) - set(expected))
    if missing or extra:
        name = missing[0] if missing else extra[0]
        raise ModelFileError(f"weights[{name!r}]", "is missing" if missing else
                             "is not a weight of the network the parameters describe")
    for name, tensor in weights.items():
        if tuple(tensor.shape) != tuple(expected[name]):
            raise ModelFileError(f"weights[{name!r}]",
                                 f"has shape {tuple(tensor.shape)}, but the parameters "
                                 f"(latent_dim, hidden_size, ...) need {tuple(expected[name])}")
        if not tensor.is_floating_point():
            raise ModelFileError(f"weights[{name!r}]", f"has dtype {tensor.dtype}; weights are "
                                 "floating point")
        if not torch.isfinite(tensor).all():
            raise ModelFileError(f"weights[{name!r}]", "holds NaN or infinite values")


def check_aggregate(sampler, latent_dim: int, name: str = "aggregate_sampler"):
    """Mixture weights ``(K,)``, means ``(K, d)`` and positive-definite covariances
    (``name``: the field, for messages)."""
    if sampler.weights_ is None:
        raise ModelFileError(name, "is not fitted")
    weights = check_array(f"{name}.weights", sampler.weights_, (None,))
    k = len(weights)
    if k == 0 or (weights < 0).any() or not weights.sum() > 0:
        raise ModelFileError(f"{name}.weights", "must be >= 0 with a positive sum")
    sampler.weights_ = weights
    sampler.means_ = check_array(f"{name}.means", sampler.means_, (k, latent_dim))
    sampler.covariances_ = check_array(f"{name}.covariances", sampler.covariances_,
                                       (k, latent_dim, latent_dim))
    try:
        np.linalg.cholesky(sampler.covariances_)
    except np.linalg.LinAlgError:
        raise ModelFileError(f"{name}.covariances", "are not positive definite") from None
    return sampler


def check_condition_mixtures(entries, condition_dim: int, latent_dim: int, limit: int,
                             from_dict) -> dict:
    """Per-condition aggregate mixtures: a list of at most ``limit`` entries ``{"condition":
    [condition_dim numbers], "mixture": {...}}``, each mixture checked as the overall one.
    Returns ``{condition key: sampler}``."""
    if entries is None:
        return {}
    if not isinstance(entries, list) or len(entries) > limit:
        raise ModelFileError("condition_mixtures", f"must be a list of at most {limit} entries")
    if entries and not condition_dim:
        raise ModelFileError("condition_mixtures", "are stored but this model has no conditions")
    out = {}
    for i, entry in enumerate(entries):
        field = f"condition_mixtures[{i}]"
        if not isinstance(entry, dict) or set(entry) != {"condition", "mixture"}:
            raise ModelFileError(field, "must hold a condition and a mixture")
        vector = check_array(f"{field}.condition", np.asarray(entry["condition"], dtype=float),
                             (condition_dim,))
        if not isinstance(entry["mixture"], dict):
            raise ModelFileError(f"{field}.mixture", "must be a mixture")
        out[np.asarray(vector, dtype=np.float32).tobytes()] = check_aggregate(
            from_dict(entry["mixture"]), latent_dim, f"{field}.mixture")
    return out


def check_latents(arrays: dict, latent_dim: int, n_series: int) -> int:
    """``latent_mu``/``latent_log_var`` ``(N, latent_dim)``, ``latent_series`` ``(N,)``."""
    mu = check_array("latent_mu", arrays["latent_mu"], (None, latent_dim), dtype=np.float32)
    n = len(mu)
    if n == 0:
        raise ModelFileError("latent_mu", "is empty")
    check_array("latent_log_var", arrays["latent_log_var"], (n, latent_dim), dtype=np.float32)
    series = check_array("latent_series", arrays["latent_series"], (n,), dtype=np.int64)
    if series.min() < 0 or series.max() >= n_series:
        raise ModelFileError("latent_series", f"must index the {n_series} series")
    return n


def check_optional(arrays: dict, name: str, shape: tuple, needed: bool) -> None:
    """An array present exactly when ``needed`` (context vectors, conditions...)."""
    if name in arrays:
        if not needed:
            raise ModelFileError(name, "is stored but this model does not use it")
        check_array(name, arrays[name], shape, dtype=np.float32)
    elif needed:
        raise ModelFileError(name, "is missing")


def check_tails(arrays: dict, n_series: int, n_past: int, n_model_features: int) -> None:
    """Last ``n_past`` scaled rows of each series, ``(n_series, n_past, features)``."""
    if "tails" in arrays:
        check_array("tails", arrays["tails"], (n_series, n_past, n_model_features),
                    dtype=np.float32)


def check_mean_calibration(arrays: dict, steps: int, n_model_features: int,
                           expected: bool, condition_dim: int = 0) -> None:
    """The map from decoded windows onto the data: ``mean_calibration_weight``
    ``(features, steps, steps)`` and ``mean_calibration_bias`` ``(features, steps)``, both
    present or both absent, and present only where ``expected`` (a model without a past
    context whose windows are small enough for a map); or, for a model with conditions, one
    such pair per condition value (``mean_calibration_group{i}_*``) beside the values
    (``mean_calibration_group_keys``, ``(k, condition_dim)``)."""
    names = ("mean_calibration_weight", "mean_calibration_bias")
    grouped = "mean_calibration_group_keys" in arrays
    if grouped:
        if any(name in arrays for name in names):
            raise ModelFileError(names[0], "is stored beside per-condition maps (a model "
                                           "has one or the other)")
        if not condition_dim:
            raise ModelFileError("mean_calibration_group_keys", "is stored but this model "
                                 "has no conditions")
        keys = check_array("mean_calibration_group_keys", arrays["mean_calibration_group_keys"],
                           (None, condition_dim), dtype=np.float32)
        most = max_calibrated_groups(steps, n_model_features)
        if not 1 <= len(keys) <= most:
            raise ModelFileError("mean_calibration_group_keys",
                                 f"holds {len(keys)} condition values; 1 to {most} are "
                                 "possible for windows of this size")
        names_of = [(f"mean_calibration_group{i}_weight", f"mean_calibration_group{i}_bias")
                    for i in range(len(keys))]
    else:
        names_of = [names]
    for pair in names_of:
        present = [name in arrays for name in pair]
        if not any(present) and not grouped:
            return
        if not all(present):
            missing = pair[present.index(False)]
            raise ModelFileError(missing, "is missing (the mean calibration needs both "
                                          "arrays)")
        if not expected:
            raise ModelFileError(pair[0], "is stored but this model cannot use one (it "
                                          "decodes from a past context, or its windows are "
                                          "too large)")
        check_array(pair[0], arrays[pair[0]], (n_model_features, steps, steps),
                    dtype=np.float32)
        check_array(pair[1], arrays[pair[1]], (n_model_features, steps), dtype=np.float32)


def check_noise(noise, n_model_features: int, condition_dim: int,
                latent_dim: int | None = None) -> None:
    """The observation model's arrays (VAR coefficients, covariances, pools) by shape."""
    if noise is None:
        return
    if hasattr(noise, "models"):  # ConditionalNoise: one model per condition key
        check_array("noise_group_keys", noise.keys, (len(noise.models), condition_dim),
                    dtype=np.float32)
        for i, model in enumerate(noise.models):
            _check_var(model, n_model_features, f"noise_group{i}_", latent_dim)
        noise = noise.pooled
    _check_var(noise, n_model_features, "noise_", latent_dim)


def _check_var(model, f: int, prefix: str, latent_dim: int | None = None) -> None:
    if model is None:
        raise ModelFileError(prefix + "coefs", "is missing")
    coefs = check_array(prefix + "coefs", model.coefs, (None, f, f))
    p = len(coefs)
    if p == 0:
        raise ModelFileError(prefix + "coefs", "is empty")
    check_array(prefix + "intercept", model.intercept, (f,))
    check_array(prefix + "innovation_cov", model.innovation_cov, (f, f))
    check_array(prefix + "residual_rms", model.residual_rms, (f,))
    for name, shape in (("start_pool", (None, p, f)), ("innovation_pool", (None, f)),
                        ("step_scale", (None, f)), ("residual_windows", (None, None, f))):
        value = getattr(model, name)
        if value is not None:
            array = check_array(prefix + name, value, shape, dtype=np.float32)
            if name.endswith(("pool", "windows")) and array.size == 0:
                raise ModelFileError(prefix + name, "is empty")
    windows = model.residual_windows
    if windows is not None and windows.shape[1] <= p:
        raise ModelFileError(prefix + "residual_windows",
                             f"must be longer than the {p} VAR lags")
    if model.residual_latents is not None:
        if windows is None:
            raise ModelFileError(prefix + "residual_latents", "needs residual_windows")
        check_array(prefix + "residual_latents", model.residual_latents,
                    (len(windows), 2, latent_dim), dtype=np.float32)
        if np.abs(model.residual_latents[:, 1]).max(initial=0.0) > 50:
            raise ModelFileError(prefix + "residual_latents",
                                 "has log-variances beyond +-50")


def check_finite_number(field: str, value) -> float:
    """A finite float (JSON allows NaN and Infinity spelled out)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ModelFileError(field, f"must be a finite number, got {shown(value)}")
    return float(value)


#: dtypes a numeric condition column may come back in.
NUMERIC_DTYPES = ("float64", "float32", "float16", "int64", "int32", "int16", "int8",
                  "uint64", "uint32", "uint16", "uint8")


def check_conditions(encoder):
    """Condition encoder: categories (a list, or None for a number) for every column, a
    finite mean and std for each numeric one, and its dtype and training values if given."""
    from tsvae.data.conditions import MAX_NUMERIC_LEVELS

    if encoder is None:
        return None
    if sorted(encoder.categories) != sorted(encoder.columns):
        raise ModelFileError("conditions.categories", "must have one entry per condition "
                             "column")
    for name, categories in encoder.categories.items():
        if categories is None:
            check_finite_number(f"conditions.mean[{name!r}]", encoder.mean.get(name))
            check_finite_number(f"conditions.std[{name!r}]", encoder.std.get(name))
        elif not isinstance(categories, list) or not categories:
            raise ModelFileError(f"conditions.categories[{name!r}]",
                                 "must be a non-empty list")
    if not isinstance(encoder.dtypes, dict):
        raise ModelFileError("conditions.dtypes", "must map numeric columns to dtypes")
    for name, dtype in encoder.dtypes.items():
        if encoder.categories.get(name, []) is not None or dtype not in NUMERIC_DTYPES:
            raise ModelFileError(f"conditions.dtypes[{shown(name)}]",
                                 f"must be one of {list(NUMERIC_DTYPES)} for a numeric "
                                 f"condition column, got {shown(dtype)}")
    if not isinstance(encoder.levels, dict):
        raise ModelFileError("conditions.levels", "must map numeric columns to values")
    for name, levels in encoder.levels.items():
        field = f"conditions.levels[{shown(name)}]"
        if encoder.categories.get(name, []) is not None:
            raise ModelFileError(field, "names no numeric condition column")
        if not isinstance(levels, list) or not 0 < len(levels) <= MAX_NUMERIC_LEVELS:
            raise ModelFileError(field, f"must be a list of 1 to {MAX_NUMERIC_LEVELS} numbers")
        for value in levels:
            check_finite_number(field, value)
    return encoder


def check_schema(schema, n_features: int):
    """Output schema: one column per feature, a known kind and dtype, low <= high, and sorted
    finite levels (at most ``MAX_LEVELS``) inside the range."""
    from tsvae.data.schema import MAX_LEVELS

    if len(schema.columns) != n_features:
        raise ModelFileError("schema.columns", f"has {len(schema.columns)} entries for "
                             f"{n_features} features")
    names = schema.names
    if len({repr(n) for n in names}) != len(names):
        raise ModelFileError("schema.columns", "repeat a column name")
    if any(isinstance(n, str) and n in ("sample", "step") for n in names):
        raise ModelFileError("schema.columns", "use a reserved name ('sample' or 'step')")
    for j, column in enumerate(schema.columns):
        field = f"schema.columns[{j}]"
        if column.kind not in ("float", "integer", "bool"):
            raise ModelFileError(f"{field}.kind", f"is {shown(column.kind)}")
        try:
            dtype = pd.api.types.pandas_dtype(column.dtype)
        except (TypeError, ValueError):
            raise ModelFileError(f"{field}.dtype", f"is not a dtype: {shown(column.dtype)}"
                                 ) from None
        if _kind_of(dtype) != column.kind:
            raise ModelFileError(f"{field}.dtype", f"{shown(column.dtype)} does not hold "
                                 f"{column.kind} values")
        if np.isnan(column.low) or np.isnan(column.high) or column.low > column.high:
            raise ModelFileError(f"{field}.low/high", "must be numbers with low <= high")
        if column.kind == "integer" and np.isfinite(column.low):
            info = np.iinfo(getattr(dtype, "numpy_dtype", dtype))
            if column.low < info.min or column.high > float(info.max):
                raise ModelFileError(f"{field}.low/high", f"lie outside {column.dtype}'s range")
        levels = column.levels
        if levels is not None:
            if (levels.ndim != 1 or not len(levels) or len(levels) > MAX_LEVELS
                    or not np.isfinite(levels).all() or np.any(np.diff(levels) <= 0)
                    or levels[0] < column.low or levels[-1] > column.high):
                raise ModelFileError(f"{field}.levels", "must be 1 to "
                                     f"{MAX_LEVELS} sorted distinct finite values inside "
                                     "low..high")
            if column.kind != "float" and not np.array_equal(levels, np.round(levels)):
                raise ModelFileError(f"{field}.levels", f"must be whole numbers for a "
                                     f"{column.kind} column")
    return schema


def _kind_of(dtype) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype) and not isinstance(dtype, pd.SparseDtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype) and not isinstance(dtype, pd.SparseDtype):
        return "float"
    return "other"


def check_params(params, known) -> dict:
    """The stored parameters: known names mapped to plain values, checked before any of them
    is formatted into a message or passed to the estimator.

    Every value is a number, a short string, a boolean or null; ``trainer_kwargs`` a dict of
    such values (or short lists of them), keeping only :data:`RESTORED_TRAINER_KWARGS` (the
    others are dropped with a warning: a model file does not choose where a refit writes).

    Examples
    --------
    >>> check_params({"hidden_size": [0] * 10_000_000}, {"hidden_size"})
    Traceback (most recent call last):
    ...
    tsvae.model_checks.ModelFileError: corrupted or incompatible model file: params.hidden_size \
must be a number, a string of at most 80 characters, true/false or null, got a list \
[0, 0, 0, 0, 0, 0, ...]
    """
    if not isinstance(params, dict):
        raise ModelFileError("params", "must map parameter names to values")
    checked = {}
    for name, value in params.items():
        if name not in known:
            raise ModelFileError("params", f"name an unknown parameter {shown(name)}")
        if name == "trainer_kwargs" and value is not None:
            value = _check_trainer_kwargs(value)
        else:
            _check_plain(f"params.{name}", value)
        checked[name] = value
    return checked


def _check_plain(field: str, value, *, lists: bool = False) -> None:
    if lists and isinstance(value, list) and len(value) <= 64:
        for item in value:
            _check_plain(field, item)
        return
    if value is None or isinstance(value, (bool, int, float)) or (
            isinstance(value, str) and len(value) <= SHOWN_CHARACTERS):
        if isinstance(value, int) and value.bit_length() > 64:
            raise ModelFileError(field, f"is {shown(value)}, too large")
        return
    raise ModelFileError(field, f"must be a number, a string of at most {SHOWN_CHARACTERS} "
                         f"characters, true/false or null, got a {type(value).__name__} "
                         f"{shown(value)}")


def _check_trainer_kwargs(kwargs) -> dict:
    if not isinstance(kwargs, dict):
        raise ModelFileError("params.trainer_kwargs", f"must be a dict or null, got a "
                             f"{type(kwargs).__name__}")
    dropped = [key for key in kwargs if key not in RESTORED_TRAINER_KWARGS]
    if dropped:
        logger.warning("model file: trainer_kwargs %s not restored (a model file does not set "
                       "where training writes files); pass them to set_params to use them",
                       shown(dropped))
    kept = {key: value for key, value in kwargs.items() if key in RESTORED_TRAINER_KWARGS}
    for key, value in kept.items():
        _check_plain(f"params.trainer_kwargs[{key!r}]", value, lists=True)
    return kept


def check_freq(value) -> str | None:
    """The data's frequency: null or a pandas frequency string such as ``"10min"``."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > SHOWN_CHARACTERS:
        raise ModelFileError("freq", f"must be a pandas frequency string or null, got "
                             f"{shown(value)}")
    try:
        pd.tseries.frequencies.to_offset(value)
    except (ValueError, TypeError):
        raise ModelFileError("freq", f"is not a pandas frequency: {shown(value)}") from None
    return value


def check_last_index(values, decode) -> list:
    """Each series' last index value: null, ``{"integer": n}`` or ``{"timestamp": iso}``
    with an optional time zone ``"tz"``, decoded with ``decode``."""
    decoded = []
    for i, value in enumerate(values):
        field = f"last_index[{i}]"
        if value is not None:
            if not isinstance(value, dict) or not ({"integer"} == set(value) or {"timestamp"}
                                                   <= set(value) <= {"timestamp", "tz"}):
                raise ModelFileError(field, 'must be null, {"integer": n} or {"timestamp": '
                                     f'text, "tz": zone}}, got {shown(value)}')
            if "integer" in value:
                check_int(field, value["integer"], low=-2**63, high=2**63 - 1)
            elif not isinstance(value["timestamp"], str) or not isinstance(
                    value.get("tz", ""), str):
                raise ModelFileError(field, f"must hold text, got {shown(value)}")
        try:
            stamp = decode(value)
        except (ValueError, TypeError, KeyError, OverflowError, AttributeError):
            raise ModelFileError(field, f"is not a valid timestamp: {shown(value)}") from None
        if stamp is pd.NaT:
            raise ModelFileError(field, f"is not a valid timestamp: {shown(value)}")
        decoded.append(stamp)
    return decoded


#: Columns of the stored latent diagnostics table, and whether each holds booleans.
_SUMMARY_COLUMNS = {"kl": False, "active": True, "mu_variance": False, "aggregate_mean": False,
                    "aggregate_variance": False}


def check_latent_summary(summary, latent_dim: int) -> dict | None:
    """The latent diagnostics stored at fit: a table of ``latent_dim`` rows and named
    figures (``None`` in files written before they were stored)."""
    if summary is None:
        return None
    if not isinstance(summary, dict) or set(summary) != {"per_dimension", "summary"}:
        raise ModelFileError("latent_summary", "must hold per_dimension and summary")
    table, figures = summary["per_dimension"], summary["summary"]
    if not isinstance(table, dict) or set(table) != set(_SUMMARY_COLUMNS):
        raise ModelFileError("latent_summary.per_dimension",
                             f"must have the columns {sorted(_SUMMARY_COLUMNS)}")
    for name, boolean in _SUMMARY_COLUMNS.items():
        values = table[name]
        kind = bool if boolean else (int, float)
        if (not isinstance(values, list) or len(values) != latent_dim
                or not all(isinstance(v, kind) and not (not boolean and isinstance(v, bool))
                           and (boolean or np.isfinite(v)) for v in values)):
            raise ModelFileError(f"latent_summary.per_dimension.{name}",
                                 f"must be {latent_dim} finite "
                                 f"{'booleans' if boolean else 'numbers'}")
    if not isinstance(figures, dict) or len(figures) > 20 or not all(
            isinstance(k, str) and len(k) <= 40 and isinstance(v, int | float)
            and not isinstance(v, bool) and np.isfinite(v) for k, v in figures.items()):
        raise ModelFileError("latent_summary.summary", "must map short names to finite numbers")
    return summary
