"""Decode sampler draws into synthetic windows or one long rolled-forward series."""

from __future__ import annotations

import logging
import math
import sys
import time

import numpy as np
import pandas as pd
import torch

from tsvae.data.long_format import check_layout
from tsvae.generation.budget import (
    check_fits_in_memory,
    series_output_bytes,
    window_output_bytes,
)
from tsvae.generation.samplers import SAMPLERS, Latents, make_sampler

logger = logging.getLogger(__name__)

#: Windows decoded per batch by default: small enough to stay in the CPU cache (measured by
#: ``benchmarks/generation_speed.py``: 8,192 ran at about a third of the speed of 1,024).
DECODE_BATCH = 1024


def _check_count(n, name: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError(f"{name} must be a positive integer, got {n!r}.")
    return int(n)


def _check_noise_scale(noise_scale) -> float:
    # A real number only: float("1") and float(True) would accept a string and a bool.
    if isinstance(noise_scale, (bool, np.bool_)) or not isinstance(
            noise_scale, (int, float, np.integer, np.floating)):
        raise TypeError(f"noise_scale must be a number such as 1.0, got {noise_scale!r} "
                        f"({type(noise_scale).__name__}).")
    value = float(noise_scale)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"noise_scale must be a finite number >= 0, got {noise_scale!r}.")
    return value


def _rng(random_state) -> np.random.Generator:
    from tsvae.parameters import MAX_SEED, check_int

    check_int("random_state", random_state, minimum=0, maximum=MAX_SEED, optional=True)
    return np.random.default_rng(random_state)


def _check_method(method: str) -> None:
    if method not in SAMPLERS:
        raise ValueError(f"method={method!r} is not known; use one of {sorted(SAMPLERS)}.")


#: What a model saved without its training codes cannot do, and the way out.
NO_TRAINING_DATA = ("this model's file does not hold the training windows' codes (it was saved "
                    "without keep_training_data=True)")


def _sampler_for(model, method: str, noise_scale: float, latents: Latents | None = None):
    """The fitted sampler of ``method``: the model's saved mixture for ``aggregate``."""
    if method == "aggregate":
        return model.aggregate_sampler_
    if method == "prior":  # N(0, I): reads nothing of the training windows
        return make_sampler(method).fit(Latents(np.zeros((1, model.latent_dim)),
                                                np.zeros((1, model.latent_dim))))
    if latents is None:
        if model.train_latents_ is None:
            raise ValueError(f"method={method!r} without x= decodes the training windows' "
                             f"codes, but {NO_TRAINING_DATA}; pass the real windows to encode "
                             "as x=, or use method='aggregate' or 'prior'.")
        latents = model.train_latents_.latents
    return make_sampler(method, noise_scale=noise_scale).fit(latents)


def _check_batch_size(batch_size) -> int:
    return _check_count(batch_size, "batch_size")


#: Decoder precisions of generation, named as Lightning names its training precisions.
PRECISIONS = ("32", "bf16-mixed")


def _cpu_has_bf16() -> bool:
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def _check_precision(precision) -> str:
    precision = str(precision)
    if precision not in PRECISIONS:
        raise ValueError(f"precision={precision!r} is not known; use one of {list(PRECISIONS)}.")
    if precision == "bf16-mixed" and not _cpu_has_bf16():
        # oneDNN has no bfloat16 LSTM on such CPUs (it raises), and emulated bfloat16
        # convolutions are slower than float32: there is nothing to gain.
        logger.warning("precision='bf16-mixed' needs a CPU with bfloat16 support (AVX-512 "
                       "BF16 or AMX); this one has %s, so generation runs in float32.",
                       torch.backends.cpu.get_cpu_capability())
        return "32"
    return precision


def decode_windows(model, z: np.ndarray, contexts: np.ndarray | None, rng: np.random.Generator,
                   observation_noise: bool, batch_size: int = DECODE_BATCH, finish=None,
                   precision: str = "32", conditions: np.ndarray | None = None) -> np.ndarray:
    """Decode latents (and the decoder's context vectors) batch by batch under
    ``inference_mode``: every generation method and :meth:`~tsvae.TimeSeriesVAE.reconstruct`
    decode through here.

    With ``observation_noise`` every value is drawn from ``p(x | z)`` (the likelihood head,
    step by step); without, each window is the decoded mean. ``finish`` (e.g. back to
    original units) is applied while the batch is still in cache. Returns
    ``(n, steps, F)``: scaled float32 without ``finish``. ``precision="bf16-mixed"`` runs
    the decoder under bfloat16 autocast. ``conditions`` (one encoded vector per window) is
    read only by model files of format 5 and older (:mod:`tsvae.legacy`).
    """
    _check_latents(z)  # float32 decoding: refuse draws it cannot represent, before any cast
    legacy = getattr(model, "legacy_", None)
    draws = (legacy.needs_generator(observation_noise) if legacy is not None
             else bool(observation_noise))
    generator = torch.Generator().manual_seed(int(rng.integers(2**63 - 1))) if draws else None
    out = None
    with torch.inference_mode():
        for first in range(0, len(z), batch_size):
            zb = torch.as_tensor(z[first:first + batch_size], dtype=torch.float32)
            cb = None
            if contexts is not None:
                cb = torch.as_tensor(contexts[first:first + batch_size], dtype=torch.float32)
            batch_conditions = (None if conditions is None
                                else conditions[first:first + batch_size])
            with torch.autocast("cpu", dtype=torch.bfloat16,
                                enabled=precision == "bf16-mixed"):
                if legacy is not None:
                    decoded = legacy.decode(model.vae_, zb, cb,
                                            observation_noise=observation_noise,
                                            generator=generator, conditions=batch_conditions)
                else:
                    decoded = model.vae_.decode_context(zb, cb, noise=draws,
                                                        generator=generator,
                                                        scale=model.draw_scale)
            decoded = decoded.float()
            result = decoded.numpy() if finish is None else finish(decoded.numpy())
            _check_finite(result, zb)
            if out is None:
                out = np.empty((len(z), *result.shape[1:]), dtype=result.dtype)
            out[first:first + len(zb)] = result
    return out


def _check_latents(z: np.ndarray) -> None:
    """Refuse latent draws the float32 decoder cannot represent (a huge ``noise_scale``)."""
    if not (np.isfinite(z).all() and np.abs(z).max(initial=0.0) < np.finfo(np.float32).max):
        raise ValueError("Generation produced non-finite values: the latent draws overflowed "
                         "(noise_scale too large?). Use a smaller noise_scale.")


def _check_finite(result: np.ndarray, z: torch.Tensor) -> None:
    """Refuse a batch with NaN or infinite values instead of returning it."""
    if np.isfinite(result).all():
        return
    cause = ("the latent draws overflowed (noise_scale too large?)"
             if not torch.isfinite(z).all() else
             "the decoder or its likelihood overflowed")
    raise ValueError(f"Generation produced non-finite values: {cause}. Use a smaller "
                     "noise_scale, or check the model (refit it if it was trained with "
                     "extreme settings).")


def _encode(model, windows: np.ndarray, batch_size: int,
            conditions: np.ndarray | None = None) -> Latents:
    """Posterior parameters of scaled windows, batch by batch under ``inference_mode``."""
    mus, log_vars = [], []
    with torch.inference_mode():
        for first in range(0, len(windows), batch_size):
            condition = (torch.from_numpy(conditions[first:first + batch_size])
                         if conditions is not None else None)
            mu, log_var = model.vae_.encode(torch.from_numpy(windows[first:first + batch_size]),
                                            condition)
            mus.append(mu.numpy())
            log_vars.append(log_var.numpy())
    return Latents(np.concatenate(mus), np.concatenate(log_vars))


#: The method ``generate`` uses when none is named: the one the prior-vs-posterior study
#: (``benchmarks/prior_vs_posterior.py``, ``docs/prior-vs-posterior.md``) found closest to
#: real data among the methods that make fresh samples.
DEFAULT_METHOD = "aggregate"  # the default of every generate signature
#: The default of ``observation_noise``, the same for every method: real windows carry what
#: ``z`` does not explain, so every method draws ``p(x|z)`` like they do (like with like).
DEFAULT_OBSERVATION_NOISE = True


def _check_observation_noise(observation_noise) -> None:
    """``None``, ``True`` or ``False`` only: ``bool("no")`` would turn the noise on."""
    if observation_noise is not None and not isinstance(observation_noise, (bool, np.bool_)):
        raise ValueError(f"observation_noise must be True, False or None (the default: on), "
                         f"got {observation_noise!r}.")


def _observation_noise_default(method: str, observation_noise: bool | None) -> bool:
    # One rule for every method (``method`` is kept for callers' readability only).
    _check_observation_noise(observation_noise)
    if observation_noise is None:
        return DEFAULT_OBSERVATION_NOISE
    return bool(observation_noise)


def _warn_if_prior_hole(model, method: str) -> None:
    """Log a warning when ``prior`` is asked of a model whose prior is not covered."""
    if method != "prior":
        return
    from tsvae.diagnostics import PRIOR_HOLE_WARNING, cached_prior_hole_score

    score = cached_prior_hole_score(model)
    if score >= PRIOR_HOLE_WARNING:
        logger.warning(
            "method='prior' on a model whose prior-hole score is %.2f: that share of N(0, I) "
            "draws lands far from every training latent, where the decoder never learned "
            "(from %.2f on, the prior made windows less like the data than 'aggregate' in "
            "tsvae's prior-vs-posterior study). method='aggregate' samples where the "
            "training latents are.", score, PRIOR_HOLE_WARNING)


def _context_vectors(model, past_scaled: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return model.vae_.past_context(
            torch.from_numpy(np.ascontiguousarray(past_scaled))).numpy()


def _past_from_context(model, context) -> np.ndarray:
    """The last ``n_past`` rows of a user's context frame or array, scaled: ``(1, n_past, F)``."""
    if isinstance(context, pd.DataFrame):
        missing = [c for c in model.columns_ if c not in context.columns]
        if missing:
            raise ValueError(f"context is missing column {missing[0]!r}; it needs the columns "
                             f"{model.columns_!r}.")
        rows = context[model.columns_]
        for column in model.columns_:
            if not pd.api.types.is_numeric_dtype(rows[column].dtype):
                raise TypeError(f"context column {column!r} is not numeric.")
        values = rows.to_numpy(dtype=np.float64)
    else:
        values = np.asarray(context, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != model.n_features_:
            raise ValueError(f"context must be a frame or a 2-D array (rows, {model.n_features_}"
                             f" features), got shape {values.shape}.")
    if len(values) < model.n_past:
        raise ValueError(f"context has {len(values)} rows but the model needs the last "
                         f"n_past={model.n_past} rows; pass at least {model.n_past}.")
    past = values[-model.n_past:]
    if not np.isfinite(past).all():
        raise ValueError("context has NaN or infinite values in its last n_past rows; fill them.")
    # Scaled in float64 (a large offset keeps its small variation), then cast.
    return model.to_model_features(model.scaler_.transform(past).astype(np.float32))[None]


def generate_new_data(model, x=None, *, n: int | None = None, method: str = "aggregate",
                      noise_scale: float = 1.0, context=None, random_state=None,
                      as_array: bool = False, return_latents: bool = False,
                      observation_noise: bool | None = None, batch_size: int = DECODE_BATCH,
                      precision: str = "32", conditions=None, layout: str = "long",
                      start=None):
    """Generate synthetic windows from a fitted :class:`~tsvae.TimeSeriesVAE`.

    Output keeps the user's schema: values in original units, clipped to each column's
    observed range, integer and bool columns with their dtype, columns with at most 20
    observed values on those values, constant columns exactly constant (switch these off
    with the model's ``enforce_bounds``, ``enforce_types`` and ``snap_discrete``).

    Parameters
    ----------
    model : TimeSeriesVAE
        A fitted (or loaded) model.
    x : array or DataFrame, optional
        Real windows (3-D array or long frame) or a series frame, in original units: what the
        posterior methods encode. Default: the model's training windows (their saved latents).
    n : int, optional
        Number of windows; default ``len(x)`` when ``x`` is given.
    method : {"aggregate", "prior", "posterior", "noisy_posterior"}
        How latents are drawn (see :mod:`tsvae.generation.samplers`). Default
        ``"aggregate"``: a mixture fitted to the training latents, the best of the fresh-sample
        methods in the prior-vs-posterior study. ``"prior"`` logs a warning when the model's
        prior-hole score is high.
    noise_scale : float
        Posterior noise multiplier of ``noisy_posterior`` (0 = reconstruction).
    context : DataFrame or array, optional
        For ``n_future > 0`` models with ``prior``/``aggregate``: the past to continue (its
        last ``n_past`` rows); every one of the ``n`` windows continues it.
    random_state : int, optional
        Seed; the same seed gives the same output.
    as_array : bool
        Return ``(n, steps, n_features)`` float64 instead of a DataFrame (schema restored:
        rounded, clipped and snapped values, but no integer/bool dtypes).
    layout : {"long", "multiindex"}
        The frame's shape: ``"long"`` has ``sample`` and ``step`` columns (a RangeIndex),
        ``"multiindex"`` a ``(sample, step)`` MultiIndex and only the data columns. Either is
        accepted back as ``x`` and by :func:`tsvae.evaluate`.
    start : timestamp-like, optional
        Date the windows: step ``j`` of every window gets ``start + j * freq`` (the training
        data's frequency), in a column named after the training data's time column or index
        (``"timestamp"`` when unnamed or taken), placed before the features. A naive
        ``start`` is read in the training data's time zone. Needs a model fitted on regularly
        dated rows.
    return_latents : bool
        Also return the latent draws ``z`` of shape ``(n, latent_dim)``.
    observation_noise : bool, optional
        Draw every value from the decoder's likelihood ``p(x | z)``, step by step, each step
        conditioned on the drawn steps before it (:mod:`tsvae.nn.likelihood`), instead of
        returning the decoded mean. Default: on, for every method, because real windows also
        carry what ``z`` does not explain; ``False`` gives decoded means (with
        ``noisy_posterior`` and ``noise_scale=0``, exactly :meth:`reconstruct`).
    batch_size : int
        Windows decoded at a time under ``torch.inference_mode`` (the same seed and batch size
        give the same output).
    conditions : dict or DataFrame, optional
        For a model fitted with conditions: ``{"machine": "A"}`` (every window) or a frame
        with one condition row per window (``n`` defaults to its length). ``prior`` decodes
        for the condition, ``aggregate`` samples the mixture of that condition's training
        latents, posterior methods draw among real windows of that condition. With ``x``,
        the conditions of the real windows ``x``. The output frame carries the condition
        columns.
    precision : {"32", "bf16-mixed"}
        Decoder arithmetic: float32, or bfloat16 autocast (about 1.5x faster for the conv
        decoder on CPUs with AVX-512 BF16/AMX, decoded values within about 1e-3 of the scaled
        range; see ``benchmarks/generation_speed.py``). On a CPU without bfloat16 support it
        logs a warning and runs in float32.

    Returns
    -------
    pandas.DataFrame or numpy.ndarray
        Long frame with ``sample``, ``step`` (and the time column with ``start``, the id column
        for panel models), then the features in original units and order, under the user's
        column names (of any type); or the array. ``(result, z)`` with
        ``return_latents``. Steps are ``n_past`` long, or ``n_future`` for conditional models.

    Examples
    --------
    >>> import tsvae
    >>> X = tsvae.datasets.make_sines(64, length=12, n_features=2, random_state=0)
    >>> model = tsvae.TimeSeriesVAE(n_past=12, latent_dim=2, hidden_size=8, max_epochs=1,
    ...                             progress_bar=False, random_state=0,
    ...                             trainer_kwargs={"accelerator": "cpu"}).fit(X)
    >>> frame = generate_new_data(model, n=5, method="aggregate", random_state=1)
    >>> list(frame.columns), len(frame)
    (['sample', 'step', 'feature_0', 'feature_1'], 60)
    """
    model._check_fitted("Cannot generate")
    _check_method(method)
    check_layout(layout)
    _warn_if_prior_hole(model, method)
    noise_scale = _check_noise_scale(noise_scale)
    _check_observation_noise(observation_noise)
    batch_size = _check_batch_size(batch_size)
    times = None if start is None else _window_times(model, start)
    precision = _check_precision(precision)
    uses_real = SAMPLERS[method].uses_real_windows
    if context is not None and not model.n_future:
        raise ValueError("context= applies to conditional models (n_future > 0); this model "
                         "generates whole windows unconditionally.")
    if context is not None and uses_real:
        raise ValueError(f"method={method!r} decodes real windows with their own past; pass "
                         "them as x= instead of context=, or use method='prior'/'aggregate'.")
    if x is not None and not uses_real:
        raise ValueError(f"x= is what posterior methods encode; method={method!r} does not read "
                         "real windows (use 'posterior' or 'noisy_posterior').")
    rng = _rng(random_state)

    stored = model.train_latents_
    series_of_latent = None if stored is None else stored.series
    contexts = None if stored is None else stored.contexts
    pool_conditions = None if stored is None else stored.conditions
    latents = None
    if x is not None:
        windows = model.scaled_windows(x)
        # A conditioned model encodes real windows with their own conditions.
        pool_conditions = model.condition_vectors(conditions, len(windows))
        latents = _encode(model, windows, batch_size, pool_conditions)
        contexts = _context_vectors(model, windows[:, : model.n_past]) if model.n_future else None
        series_of_latent = None
        n = len(windows) if n is None else n
    elif n is None and isinstance(conditions, pd.DataFrame):
        n = len(conditions)
    if n is None:
        raise ValueError("Pass n, the number of windows to generate.")
    n = _check_count(n)
    steps = model.n_future or model.n_past
    check_fits_in_memory(
        window_output_bytes(n, steps, model.n_features_, as_array),
        f"{n:,} windows of {steps} steps x {model.n_features_} features",
        "ask for fewer windows and call generate repeatedly (a different random_state each "
        "time) to write the output in chunks")
    # What to generate for; posterior methods without conditions keep each window's own.
    wanted = (model.condition_vectors(conditions, n)
              if x is None and (conditions is not None or not uses_real) else None)

    z, source = _draw_latents(model, method, noise_scale, latents, n, rng, wanted,
                              pool_conditions)
    chosen_contexts = None
    if model.n_future:
        if context is not None:
            chosen_contexts = np.repeat(_context_vectors(model, _past_from_context(model, context)),
                                        n, axis=0)
        else:
            if source is None:
                if contexts is None:
                    raise ValueError(f"Fresh windows of an n_future > 0 model continue a past: "
                                     f"{NO_TRAINING_DATA}, so pass the past to continue as "
                                     "context= (at least n_past rows; 'tsvae generate "
                                     "--context FILE').")
                # Fresh latents for a conditional model: pasts of random training windows
                # (of the same condition when the model is conditioned).
                source = _random_windows(n, len(contexts), rng, wanted, stored.conditions)
                series_of_latent = stored.series
            chosen_contexts = contexts[source]
    window_conditions = wanted
    if window_conditions is None and pool_conditions is not None:
        window_conditions = pool_conditions[source]
    decoder_context = _join(chosen_contexts, window_conditions)
    windows = decode_windows(model, z, decoder_context, rng,
                             _observation_noise_default(method, observation_noise), batch_size,
                             finish=model.to_output_units, precision=precision,
                             conditions=window_conditions)

    extra = {}
    if model.id_col_ is not None:
        ids = np.full(n, pd.NA, dtype=object)
        if source is not None and series_of_latent is not None and context is None:
            ids = np.asarray(model.series_ids_, dtype=object)[series_of_latent[source]]
        extra[model.id_col_] = ids
    if window_conditions is not None and not as_array:
        values = _condition_values(model, conditions, window_conditions,
                                   source if x is not None else None)
        extra.update({c: values[c].to_numpy() for c in values.columns})
    result = windows if as_array else model.output_frame(windows, extra=extra or None,
                                                          layout=layout, times=times)
    if not as_array:
        result.attrs["tsvae"] = {"method": method, "observation_noise": bool(
            _observation_noise_default(method, observation_noise))}
        if method == "noisy_posterior":
            result.attrs["tsvae"]["noise_scale"] = noise_scale
    return (result, z) if return_latents else result


def _condition_values(model, conditions, window_conditions: np.ndarray,
                      source: np.ndarray | None) -> pd.DataFrame:
    """The condition columns of the output, one row per window: exactly the values asked for
    (``conditions``, one row or one per window, or per real window of ``x`` picked by
    ``source``) in the training dtype, or, without ``conditions``, the decoded conditions of
    the training windows drawn from (values the training data had, not float32 round trips)."""
    encoder = model.condition_encoder_
    if conditions is None:
        return encoder.inverse_transform(window_conditions)
    asked = encoder.values(conditions)
    if len(asked) == 1:
        rows = np.zeros(len(window_conditions), dtype=np.int64)
    elif source is not None:
        rows = source
    else:
        rows = np.arange(len(window_conditions))
    return asked.iloc[rows].reset_index(drop=True)


def _window_times(model, start) -> pd.DatetimeIndex:
    """Timestamps of the steps of a generated window that starts at ``start``."""
    if model.freq_ is None:
        raise ValueError("start= dates the windows with the training data's frequency, but this "
                         "model was fitted on data without regular timestamps; leave start out.")
    if not isinstance(start, str | pd.Timestamp | np.datetime64) and not hasattr(start, "year"):
        # pd.Timestamp(5) is 5 ns after 1970: never what a user of dated data means.
        raise ValueError(f"start={start!r} is not a timestamp; pass a date string such as "
                         "'2024-01-01 00:00', a pandas Timestamp or a datetime.")
    try:
        first = pd.Timestamp(start)
    except (TypeError, ValueError) as err:
        raise ValueError(f"start={start!r} is not a timestamp ({err}); pass e.g. "
                         "'2024-01-01 00:00'.") from None
    last = next((v for v in model.last_index_ if isinstance(v, pd.Timestamp)), None)
    zone = None if last is None else last.tz
    steps = model.n_future or model.n_past
    try:
        if first.tz is None and zone is not None:
            first = first.tz_localize(zone)
        return pd.date_range(first, periods=steps, freq=pd.tseries.frequencies.to_offset(
            model.freq_))
    except ValueError as err:  # pandas' advice names its own 'nonexistent'/'ambiguous' args
        text = str(err)
        if "nonexistent" in text:
            problem = "does not exist (the clocks skip it when daylight saving time starts)"
        elif "ambiguous" in text or "infer dst" in text:
            problem = "is ambiguous (it happens twice when daylight saving time ends)"
        else:
            raise
        where = str(first.tz or zone)
        raise ValueError(f"start={str(start)!r} {problem} in the time zone {where!r}, at "
                         f"the start or within the {steps} steps of a window; pick a local "
                         "time that exists once, or pass a UTC timestamp (a string ending "
                         "in '+00:00', or a Timestamp with tz='UTC').") from None


def _join(*parts):
    """Concatenate the decoder's context parts (past context, condition) that exist."""
    parts = [p for p in parts if p is not None]
    return np.concatenate(parts, axis=1).astype(np.float32) if parts else None


def _groups(wanted: np.ndarray):
    """(positions, vector) of each distinct condition vector among the wanted windows."""
    unique, inverse = np.unique(wanted, axis=0, return_inverse=True)
    return [(np.flatnonzero(inverse.ravel() == g), vector) for g, vector in enumerate(unique)]


def _matching(pool_conditions: np.ndarray | None, vector: np.ndarray) -> np.ndarray | None:
    if pool_conditions is None:
        return None
    return np.flatnonzero(np.all(pool_conditions == vector, axis=1))


def _random_windows(n: int, total: int, rng, wanted, pool_conditions) -> np.ndarray:
    """Indices of ``n`` random stored training windows (of ``total``), of the wanted
    condition where possible."""
    if wanted is None:
        return rng.choice(total, size=n, replace=True)
    source = np.empty(n, dtype=np.int64)
    for positions, vector in _groups(wanted):
        pool = _matching(pool_conditions, vector)
        pool = pool if pool is not None and pool.size else np.arange(total)
        source[positions] = pool[rng.integers(len(pool), size=len(positions))]
    return source


#: Fewest training windows of one condition to fit that condition's own aggregate mixture.
MIN_WINDOWS_PER_CONDITION_MIXTURE = 50
#: Most per-condition mixtures a model file keeps (continuous conditions have no value with
#: enough windows; a label with more values uses the overall mixture for the rest).
MAX_SAVED_CONDITION_MIXTURES = 64


def _condition_key(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def _aggregate_for(model, pool: np.ndarray | None, vector: np.ndarray | None = None):
    """The aggregate mixture of one condition's training latents (fitted once, kept on the
    model, and saved with it as a latent summary); the overall mixture when the condition has
    too few windows, or when the model was loaded without its training codes and without a
    mixture for that condition."""
    from tsvae.generation.samplers import AggregateSampler

    cache = model.__dict__.setdefault("_condition_mixtures", {})
    key = None if vector is None else _condition_key(vector)
    if key is not None and key in cache:
        return cache[key]
    if pool is None or len(pool) < MIN_WINDOWS_PER_CONDITION_MIXTURE:
        return model.aggregate_sampler_
    stored = model.train_latents_.latents
    mixture = AggregateSampler(
        model.aggregate_components, fit_to=model.aggregate_sampler_.fit_to,
        random_state=model.seed_).fit(Latents(stored.mu[pool], stored.log_var[pool]))
    if key is not None:
        cache[key] = mixture
    return mixture


def condition_mixtures(model) -> list:
    """``(condition vector, mixture)`` of every condition value with its own aggregate
    mixture (at most :data:`MAX_SAVED_CONDITION_MIXTURES`, the most frequent first): the
    latent summaries a model file keeps so that ``aggregate`` draws for a condition as the
    fitted model does, without the training codes."""
    stored = model.train_latents_
    if stored is None or stored.conditions is None:  # a loaded model: what it loaded
        return [(np.frombuffer(key, dtype=np.float32), mixture) for key, mixture in
                model.__dict__.get("_condition_mixtures", {}).items()]
    values, counts = np.unique(stored.conditions, axis=0, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    chosen = [values[i] for i in order if counts[i] >= MIN_WINDOWS_PER_CONDITION_MIXTURE]
    return [(vector, _aggregate_for(model, _matching(stored.conditions, vector), vector))
            for vector in chosen[:MAX_SAVED_CONDITION_MIXTURES]]


def _condition_sampler(model, method: str, noise_scale: float, latents: Latents,
                       pool: np.ndarray | None, vector: np.ndarray):
    """The sampler of ``method`` for one condition: the prior as it is, the aggregate
    mixture of that condition, posterior draws among ``latents[pool]`` (its windows)."""
    if method == "prior":
        return _sampler_for(model, method, noise_scale)
    if method == "aggregate":
        return _aggregate_for(model, pool, vector)
    if latents is None:  # raises: no codes to draw around
        return _sampler_for(model, method, noise_scale)
    if pool is None or pool.size == 0:
        raise ValueError(
            f"No training window has the condition {model.condition_encoder_.describe(vector)!r},"
            f" so method={method!r} has no real window to draw from; use method='prior' or "
            "'aggregate'.")
    return _sampler_for(model, method, noise_scale,
                        Latents(latents.mu[pool], latents.log_var[pool]))


def _draw_latents(model, method, noise_scale, latents, n, rng, wanted, pool_conditions):
    """Latent draws ``z`` and, for posterior methods, the index of the window each came from.

    With ``wanted`` conditions: ``prior`` is unchanged (the condition enters the decoder),
    ``aggregate`` uses the mixture of that condition's training latents, posterior methods
    draw only among windows of that condition.
    """
    if wanted is None:
        draw = _sampler_for(model, method, noise_scale, latents).sample(n, rng)
        return draw.z, draw.index
    all_latents = latents
    if all_latents is None and model.train_latents_ is not None:
        all_latents = model.train_latents_.latents
    uses_real = SAMPLERS[method].uses_real_windows
    z = np.empty((n, model.latent_dim))
    source = np.empty(n, dtype=np.int64) if uses_real else None
    for positions, vector in _groups(wanted):
        pool = _matching(pool_conditions, vector)
        sampler = _condition_sampler(model, method, noise_scale, all_latents, pool, vector)
        draw = sampler.sample(len(positions), rng)
        z[positions] = draw.z
        if uses_real:
            source[positions] = pool[draw.index]
    return z, source


def _future_index(model, last, length: int) -> pd.Index:
    """Index of ``length`` rows after ``last``: continues the data's frequency."""
    if isinstance(last, pd.Timestamp):
        if model.freq_ is None:
            raise ValueError("The training data's timestamps have no regular frequency, so a "
                             "continuation cannot be dated; refit on regularly spaced data.")
        offset = pd.tseries.frequencies.to_offset(model.freq_)
        return pd.date_range(last + offset, periods=length, freq=offset, name=model.index_name_)
    start = int(last) + 1 if last is not None else 0
    return pd.RangeIndex(start, start + length, name=model.index_name_)


#: A series expected to take longer than this (seconds, from the first chunk's time) shows
#: its progress: a bar on stderr when someone watches, else a log line every 10%.
PROGRESS_SECONDS = 2.0


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7_200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3_600:.1f} h"


class _SeriesProgress:
    """Time estimate and progress of the roll-forward loop of :func:`generate_series`.

    The first chunk is timed and the estimate (first chunk x chunks) logged at INFO; a run
    estimated above :data:`PROGRESS_SECONDS` then shows a tqdm bar (when ``bar`` and someone
    watches) or logs every 10%. Costs one clock read per chunk.
    """

    def __init__(self, total: int, rows: int, series: int, *, bar: bool) -> None:
        self.total, self.rows, self.series, self.want_bar = total, rows, series, bar
        self.done, self.bar, self.log_steps = 0, None, False
        self.started = time.perf_counter()

    def step(self) -> None:
        self.done += 1
        if self.done == 1:
            first = time.perf_counter() - self.started
            estimate = first * self.total
            logger.info("generate_series: %s rows x %d series in %s chunks; the first took "
                        "%.3f s, about %s in all", f"{self.rows:,}", self.series,
                        f"{self.total:,}", first, _duration(estimate))
            if estimate > PROGRESS_SECONDS and self.total > 1:
                from tsvae._quiet import interactive

                if self.want_bar and interactive():
                    from tqdm.auto import tqdm

                    self.bar = tqdm(total=self.total, initial=1, desc="generate_series",
                                    unit="chunk", leave=False, file=sys.stderr)
                else:
                    self.log_steps = True
            return
        if self.bar is not None:
            self.bar.update(1)
        elif self.log_steps and self.done * 10 // self.total > (self.done - 1) * 10 // self.total:
            elapsed = time.perf_counter() - self.started
            left = elapsed / self.done * (self.total - self.done)
            logger.info("generate_series: %d%% (%s of %s chunks), about %s left",
                        100 * self.done // self.total, f"{self.done:,}", f"{self.total:,}",
                        _duration(left))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def generate_series(model, length: int, *, method: str = "aggregate", context=None,
                    noise_scale: float = 1.0, random_state=None,
                    observation_noise: bool | None = None, conditions=None) -> pd.DataFrame:
    """Roll a conditional model (``n_future > 0``) forward on its own output.

    Starts after the end of the training data (each series of a panel), or after ``context``
    when given, and returns ``length`` new rows in original units whose index continues the
    data's frequency (an integer index when the data had no dates). ``observation_noise`` as
    in :func:`generate_new_data`; the noisy steps are what the next steps are conditioned on.
    A model fitted with conditions needs ``conditions={...}`` (one condition for the whole
    continuation), as in :func:`generate_new_data`; the output carries the condition columns.

    The first chunk of ``n_future`` steps is timed and the estimate of the whole run logged
    at INFO (logger ``tsvae.generation.generate``); a run estimated above
    :data:`PROGRESS_SECONDS` shows a progress bar on stderr when someone watches and the
    model's ``progress_bar`` is on, and otherwise logs its progress every 10%.

    Examples
    --------
    >>> import numpy as np, pandas as pd, tsvae
    >>> df = pd.DataFrame({"y": np.sin(np.arange(300) / 5)},
    ...                   index=pd.date_range("2024-01-01", periods=300, freq="h"))
    >>> model = tsvae.TimeSeriesVAE(n_past=12, n_future=4, hidden_size=8, latent_dim=2,
    ...                             max_epochs=1, progress_bar=False, random_state=0,
    ...                             trainer_kwargs={"accelerator": "cpu"}).fit(df)
    >>> out = generate_series(model, 10, random_state=0)
    >>> len(out), str(out.index[0])
    (10, '2024-01-13 12:00:00')
    """
    model._check_fitted("Cannot generate")
    if not model.n_future:
        raise ValueError(
            "generate_series needs a conditional model: refit with n_future > 0 (for example "
            "TimeSeriesVAE(n_past=24, n_future=8)), or use generate(n) for independent windows."
        )
    length = _check_count(length, "length")
    n_series = 1 if context is not None else len(model.tails_ or [None])
    check_fits_in_memory(
        series_output_bytes(length, n_series, model.n_features_),
        f"{n_series} series of {length:,} rows x {model.n_features_} features",
        "ask for a shorter length and continue from the last rows with context=")
    _check_method(method)
    _warn_if_prior_hole(model, method)
    noise_scale = _check_noise_scale(noise_scale)
    _check_observation_noise(observation_noise)
    rng = _rng(random_state)

    if context is not None:
        pasts = _past_from_context(model, context)
        last = [context.index[-1] if isinstance(context, pd.DataFrame) else len(context) - 1]
        if isinstance(context, pd.DataFrame) and not isinstance(context.index, pd.DatetimeIndex):
            last = [int(context.index[-1]) if pd.api.types.is_integer_dtype(context.index)
                    else len(context) - 1]
        ids = [None]
    else:
        if model.tails_ is None:
            raise ValueError("This model holds no last rows of its training series to continue "
                             "(fitted on window arrays, or saved without "
                             "keep_training_data=True); pass context= (at least n_past rows; "
                             "'tsvae generate --context FILE').")
        pasts = np.stack(model.tails_)
        last, ids = model.last_index_, model.series_ids_
    if isinstance(conditions, pd.DataFrame) and len(conditions) != 1:
        raise ValueError("generate_series takes one condition for the whole continuation: "
                         "a dict or a one-row frame.")
    condition = model.condition_vectors(conditions, len(pasts))
    sampler = _sampler_for(model, method, noise_scale)
    if condition is not None:
        stored = model.train_latents_
        sampler = _condition_sampler(
            model, method, noise_scale, None if stored is None else stored.latents,
            None if stored is None else _matching(stored.conditions, condition[0]), condition[0])
    noisy = _observation_noise_default(method, observation_noise)

    chunks = []
    progress = _SeriesProgress(math.ceil(length / model.n_future), length, len(pasts),
                               bar=bool(getattr(model, "progress_bar", True)))
    try:
        for _ in range(progress.total):
            z = sampler.sample(len(pasts), rng).z
            future = decode_windows(model, z, _join(_context_vectors(model, pasts), condition),
                                    rng, noisy, conditions=condition)
            chunks.append(future)
            pasts = np.concatenate([pasts, future], axis=1)[:, -model.n_past:]
            progress.step()
    finally:
        progress.close()
    scaled = np.concatenate(chunks, axis=1)[:, :length]
    values = model.to_output_units(scaled)

    asked = None if condition is None else model.condition_encoder_.values(conditions)
    frames = []
    for series_values, series_last, series_id in zip(values, last, ids, strict=True):
        frame = pd.DataFrame(series_values, columns=pd.Index(model.columns_, tupleize_cols=False),
                             index=_future_index(model, series_last, length))
        if model.enforce_types:
            frame = model.output_schema.cast(frame)
        if model.id_col_ is not None and series_id is not None:
            frame.insert(0, model.id_col_, series_id)
        if asked is not None:
            for name in asked.columns:  # an array keeps the dtype (a scalar: float64)
                frame[name] = np.repeat(asked[name].to_numpy()[:1], len(frame))
        frames.append(frame)
    return frames[0] if len(frames) == 1 else pd.concat(frames)
