"""``TimeSeriesVAE``: the user-facing estimator (fit, generate, encode, reconstruct, save, load)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from tsvae.data.conditions import ConditionEncoder
from tsvae.data.datamodule import WindowDataModule
from tsvae.data.long_format import frame_to_windows, is_long_format, windows_to_frame
from tsvae.data.prepare import prepare_training_data
from tsvae.data.schema import OutputSchema
from tsvae.data.validate import MISSING_POLICIES, validate_frame, validate_windows
from tsvae.data.windows import sliding_windows
from tsvae.generation.latents import TrainingLatents
from tsvae.generation.samplers import FIT_TO, AggregateSampler, Latents
from tsvae.model.lightning import VAELightningModule
from tsvae.model.vae import SequenceVAE
from tsvae.nn import ARCHITECTURES
from tsvae.parameters import (
    OUTPUT_SWITCHES,
    TRAINING_PARAMS,
    check_switches,
    check_unchanged_since_fit,
)
from tsvae.training import (
    build_trainer,
    check_reconstructions,
    check_training_outcome,
    run_training,
)

logger = logging.getLogger(__name__)

#: Training windows whose posteriors ``fit`` keeps (a seeded random subset beyond this): the
#: aggregate mixture, the latent diagnostics and the posterior samplers need a sample, not all
#: of a 20-million-window data set (and a file saved with ``keep_training_data`` stays small).
MAX_STORED_LATENTS = 200_000
#: Validation windows the held-out ELBO is estimated on (evenly spaced beyond this): its
#: standard error is far below the differences between models long before, and a
#: 20-million-row fit would otherwise spend minutes on it.
MAX_ELBO_WINDOWS = 50_000
#: Fewest training windows ``fit`` accepts: the latent mixture needs two points.
MIN_TRAINING_WINDOWS = 2


def _warn_if_not_static(conditions: pd.DataFrame, bounds) -> None:
    """Per-series attributes should be constant within a series; labels may vary (fine)."""
    for a, b in bounds:
        part = conditions.iloc[a:b]
        varying = [c for c in part.columns if part[c].nunique(dropna=False) > 1]
        if varying:
            logger.info("condition %r varies within a series: used as a per-window label "
                        "(each window takes its last row's value)", varying[0])
            return


def _check_enough_windows(n_train: int, model) -> None:
    """Refuse, before training, data too short for the latent mixture (and for learning)."""
    needed = max(MIN_TRAINING_WINDOWS, model.aggregate_components or 1)
    if n_train < needed:
        raise ValueError(
            f"The data gives {n_train} training window(s) of n_past + n_future = "
            f"{model.window_length} steps (stride {model.stride}, val_fraction "
            f"{model.val_fraction}) but fit needs at least {needed}; pass more rows, or "
            "shorten n_past, or lower stride or val_fraction.")


class TimeSeriesVAE(BaseEstimator):
    """Sequence VAE for synthetic multivariate time series.

    Parameters
    ----------
    n_past : int
        Steps the encoder reads (the window length when ``n_future == 0``).
    n_future : int
        0 for an unconditional window model; > 0 for a conditional VAE that generates the
        next ``n_future`` steps after a past of ``n_past`` steps.
    architecture : {"lstm", "conv"}
        Encoder/decoder family: recurrent (the decoder reads the code and the step's position
        in the window at every step) or TimeVAE-style convolutions.
    latent_dim : int
        Size of the latent code ``z``.
    hidden_size : int
        Width of the encoder and decoder layers.
    num_layers : int
        Recurrent layers (``lstm``) or convolution blocks (``conv``).
    alpha : float, optional
        ``None`` (the default): the decoder learns its likelihood, a scale for every value
        (see :mod:`tsvae.nn.likelihood`), and training maximises the ELBO. A number fixes it
        instead, as the classic loss ``alpha * squared error + beta * KL`` does: a Gaussian
        decoder of standard deviation ``1 / sqrt(2 alpha)`` on the scaled data (``alpha=20``:
        0.16 of the [0, 1] min-max range), from which generation then draws. Kept for the
        prior-vs-posterior study (``docs/prior-vs-posterior.md``).
    beta : float
        Weight of the KL term in the same loss.
    kl_warmup_epochs : int
        Ramp beta linearly from 0 over this many epochs (0: no warm-up).
    scaler : {"minmax", "standard"}
        Per-column scaling, fitted on the training rows only and inverted on output.
    stride : int
        Step between training window starts.
    val_fraction : float
        Share of each series' rows (its end) held out for validation and early stopping.
    batch_size : int
        Windows per training batch.
    learning_rate : float
        Adam's learning rate.
    max_epochs : int
        Most training epochs (early stopping may end sooner).
    num_workers : int
        DataLoader worker processes. 0 (the default) gathers each batch in the training
        process: one indexed copy from the shared array, faster than handing batches between
        processes (``benchmarks/training_throughput.py``).
    max_time : float, optional
        Wall-clock training limit in seconds.
    early_stopping_patience : int or None
        Epochs without validation improvement before stopping; None disables. 20: the
        validation loss of a VAE plateaus for tens of epochs and then improves again, and the
        fidelity benchmark's fresh samples kept getting closer to real data past shorter
        stops (``docs/benchmarks.md``). The best epoch's weights are restored either way.
    missing : {"error", "interpolate", "ffill", "drop"}
        What ``fit`` does with NaN.
    aggregate_components : int, optional
        Mixture components of the ``aggregate`` sampler (default: chosen by BIC).
    aggregate_fit : {"means", "draws"}
        What the ``aggregate`` mixture is fitted to: the training windows' posterior means
        (fresh windows closer to what the decoder reconstructs, harder to detect) or one
        posterior draw per window (more spread, somewhat farther from the training windows).
        See ``docs/concepts.md``.
    head_rank : int
        Shared innovation factors per step of the likelihood head: draws can move several
        features together within a step (0: features independent given the steps before;
        at most the number of features is used).
    head_lags : int
        Order of the autoregression of each value's deviation from the decoded level (0:
        deviations independent from step to step; at most the steps drawn less one are used).
    likelihood : {"gaussian", "student_t"}
        Distribution of each step's innovation: Gaussian, or a multivariate Student-t with
        learned degrees of freedom, for data that moves in occasional jumps.
    free_bits : float
        Nats per latent dimension below which the KL term no longer pushes (free bits):
        keeps the window-level code in use beside the autoregressive head.
    enforce_bounds : bool
        Clip every output value to the range of its column observed at fit (a non-negative
        load stays non-negative).
    enforce_types : bool
        Give integer columns integers (rounded) and their dtype back, bool columns ``True``/
        ``False`` (in arrays: rounded values, 0/1 for bools, dtype float64).
    enforce_resolution : bool
        Put each numeric column on the grid its values lay on at fit (the fewest decimal
        places that write every value, or a common step such as 10: Energy's ``Appliances``
        comes out in tens); detected at fit and saved in the schema (models saved before it
        have no grid).
    snap_discrete : bool
        Move each value of a column with at most 20 distinct observed values (a count, a
        setting, a level such as 0, 10, 20...) to the nearest observed value. Constant
        columns come back as exactly their constant whatever these three switches say.
    random_state : int, optional
        Seed of weights, shuffling and the aggregate fit: same seed, same model on CPU.
    progress_bar : bool
        Show Lightning's progress bar during training.
    trainer_kwargs : dict, optional
        Passed to ``pytorch_lightning.Trainer`` unchanged (accelerator, devices, strategy...).

    Examples
    --------
    >>> import tsvae
    >>> X = tsvae.datasets.make_sines(64, length=12, n_features=2, random_state=0)
    >>> model = TimeSeriesVAE(n_past=12, latent_dim=2, hidden_size=8, max_epochs=1,
    ...                       progress_bar=False, random_state=0,
    ...                       trainer_kwargs={"accelerator": "cpu"}).fit(X)
    >>> model.generate(3, as_array=True, random_state=0).shape
    (3, 12, 2)
    """

    def __init__(
        self,
        n_past: int = 24,
        n_future: int = 0,
        architecture: str = "lstm",
        latent_dim: int = 8,
        hidden_size: int = 64,
        num_layers: int = 1,
        alpha: float | None = None,
        beta: float = 1.0,
        kl_warmup_epochs: int = 0,
        scaler: str = "minmax",
        stride: int = 1,
        val_fraction: float = 0.1,
        batch_size: int = 128,
        num_workers: int = 0,
        learning_rate: float = 1e-3,
        max_epochs: int = 100,
        max_time: float | None = None,
        early_stopping_patience: int | None = 20,
        missing: str = "error",
        aggregate_components: int | None = None,
        aggregate_fit: str = "means",
        head_rank: int = 3,
        head_lags: int = 2,
        likelihood: str = "gaussian",
        free_bits: float = 0.0,
        enforce_bounds: bool = True,
        enforce_types: bool = True,
        enforce_resolution: bool = True,
        snap_discrete: bool = True,
        random_state: int | None = None,
        progress_bar: bool = True,
        trainer_kwargs: dict | None = None,
    ) -> None:
        self.n_past = n_past
        self.n_future = n_future
        self.architecture = architecture
        self.latent_dim = latent_dim
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.alpha = alpha
        self.beta = beta
        self.kl_warmup_epochs = kl_warmup_epochs
        self.scaler = scaler
        self.stride = stride
        self.val_fraction = val_fraction
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.learning_rate = learning_rate
        self.max_epochs = max_epochs
        self.max_time = max_time
        self.early_stopping_patience = early_stopping_patience
        self.missing = missing
        self.aggregate_components = aggregate_components
        self.aggregate_fit = aggregate_fit
        self.head_rank = head_rank
        self.head_lags = head_lags
        self.likelihood = likelihood
        self.free_bits = free_bits
        self.enforce_bounds = enforce_bounds
        self.enforce_types = enforce_types
        self.enforce_resolution = enforce_resolution
        self.snap_discrete = snap_discrete
        self.random_state = random_state
        self.progress_bar = progress_bar
        self.trainer_kwargs = trainer_kwargs

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        from tsvae.data.scaling import SCALERS
        from tsvae.nn.likelihood import DISTRIBUTIONS
        from tsvae.parameters import check_estimator_params

        check_estimator_params(self, architectures=ARCHITECTURES, likelihoods=DISTRIBUTIONS,
                               missing_policies=MISSING_POLICIES, scalers=SCALERS,
                               aggregate_fits=FIT_TO)

    def _check_fitted(self, doing: str = "Cannot use this model") -> None:
        """Refuse an unfitted model, an output switch that is not a bool, and a parameter
        that defines the fitted model but was changed by ``set_params`` after fit (the fitted
        state would silently stand in for it); ``doing`` starts the latter two's messages."""
        if not hasattr(self, "vae_"):
            raise NotFittedError(
                "This TimeSeriesVAE is not fitted yet; call fit(data) or TimeSeriesVAE.load(path)."
            )
        try:
            check_switches({name: getattr(self, name) for name in OUTPUT_SWITCHES})
        except ValueError as err:  # what the switch takes (not a refit: it needs none)
            raise ValueError(f"{doing}: {err}") from None
        check_unchanged_since_fit(self, doing)

    def set_params(self, **params) -> TimeSeriesVAE:
        """Set parameters (scikit-learn's ``set_params``). The output switches
        (``enforce_bounds``, ``enforce_types``, ``enforce_resolution``, ``snap_discrete``,
        ``progress_bar``) are checked here, since a fitted model reads them without a refit;
        the others at the next ``fit``. Changing a parameter that defines the fitted network
        (``alpha``, ``hidden_size``, ``free_bits``...) makes ``generate`` and ``save`` refuse
        the model until it is refitted."""
        check_switches({k: v for k, v in params.items() if k in OUTPUT_SWITCHES})
        return super().set_params(**params)

    @property
    def n_model_features(self) -> int:
        """Features the network models: identical user columns count once."""
        return int(self.feature_map_.max()) + 1

    def to_model_features(self, scaled: np.ndarray) -> np.ndarray:
        """Drop the copies of identical columns (last axis), keeping the first of each."""
        from tsvae.data.prepare import first_columns

        keep = first_columns(self.feature_map_)
        return scaled if len(keep) == scaled.shape[-1] else np.ascontiguousarray(
            scaled[..., keep])

    def to_user_features(self, scaled: np.ndarray) -> np.ndarray:
        """Copy each model feature to every user column it stands for (last axis)."""
        if len(self.feature_map_) == scaled.shape[-1]:
            return scaled
        return scaled[..., self.feature_map_]

    @property
    def window_length(self) -> int:
        """Steps in one training window: ``n_past + n_future``."""
        return self.n_past + self.n_future

    # ------------------------------------------------------------------ fit
    def fit(self, data, columns=None, time_col: str | None = None, id_col: str | None = None,
            condition_cols=None, conditions=None) -> TimeSeriesVAE:
        """Train on a DataFrame (one or several series), a 3-D array of windows or a file.

        Parameters
        ----------
        data : pandas.DataFrame, numpy.ndarray, str or path
            A frame with one row per time step (DatetimeIndex, ``time_col`` or plain index),
            ready-made windows ``(n_windows, n_past + n_future, n_features)``, or the path of
            a ``.parquet``/``.csv`` file with such rows. A path is the lean way for big data:
            the file is read once and dropped after its float32 copy (peak about 2x the float32
            features with float32 Parquet columns; see ``benchmarks/large_input_memory.py``).
        columns : list of str, optional
            Feature columns (default: every column but ``time_col``/``id_col``).
        time_col : str, optional
            Timestamp column (default: the frame's index).
        id_col : str, optional
            Series identifier for long/panel frames.
        condition_cols : list of str, optional
            Columns that condition the model (a CVAE) instead of being generated: per-series
            static attributes (constant within an ``id_col`` series) or per-row labels; a
            window's condition is its last row's. Categorical (strings, booleans, integers with
            at most 20 values) are one-hot encoded, other numbers standardised; generate for
            a condition with ``generate(n, conditions={...})``.
        conditions : array or DataFrame, optional
            For 3-D window arrays: one condition row per window (a 1-D array is one column
            named ``condition``).

        Returns
        -------
        TimeSeriesVAE
            ``self``, fitted.
        """
        self._check_params()
        # Train a fresh instance with the same parameters and adopt its fitted state only once
        # everything succeeded: a failed (re)fit leaves this model exactly as it was.
        work = type(self)(**self.get_params(deep=False))
        work._fit(data, columns=columns, time_col=time_col, id_col=id_col,
                  condition_cols=condition_cols, conditions=conditions)
        self._adopt_fitted_state(work)
        return self

    def _fitted_attributes(self) -> list[str]:
        return [k for k in vars(self) if k.endswith("_") and not k.startswith("__")]

    def _adopt_fitted_state(self, other: TimeSeriesVAE) -> None:
        """Replace this model's fitted state by ``other``'s in one step."""
        state = {k: getattr(other, k) for k in other._fitted_attributes()}
        for key in self._fitted_attributes():
            delattr(self, key)
        vars(self).pop("_condition_mixtures", None)  # cached per-condition mixtures
        vars(self).update(state)

    def _fit(self, data, *, columns, time_col, id_col, condition_cols, conditions) -> None:
        length = self.window_length
        prepared = prepare_training_data(
            data, length=length, stride=self.stride, val_fraction=self.val_fraction,
            scaler=self.scaler, missing=self.missing, columns=columns, time_col=time_col,
            id_col=id_col, condition_cols=condition_cols, conditions=conditions,
        )
        values, bounds, split = prepared.values, prepared.bounds, prepared.split
        self.columns_ = prepared.columns
        self.series_ids_ = prepared.series_ids
        self.freq_ = prepared.freq
        self.index_name_ = prepared.index_name
        self.last_index_ = prepared.last_index
        self.scaler_ = prepared.scaler
        self.schema_ = prepared.schema
        self.time_col_, self.id_col_ = time_col, id_col
        # What the network was trained as: set_params cannot change it without a refit.
        self.training_params_ = {k: getattr(self, k) for k in TRAINING_PARAMS}
        self.n_features_ = len(self.columns_)
        self.feature_map_ = prepared.feature_map
        self.condition_encoder_ = None
        condition_rows = None
        if prepared.conditions is not None:
            self.condition_encoder_ = ConditionEncoder().fit(prepared.conditions)
            condition_rows = self.condition_encoder_.transform(prepared.conditions)
            if prepared.from_frame and id_col is not None:
                _warn_if_not_static(prepared.conditions, bounds)
        _check_enough_windows(len(split.train_starts), self)
        self._check_training_fits()
        # The last n_past scaled rows of each series: where generate_series continues from.
        self.tails_ = ([values[b - self.n_past:b].copy() for _, b in bounds]
                       if prepared.from_frame else None)

        seed = self.random_state
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2**31))
        self.seed_ = int(seed)
        datamodule = WindowDataModule(values, split.train_starts, split.val_starts, length,
                                      batch_size=self.batch_size, num_workers=self.num_workers,
                                      seed=self.seed_, conditions=condition_rows)
        has_validation = len(split.val_starts) > 0
        trainer = build_trainer(
            max_epochs=self.max_epochs, max_time=self.max_time,
            patience=self.early_stopping_patience, has_validation=has_validation,
            progress_bar=self.progress_bar, trainer_kwargs=self.trainer_kwargs,
        )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed_)
            vae = self._build_vae()
            # The head starts at the training windows' level and step size (a sample of
            # evenly spaced windows).
            train_set = datamodule.train_set
            picks = np.unique(np.linspace(0, len(train_set) - 1,
                                          min(2_000, len(train_set))).astype(int))
            batch = train_set.__getitems__(picks.tolist())
            vae.initialise_head(batch[0] if isinstance(batch, tuple) else batch)
            module = VAELightningModule(vae, alpha=self.alpha, beta=self.beta,
                                        free_bits=self.free_bits,
                                        kl_warmup_epochs=self.kl_warmup_epochs,
                                        learning_rate=self.learning_rate)
            run_training(trainer, module, datamodule)
        check_training_outcome(trainer, vae, has_validation=has_validation,
                               learning_rate=self.learning_rate)
        self.vae_ = vae.cpu().eval()
        # Under DDP every rank runs this code; only global rank 0 writes files (see save).
        self.is_global_zero_ = bool(trainer.is_global_zero)
        self.n_epochs_ = int(trainer.current_epoch)
        self.history_ = {k: float(v) for k, v in trainer.callback_metrics.items()}
        if has_validation:
            elbo = self._held_out_elbo(datamodule.val_set)
            self.history_["held_out_elbo_per_value"] = elbo
            logger.info("held-out ELBO: %.4f nats per value (validation windows, scaled data)",
                        elbo)

        self.train_latents_ = self._encode_training(datamodule.train_set, bounds)
        self.aggregate_sampler_ = AggregateSampler(
            self.aggregate_components, fit_to=self.aggregate_fit, random_state=self.seed_
        ).fit(self.train_latents_.latents)
        from tsvae.diagnostics import latent_diagnostics

        # Low-dimensional figures a model file keeps even without the training codes.
        self.latent_summary_ = latent_diagnostics(self).to_dict()

    def _check_training_fits(self) -> None:
        """Refuse, before training, a network whose training cannot fit in memory (wide
        data: the likelihood head's outputs grow with features x (2 + lags + rank) per step),
        with the figure and what to do."""
        from tsvae.generation.budget import check_fits_in_memory, training_bytes

        with torch.device("meta"):  # shapes only: nothing allocated however large
            n_parameters = sum(p.numel() for p in self._build_vae().parameters())
        features = self.n_model_features
        rank = min(self.head_rank, features)
        per_step = features * (2 + self.head_lags + 2 * rank + 2) + 8 * self.hidden_size
        check_fits_in_memory(
            training_bytes(n_parameters, self.batch_size, self.window_length, per_step),
            f"a network of {n_parameters:,} parameters on batches of {self.batch_size} "
            f"windows of {self.window_length} steps x {features} features",
            "fit fewer columns per model, or lower batch_size, hidden_size, head_rank or "
            "head_lags", action="Training")

    def _held_out_elbo(self, dataset, batch_size: int = 256) -> float:
        """ELBO per value of the kept weights on ``dataset`` (one seeded posterior draw per
        window; at most :data:`MAX_ELBO_WINDOWS` evenly spaced windows), in nats on the
        scaled data: the figure models are compared by."""
        from tsvae.model.vae import vae_loss

        picks = np.unique(np.linspace(0, len(dataset) - 1,
                                      min(len(dataset), MAX_ELBO_WINDOWS)).astype(int))
        total, count = 0.0, 0
        with torch.inference_mode(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed_)
            for first in range(0, len(picks), batch_size):
                batch = dataset.__getitems__(picks[first:first + batch_size].tolist())
                windows, condition = batch if isinstance(batch, tuple) else (batch, None)
                params, mu, log_var = self.vae_(windows, condition)
                out = vae_loss(params, self.vae_.target(windows), mu, log_var,
                               alpha=self.alpha)
                total += float(out["elbo_per_value"]) * len(windows)
                count += len(windows)
        return total / max(count, 1)

    def _build_vae(self) -> SequenceVAE:
        return SequenceVAE(self.n_model_features, self.n_past, self.n_future,
                           architecture=self.architecture, latent_dim=self.latent_dim,
                           hidden_size=self.hidden_size, num_layers=self.num_layers,
                           condition_dim=self.condition_dim,
                           head_rank=min(self.head_rank, self.n_model_features),
                           # No lag reaches back past the first step drawn.
                           head_lags=min(self.head_lags, (self.n_future or self.n_past) - 1),
                           likelihood=self.likelihood,
                           legacy_output=getattr(self, "legacy_", None) is not None)

    @property
    def draw_scale(self) -> float | None:
        """The fixed standard deviation of ``p(x | z)`` of a model trained with a fixed
        ``alpha`` (``None``: the likelihood head's learned scales)."""
        from tsvae.nn.likelihood import fixed_scale

        alpha = getattr(self, "training_params_", {}).get("alpha", self.alpha)
        return None if alpha is None else fixed_scale(alpha)

    @property
    def condition_dim(self) -> int:
        """Length of the condition vector (0 for an unconditioned model)."""
        encoder = getattr(self, "condition_encoder_", None)
        return encoder.dim if encoder is not None else 0

    def condition_vectors(self, conditions, n: int | None = None) -> np.ndarray | None:
        """Encoded condition vectors ``(n, dim)`` of a dict (repeated ``n`` times) or a frame
        of condition rows; None for an unconditioned model (which then refuses conditions)."""
        self._check_fitted()
        if self.condition_encoder_ is None:
            if conditions is not None:
                raise ValueError("This model was fitted without conditions; refit with "
                                 "condition_cols=[...] (or conditions= for window arrays).")
            return None
        if conditions is None:
            raise ValueError(
                "This model is conditional: pass conditions={...} with "
                + ", ".join(f"{c!r} ({self.condition_encoder_.allowed(c)})"
                            for c in self.condition_encoder_.columns)
                + ", or a DataFrame of condition rows.")
        vectors = self.condition_encoder_.transform(conditions)
        if len(vectors) == 1 and n is not None:
            return np.repeat(vectors, n, axis=0)
        if n is not None and len(vectors) != n:
            raise ValueError(f"conditions has {len(vectors)} rows but {n} windows are asked "
                             "for; pass one row per window or a dict for all of them.")
        return vectors

    def _conditional(self) -> bool:
        """Whether the decoder reads a past context or a condition vector beside ``z``."""
        return bool(self.n_future or self.condition_dim)

    def _encode_training(self, dataset, bounds, batch_size: int = 256) -> TrainingLatents:
        """Posteriors (and, with a past, the decoder's past context) of the training windows;
        a seeded random subset beyond :data:`MAX_STORED_LATENTS`."""
        chosen = np.arange(len(dataset))
        if len(chosen) > MAX_STORED_LATENTS:
            rng = np.random.default_rng(self.seed_)
            chosen = np.sort(rng.choice(len(chosen), MAX_STORED_LATENTS, replace=False))
            logger.info("keeping the posteriors of %d of %d training windows",
                        MAX_STORED_LATENTS, len(dataset))
        # Filled in place: one array each instead of a list of per-batch copies (a large fit's
        # peak memory is reached here).
        mus = np.empty((len(chosen), self.latent_dim), dtype=np.float32)
        log_vars = np.empty_like(mus)
        contexts = None
        with torch.inference_mode():
            for first in range(0, len(chosen), batch_size):
                part = slice(first, first + batch_size)
                batch = dataset.__getitems__(chosen[part].tolist())
                batch, condition = batch if isinstance(batch, tuple) else (batch, None)
                mu, log_var = self.vae_.encode(batch, condition)
                past = batch[:, : self.n_past] if self.n_future else None
                decoded = self.vae_.decode(mu, past, condition)
                check_reconstructions(mu.numpy(), log_var.numpy(),
                                      (self.vae_.target(batch) - decoded).numpy(),
                                      self.learning_rate)
                mus[part], log_vars[part] = mu.numpy(), log_var.numpy()
                if self.n_future:
                    context = self.vae_.past_context(past).numpy()
                    if contexts is None:
                        contexts = np.empty((len(chosen), *context.shape[1:]), np.float32)
                    contexts[part] = context
        starts = dataset.starts.numpy()[chosen]
        # A window's condition is its last row's, as the dataset serves it.
        conditions = (None if dataset.conditions is None else
                      dataset.conditions[torch.as_tensor(starts + dataset.length - 1)].numpy())
        series = np.searchsorted(np.array([b for _, b in bounds]), starts, side="right")
        return TrainingLatents(Latents(mus, log_vars), series.astype(np.int64), contexts,
                               conditions)

    # ------------------------------------------------------------------ windows in and out
    def scaled_windows(self, x) -> np.ndarray:
        """Turn user windows or a series frame into scaled model-space windows.

        ``x`` may be a 3-D array or long frame (``sample``, ``step``, features) in original
        units, or a series frame with the model's columns (windowed with stride 1).
        """
        self._check_fitted()
        length = self.window_length
        affine = (self.scaler_.offset_, self.scaler_.scale_)  # scaled in float64, then cast
        if isinstance(x, pd.DataFrame) and is_long_format(x):
            windows = frame_to_windows(x, self.columns_)
        elif isinstance(x, pd.DataFrame):
            missing = [c for c in self.columns_ if c not in x.columns]
            if missing:
                raise ValueError(f"Column {missing[0]!r} the model was fitted on is missing; "
                                 f"the frame needs columns {self.columns_!r}.")
            series = validate_frame(x, columns=self.columns_, missing="error",
                                    min_length=length, affine=affine)
            windows = np.concatenate(
                [sliding_windows(series.values[a:b], length) for a, b in series.bounds]
            )
            affine = None  # already scaled
        else:
            windows = x
        shape = np.shape(windows)
        if len(shape) == 3 and shape[2] != self.n_features_:
            raise ValueError(f"Windows have {shape[2]} features but the model was "
                             f"fitted on {self.n_features_} ({self.columns_!r}).")
        windows = validate_windows(windows, window_length=length, affine=affine)
        return self.to_model_features(windows)

    def to_original_units(self, scaled: np.ndarray) -> np.ndarray:
        """Model-space scaled values -> user columns in original units (float64)."""
        return self.scaler_.inverse_transform(self.to_user_features(scaled))

    @property
    def output_schema(self) -> OutputSchema:
        """The fitted :class:`~tsvae.data.schema.OutputSchema` of the feature columns."""
        self._check_fitted()
        schema = getattr(self, "schema_", None)
        return schema if schema is not None else OutputSchema.unconstrained(self.columns_)

    def to_output_units(self, scaled: np.ndarray) -> np.ndarray:
        """Model-space scaled values -> user columns as output (float64): original units with
        the schema restored (bounds, integers, bools, observed levels, constants) as the
        ``enforce_bounds``, ``enforce_types``, ``enforce_resolution`` and ``snap_discrete``
        parameters say."""
        return self.output_schema.restore(
            self.to_original_units(scaled), bounds=bool(self.enforce_bounds),
            types=bool(self.enforce_types), snap=bool(self.snap_discrete),
            resolution=bool(self.enforce_resolution))

    def output_frame(self, windows: np.ndarray, *, extra: dict | None = None,
                     layout: str = "long", times: pd.Index | None = None) -> pd.DataFrame:
        """Windows already in output units -> the frame users get (dtypes restored)."""
        time_name = self.time_col_ or self.index_name_ or "timestamp"
        taken = {*self.columns_, *(extra or {}), "sample", "step"}
        if times is not None and time_name in taken:
            # Never a name the frame already has: timestamp, timestamp_1, ...
            time_name = next(name for name in
                             ("timestamp", *(f"timestamp_{k}" for k in range(1, len(taken) + 2)))
                             if name not in taken)
        frame = windows_to_frame(windows, self.columns_, extra=extra, layout=layout,
                                 times=times, time_name=time_name)
        return self.output_schema.cast(frame) if self.enforce_types else frame

    def _to_output(self, scaled: np.ndarray, as_array: bool, extra: dict | None = None,
                   layout: str = "long"):
        windows = self.to_output_units(scaled)
        if as_array:
            return windows
        return self.output_frame(windows, extra=extra, layout=layout)

    # ------------------------------------------------------------------ public API
    def _windows_and_conditions(self, x, conditions):
        windows = torch.from_numpy(self.scaled_windows(x))
        vectors = self.condition_vectors(conditions, len(windows))
        return windows, (torch.from_numpy(vectors) if vectors is not None else None)

    def encode(self, x, conditions=None) -> tuple[np.ndarray, np.ndarray]:
        """Posterior ``(mu, log_var)`` of real windows (see :meth:`scaled_windows` for ``x``;
        a conditioned model also needs their ``conditions``, a dict or one row per window).

        Returns
        -------
        mu, log_var : numpy.ndarray
            Arrays of shape ``(N, latent_dim)``.
        """
        windows, condition = self._windows_and_conditions(x, conditions)
        with torch.inference_mode():
            mu, log_var = self.vae_.encode(windows, condition)
        return mu.numpy(), log_var.numpy()

    def reconstruct(self, x, *, conditions=None, as_array: bool = False, layout: str = "long"):
        """Decode the posterior mean of real windows into their decoded mean (each step's mean
        fed back), in original units (schema restored, ``layout`` as in
        :func:`tsvae.generate_new_data`). The same as ``generate(method="noisy_posterior",
        noise_scale=0, observation_noise=False, x=x)``."""
        from tsvae.data.long_format import check_layout
        from tsvae.generation.generate import decode_windows

        check_layout(layout)
        windows, condition = self._windows_and_conditions(x, conditions)
        with torch.inference_mode():
            mu, _ = self.vae_.encode(windows, condition)
            past = windows[:, : self.n_past] if self.n_future else None
            context = self.vae_.context(past, condition)
        decoded = decode_windows(self, mu.numpy(), None if context is None else context.numpy(),
                                 np.random.default_rng(0), observation_noise=False,
                                 conditions=None if condition is None else condition.numpy())
        return self._to_output(decoded, as_array, layout=layout)

    def generate(self, n: int | None = None, method: str = "aggregate", *, noise_scale: float = 1.0,
                 x=None, context=None, random_state=None, as_array: bool = False,
                 return_latents: bool = False, observation_noise: bool | None = None,
                 batch_size: int | None = None, precision: str = "32", conditions=None,
                 layout: str = "long", start=None):
        """Generate ``n`` synthetic windows; see :func:`tsvae.generate_new_data`."""
        from tsvae.generation.generate import DECODE_BATCH, generate_new_data

        return generate_new_data(self, x, n=n, method=method, noise_scale=noise_scale,
                                 context=context, random_state=random_state,
                                 as_array=as_array, return_latents=return_latents,
                                 observation_noise=observation_noise,
                                 batch_size=DECODE_BATCH if batch_size is None else batch_size,
                                 precision=precision, conditions=conditions, layout=layout,
                                 start=start)

    def generate_series(self, length: int, method: str = "aggregate", *, context=None,
                        noise_scale: float = 1.0, random_state=None,
                        observation_noise: bool | None = None, conditions=None):
        """Roll a conditional model forward into one long series; see
        :func:`tsvae.generation.generate_series`."""
        from tsvae.generation.generate import generate_series

        return generate_series(self, length, method=method, context=context,
                               noise_scale=noise_scale, random_state=random_state,
                               observation_noise=observation_noise, conditions=conditions)

    def latent_diagnostics(self, *, active_threshold: float = 0.01, n_prior: int = 2_000,
                           random_state: int | None = 0):
        """KL per dimension, active units, aggregated posterior and prior-hole score; see
        :func:`tsvae.diagnostics.latent_diagnostics`."""
        from tsvae.diagnostics import latent_diagnostics

        return latent_diagnostics(self, active_threshold=active_threshold, n_prior=n_prior,
                                  random_state=random_state)

    def save(self, path, *, overwrite: bool = False, keep_training_data: bool = False) -> None:
        """Write the model to one file (JSON + safetensors in a zip; never pickle).

        The file is written atomically and an existing one is refused unless ``overwrite``
        (as ``tsvae fit -o`` without ``--overwrite``); see :func:`tsvae.io.atomic_write`.
        It holds the weights, the scaler, the output schema (names, types, each column's
        observed range and levels) and low-dimensional latent summaries (the ``aggregate``
        mixture, the latent diagnostics). ``keep_training_data=True`` also stores every
        training window's posterior code (and, with ``n_future > 0``, its past context) and
        the last ``n_past`` rows of each series: ``posterior`` without ``x``, fresh windows
        of an ``n_future`` model without ``context`` and ``generate_series`` without
        ``context`` need them, and they decode back to near-copies of the training windows.
        After a multi-process fit (``trainer_kwargs={"strategy": "ddp", ...}``) only global
        rank 0 writes; the other ranks return without touching ``path``.
        """
        from tsvae.persistence import save_model

        if not getattr(self, "is_global_zero_", True):
            logger.info("not saving %s: this process is not global rank 0", path)
            return
        save_model(self, path, overwrite=overwrite, keep_training_data=keep_training_data)

    @classmethod
    def load(cls, path) -> TimeSeriesVAE:
        """Read a model written by :meth:`save`."""
        from tsvae.persistence import load_model

        return load_model(cls, path)
