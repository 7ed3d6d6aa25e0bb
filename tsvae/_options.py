"""The estimator's options as a plain table, for the command line.

``tsvae --help`` must answer without importing torch, so the CLI cannot read
``TimeSeriesVAE.__init__``'s signature (the estimator module imports torch). This table
repeats the names, types and defaults; ``tests/test_console.py`` checks it against the
signature, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import NamedTuple


class Option(NamedTuple):
    name: str
    kind: type
    default: object
    #: the allowed values, listed in ``--help`` (a test checks them against the estimator's)
    choices: tuple | None = None


#: Every ``TimeSeriesVAE`` parameter the CLI exposes, in signature order (``trainer_kwargs``
#: and ``progress_bar`` are not flags: ``--no-progress`` sets the latter).
ESTIMATOR_OPTIONS = (
    Option("n_past", int, 24),
    Option("n_future", int, 0),
    Option("architecture", str, "lstm", ("lstm", "conv")),
    Option("latent_dim", int, 8),
    Option("hidden_size", int, 64),
    Option("num_layers", int, 1),
    Option("alpha", float, None),
    Option("beta", float, 1.0),
    Option("kl_warmup_epochs", int, 0),
    Option("scaler", str, "minmax", ("minmax", "standard")),
    Option("stride", int, 1),
    Option("val_fraction", float, 0.1),
    Option("batch_size", int, 128),
    Option("num_workers", int, 0),
    Option("learning_rate", float, 1e-3),
    Option("max_epochs", int, 100),
    Option("max_time", float, None),
    Option("early_stopping_patience", int, 20),
    Option("missing", str, "error", ("error", "interpolate", "ffill", "drop")),
    Option("aggregate_components", int, None),
    Option("aggregate_fit", str, "means", ("means", "draws")),
    Option("head_rank", int, 3),
    Option("head_lags", int, 2),
    Option("likelihood", str, "gaussian", ("gaussian", "student_t")),
    Option("free_bits", float, 0.0),
    Option("enforce_bounds", bool, True),
    Option("enforce_types", bool, True),
    Option("enforce_resolution", bool, True),
    Option("snap_discrete", bool, True),
    Option("random_state", int, None),
)
#: Parameters of the estimator that are not flags.
NOT_FLAGS = ("progress_bar", "trainer_kwargs")
