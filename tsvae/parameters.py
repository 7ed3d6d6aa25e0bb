"""Check the estimator's parameters before any work, with messages that name the parameter."""

from __future__ import annotations

import math
import numbers

import numpy as np

#: Largest seed every consumer accepts (numpy's legacy RandomState, used by scikit-learn's
#: mixture fit, stops at 2**32 - 1).
MAX_SEED = 2**32 - 1
#: Longest ``max_time`` (seconds): a year; beyond it Python's timedelta overflows.
MAX_TIME = 365 * 24 * 3600.0
#: Parameters that define the trained model beyond what its weights' shapes show: a fitted
#: model keeps the values it was trained with (``training_params_``), and ``generate``,
#: ``save`` and every other use of the fitted model refuse others (a refit is required).
#: ``free_bits`` shaped what the network learned (how far the KL term let the code go).
TRAINING_PARAMS = ("alpha", "likelihood", "head_lags", "head_rank", "architecture",
                   "hidden_size", "num_layers", "free_bits")
#: Parameters the fitted network itself records (``SequenceVAE`` attributes): changing one
#: after fit needs a refit just as :data:`TRAINING_PARAMS` do.
NETWORK_PARAMS = ("n_past", "n_future", "latent_dim")
#: Switches read when output is made (``generate``, ``reconstruct``...), not by training:
#: ``set_params`` may change them on a fitted model, and they are checked where they are read.
OUTPUT_SWITCHES = ("enforce_bounds", "enforce_types", "enforce_resolution", "snap_discrete",
                   "progress_bar")
#: Largest ``head_rank`` and ``head_lags``: more shared factors or lags than this model no
#: window a user would generate, and each multiplies the likelihood head's outputs.
MAX_HEAD_TERMS = 64


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_int(name: str, value, *, minimum: int, optional: bool = False,
              maximum: int | None = None) -> None:
    """Raise ``ValueError`` unless ``value`` is an integer in ``[minimum, maximum]``.

    Examples
    --------
    >>> check_int("n_past", 24, minimum=1)
    >>> check_int("n_past", 0, minimum=1)
    Traceback (most recent call last):
    ...
    ValueError: n_past must be a positive integer, got 0.
    """
    if optional and value is None:
        return
    upper = f" and <= {maximum}" if maximum is not None else ""
    if not _is_int(value) or value < minimum or (maximum is not None and value > maximum):
        none = " (or None)" if optional else ""
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {kind}{upper}{none}, got {value!r}.")


def check_real(name: str, value, *, positive: bool, optional: bool = False,
               below_one: bool = False) -> None:
    """Raise ``ValueError`` unless ``value`` is a finite number (> 0 or >= 0; < 1 if asked).

    Examples
    --------
    >>> check_real("alpha", "20", positive=True)
    Traceback (most recent call last):
    ...
    ValueError: alpha must be a finite number > 0, got '20'.
    """
    if optional and value is None:
        return
    ok = _is_real(value) and math.isfinite(value) and (value > 0 if positive else value >= 0)
    if below_one:
        ok = ok and value < 1
    if not ok:
        bound = "> 0" if positive else ">= 0"
        if below_one:
            bound += " and < 1"
        none = " (or None)" if optional else ""
        raise ValueError(f"{name} must be a finite number {bound}{none}, got {value!r}.")


def check_choice(name: str, value, choices) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name}={value!r} is not known; use one of {sorted(choices)}.")


def check_estimator_params(model, *, architectures, missing_policies, scalers,
                           aggregate_fits, likelihoods=("gaussian", "student_t")) -> None:
    """Validate every parameter of a ``TimeSeriesVAE`` (called at the start of ``fit``).

    Examples
    --------
    >>> import tsvae
    >>> tsvae.TimeSeriesVAE(kl_warmup_epochs=-1).fit(None)
    Traceback (most recent call last):
    ...
    ValueError: kl_warmup_epochs must be an integer >= 0, got -1.
    """
    for name in ("n_past", "latent_dim", "hidden_size", "num_layers", "stride", "batch_size",
                 "max_epochs"):
        check_int(name, getattr(model, name), minimum=1)
    for name in ("n_future", "num_workers", "kl_warmup_epochs"):
        check_int(name, getattr(model, name), minimum=0)
    # Bounded: each adds outputs per feature and step to the likelihood head.
    for name in ("head_rank", "head_lags"):
        check_int(name, getattr(model, name), minimum=0, maximum=MAX_HEAD_TERMS)

    check_int("early_stopping_patience", model.early_stopping_patience, minimum=0,
              optional=True)
    check_int("aggregate_components", model.aggregate_components, minimum=1, optional=True)
    check_int("random_state", model.random_state, minimum=0, maximum=MAX_SEED, optional=True)
    check_real("alpha", model.alpha, positive=True, optional=True)
    check_real("learning_rate", model.learning_rate, positive=True)
    check_real("beta", model.beta, positive=False)
    check_real("free_bits", model.free_bits, positive=False)
    check_real("val_fraction", model.val_fraction, positive=False, below_one=True)
    check_real("max_time", model.max_time, positive=True, optional=True)
    if model.max_time is not None and model.max_time > MAX_TIME:
        raise ValueError(f"max_time must be at most {MAX_TIME:g} seconds (a year), got "
                         f"{model.max_time!r}; pass None for no time limit.")
    check_choice("architecture", model.architecture, architectures)
    check_choice("likelihood", model.likelihood, likelihoods)
    check_choice("missing", model.missing, missing_policies)
    check_choice("scaler", model.scaler, scalers)
    check_choice("aggregate_fit", model.aggregate_fit, aggregate_fits)
    check_switches({name: getattr(model, name) for name in OUTPUT_SWITCHES})
    if model.trainer_kwargs is not None and not isinstance(model.trainer_kwargs, dict):
        raise ValueError("trainer_kwargs must be a dict of pytorch_lightning.Trainer arguments "
                         f"(or None), got {type(model.trainer_kwargs).__name__}.")


def check_switches(values: dict) -> None:
    """Raise ``ValueError`` unless every value of ``values`` (output switches by name) is a
    bool: ``"no"`` would otherwise read as true.

    Examples
    --------
    >>> check_switches({"enforce_resolution": "no"})
    Traceback (most recent call last):
    ...
    ValueError: enforce_resolution must be True or False, got 'no'.
    """
    for name, value in values.items():
        if not isinstance(value, bool | np.bool_):
            raise ValueError(f"{name} must be True or False, got {value!r}.")


def changes_since_fit(model) -> str:
    """What ``set_params`` changed since ``model`` was fitted among the parameters that define
    the fitted model (:data:`NETWORK_PARAMS`, :data:`TRAINING_PARAMS`): ``"alpha was None at
    fit, is now 20.0"`` and so on, ``""`` when nothing."""
    from tsvae.model_checks import shown

    network = getattr(getattr(model, "vae_", None), "__dict__", {})
    trained = {name: network[name] for name in NETWORK_PARAMS if name in network}
    trained.update(getattr(model, "training_params_", {}))
    return "; ".join(f"{name} was {value!r} at fit, is now {shown(getattr(model, name))}"
                     for name, value in trained.items() if _differs(getattr(model, name), value))


def _differs(now, fitted) -> bool:
    """Whether a parameter's value ``now`` is not the ``fitted`` one: also when comparing them
    has no single answer (an array, ``pd.NA``), which would otherwise raise numpy's or pandas'
    own error instead of the refit message."""
    try:
        return bool(now != fitted)
    except (TypeError, ValueError):
        return True


def check_unchanged_since_fit(model, doing: str) -> None:
    """Raise ``ValueError`` (starting with ``doing``) when a parameter that defines the fitted
    model was changed by ``set_params`` after fit: the fitted state would silently be used
    instead of the value the user set, so a refit (or the old value) is required."""
    problem = changes_since_fit(model)
    if problem:
        raise ValueError(refit_required(doing, problem))


def refit_required(doing: str, problem: str) -> str:
    """The message of a model whose parameters no longer match its fitted state."""
    return (f"{doing}: the model's parameters no longer match its fitted state ({problem}). "
            "A refit is required: call fit() again, or set_params back to the values it was "
            "fitted with.")
