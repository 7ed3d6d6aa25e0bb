"""Training throughput (windows/s) across ``batch_size`` and ``num_workers``.

Run: ``make bench`` (or ``python benchmarks/training_throughput.py [--epochs 2]``).
Energy data (28 features, n_past=24), lstm and conv, default network sizes. The rate is
training windows / wall time of the last training epoch (so worker start-up is not counted;
it is printed separately as the first epoch's extra seconds). The defaults
(``batch_size=128``, ``num_workers=0``) were chosen from this table.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pytorch_lightning as pl  # noqa: E402
from _common import load_energy_and_describe, quiet_lightning  # noqa: E402

import tsvae  # noqa: E402


class EpochClock(pl.Callback):
    """Wall time of every training epoch."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._start = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self.seconds.append(time.perf_counter() - self._start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 64, 128, 256, 512])
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--architectures", nargs="+", default=["lstm", "conv"])
    args = parser.parse_args()
    quiet_lightning()
    data = load_energy_and_describe(f"{args.epochs} epochs")
    print(f"{'architecture':<13}{'batch_size':>11}{'num_workers':>12}{'train win/s':>13}"
          f"{'first-epoch extra s':>21}{'val_loss':>10}")
    for architecture in args.architectures:
        for batch_size in args.batch_sizes:
            for workers in args.workers:
                clock = EpochClock()
                model = tsvae.TimeSeriesVAE(
                    n_past=24, architecture=architecture, batch_size=batch_size,
                    num_workers=workers, max_epochs=args.epochs, early_stopping_patience=None,
                    progress_bar=False, random_state=0,
                    trainer_kwargs={"accelerator": "cpu", "callbacks": [clock]}).fit(data)
                n_train = len(model.train_latents_.latents.mu)
                rate = n_train / clock.seconds[-1]
                print(f"{architecture:<13}{batch_size:>11}{workers:>12}{rate:>13,.0f}"
                      f"{clock.seconds[0] - clock.seconds[-1]:>21.1f}"
                      f"{model.history_.get('val_loss', float('nan')):>10.1f}")


if __name__ == "__main__":
    main()
