"""Trainer assembly: defaults, early stopping, best-weight restore, determinism."""

from __future__ import annotations

import copy
import datetime as dt
import logging

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback, EarlyStopping

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


def build_trainer(*, max_epochs: int, max_time: float | None, patience: int | None,
                  has_validation: bool, progress_bar: bool,
                  trainer_kwargs: dict | None) -> pl.Trainer:
    """A Lightning Trainer with tsvae's defaults; ``trainer_kwargs`` override them unchanged."""
    callbacks: list[Callback] = []
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
    if not isinstance(user_callbacks, list):
        user_callbacks = [user_callbacks]
    options.update(extra)
    options["callbacks"] = callbacks + user_callbacks
    return pl.Trainer(**options)
