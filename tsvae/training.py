"""Trainer assembly: defaults, early stopping, best-weight restore, determinism."""

from __future__ import annotations

import copy
import datetime as dt
import logging
import signal
import sys
import threading

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback, EarlyStopping, ProgressBar, TQDMProgressBar
from pytorch_lightning.callbacks.progress.tqdm_progress import Tqdm

from tsvae._quiet import interactive, lightning_quiet
from tsvae.model.lightning import TrainingDivergedError

logger = logging.getLogger(__name__)


class RestoreBestWeights(Callback):
    """Keep the weights of the epoch with the lowest ``monitor`` and load them at the end."""

    def __init__(self, monitor: str = "val_loss") -> None:
        self.monitor = monitor
        self.best_score = float("inf")
        self.best_state: dict | None = None
        self.best_epoch: int | None = None

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        score = trainer.callback_metrics.get(self.monitor)
        if score is not None and float(score) < self.best_score:
            self.best_score = float(score)
            self.best_epoch = trainer.current_epoch
            self.best_state = copy.deepcopy(pl_module.state_dict())

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.best_state is not None:
            pl_module.load_state_dict(self.best_state)
            logger.info("restored weights of epoch %d (%s=%.4f)", self.best_epoch,
                        self.monitor, self.best_score)


class StderrProgressBar(TQDMProgressBar):
    """Lightning's progress bar, written to stderr (stdout stays for results)."""

    def _bar(self, desc: str, position: int, leave: bool, **extra) -> Tqdm:
        return Tqdm(desc=desc, position=position, disable=self.is_disabled, leave=leave,
                    dynamic_ncols=True, file=sys.stderr, bar_format=self.BAR_FORMAT, **extra)

    def init_sanity_tqdm(self) -> Tqdm:
        return self._bar(self.sanity_check_description, 2 * self.process_position, False)

    def init_train_tqdm(self) -> Tqdm:
        return self._bar(self.train_description, 2 * self.process_position, True, smoothing=0)

    def init_validation_tqdm(self) -> Tqdm:
        has_main_bar = self.trainer.state.fn != "validate"
        return self._bar(self.validation_description,
                         2 * self.process_position + has_main_bar, not has_main_bar)


def build_trainer(*, max_epochs: int, max_time: float | None, patience: int | None,
                  has_validation: bool, progress_bar: bool,
                  trainer_kwargs: dict | None) -> pl.Trainer:
    """A Lightning Trainer with tsvae's defaults; ``trainer_kwargs`` override them unchanged.

    The progress bar goes to stderr, and only when someone watches (a terminal or a
    notebook); Lightning's hardware lines and tips are not shown.
    """
    callbacks: list[Callback] = []
    progress_bar = bool(progress_bar) and interactive()
    if has_validation:
        callbacks.append(RestoreBestWeights("val_loss"))
        if patience is not None:
            callbacks.append(EarlyStopping("val_loss", patience=patience, mode="min"))
    options = {
        "max_epochs": max_epochs,
        "max_time": dt.timedelta(seconds=max_time) if max_time is not None else None,
        "enable_progress_bar": progress_bar,
        "enable_model_summary": False,
        "enable_checkpointing": False,
        "logger": False,
        "num_sanity_val_steps": 0,
    }
    if not has_validation:
        options["limit_val_batches"] = 0
    extra = dict(trainer_kwargs or {})
    user_callbacks = extra.pop("callbacks", None) or []
    if not isinstance(user_callbacks, (list, tuple)):
        user_callbacks = [user_callbacks]
    wrong = [c for c in user_callbacks if not isinstance(c, Callback)]
    if wrong:
        raise ValueError("trainer_kwargs['callbacks'] must hold pytorch_lightning Callback "
                         f"objects, got {type(wrong[0]).__name__} ({wrong[0]!r:.60}); pass "
                         "instances such as pytorch_lightning.callbacks.LearningRateMonitor().")
    user_callbacks = list(user_callbacks)
    options.update(extra)
    if options["enable_progress_bar"] and not any(isinstance(c, ProgressBar)
                                                  for c in user_callbacks):
        callbacks.append(StderrProgressBar())
    options["callbacks"] = callbacks + user_callbacks
    with lightning_quiet():
        return pl.Trainer(**options)


def run_training(trainer: pl.Trainer, module: pl.LightningModule, datamodule) -> None:
    """``trainer.fit``, with Ctrl-C raised as ``KeyboardInterrupt``.

    Lightning answers Ctrl-C by ignoring SIGINT from then on and calling ``sys.exit(1)``; a
    user of ``fit`` (in a notebook, or the CLI) expects an interrupt, and a working Ctrl-C
    afterwards.
    """
    in_main_thread = threading.current_thread() is threading.main_thread()
    handler = signal.getsignal(signal.SIGINT) if in_main_thread else None
    try:
        with lightning_quiet():
            trainer.fit(module, datamodule=datamodule)
    except SystemExit as exit_:
        if trainer.interrupted:
            raise KeyboardInterrupt("training interrupted") from None
        raise exit_
    finally:
        if in_main_thread and handler is not None:
            signal.signal(signal.SIGINT, handler)


#: Largest reconstruction error, in scaled units (the data spans about 1), that a trained
#: model may make on its own training windows; beyond it the weights have blown up.
MAX_SCALED_RESIDUAL = 1e6


def _advice(learning_rate: float) -> str:
    return (f"Likely causes: a learning rate too high (try learning_rate={learning_rate / 10:g})"
            ", inputs with extreme values, or too large alpha.")


def check_training_outcome(trainer: pl.Trainer, vae: torch.nn.Module, *, has_validation: bool,
                           learning_rate: float) -> None:
    """Refuse a model that did not train or whose final weights are unusable.

    Raises ``RuntimeError`` when no optimizer step ran (e.g. ``max_time`` spent before the
    first batch) and :class:`~tsvae.model.lightning.TrainingDivergedError` when a weight is
    not finite or no epoch reached a finite validation loss.
    """
    if trainer.global_step == 0:
        raise RuntimeError("Training stopped before the first optimizer step, so the model "
                           "learned nothing; allow more max_time or max_epochs.")
    for name, tensor in vae.state_dict().items():
        if not torch.isfinite(tensor).all():
            raise TrainingDivergedError(f"Training diverged: weight {name!r} is not finite "
                                        f"after training. {_advice(learning_rate)}")
    if has_validation:
        restore = next((c for c in trainer.callbacks if isinstance(c, RestoreBestWeights)), None)
        if restore is not None and restore.best_state is None:
            last = trainer.callback_metrics.get("val_loss")
            raise TrainingDivergedError(
                "Training diverged: no epoch reached a finite validation loss (last "
                f"{float(last) if last is not None else 'none'}). {_advice(learning_rate)}")


def check_reconstructions(mu: np.ndarray, log_var: np.ndarray, residual: np.ndarray,
                          learning_rate: float) -> None:
    """Refuse trained weights whose posteriors or reconstructions of training windows are not
    finite or are absurdly far off (the last step of training can blow up unnoticed)."""
    finite = np.isfinite(mu).all() and np.isfinite(log_var).all() and np.isfinite(residual).all()
    if not finite or np.abs(residual).max(initial=0.0) > MAX_SCALED_RESIDUAL:
        raise TrainingDivergedError(
            "Training diverged: the trained model's reconstructions of its own training windows "
            f"are not finite or off by more than {MAX_SCALED_RESIDUAL:g} times the data's range. "
            f"{_advice(learning_rate)}")
