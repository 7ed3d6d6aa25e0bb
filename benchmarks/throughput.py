"""Training and generation throughput on the bundled energy data (28 features, n_past=24).

Run: ``make bench`` (or ``python benchmarks/throughput.py [--epochs 3] [--repeats 3]``).
Prints windows/s (median of repeats) for the lstm and conv architectures and peak memory.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    load_energy_and_describe,
    median_time,
    peak_rss_mib,
    quiet_lightning,
)

import tsvae  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--generate", type=int, default=100_000, help="windows to generate")
    args = parser.parse_args()
    quiet_lightning()
    data = load_energy_and_describe("batch 128")
    print(f"{'architecture':<13}{'train win/s':>12}{'epoch s':>9}{'prior gen win/s':>17}"
          f"{'posterior gen win/s':>21}")
    for architecture in ("lstm", "conv"):
        model = tsvae.TimeSeriesVAE(n_past=24, architecture=architecture, max_epochs=args.epochs,
                                    early_stopping_patience=None, val_fraction=0.0,
                                    progress_bar=False, random_state=0,
                                    trainer_kwargs={"accelerator": "cpu"})
        n_windows = len(data) - 24 + 1
        fit_s, _ = median_time(lambda m=model: m.fit(data), args.repeats)
        train_rate = n_windows * args.epochs / fit_s
        rates = {}
        for method in ("prior", "posterior"):
            start = time.perf_counter()
            model.generate(args.generate, method=method, random_state=0, as_array=True)
            rates[method] = args.generate / (time.perf_counter() - start)
        print(f"{architecture:<13}{train_rate:>12,.0f}{fit_s / args.epochs:>9.2f}"
              f"{rates['prior']:>17,.0f}{rates['posterior']:>21,.0f}")
    print(f"peak resident memory: {peak_rss_mib():,.0f} MiB")
    print("(train win/s = windows x epochs / fit wall time, fit includes latent encoding and "
          "the aggregate mixture; median of repeats)")


if __name__ == "__main__":
    main()
