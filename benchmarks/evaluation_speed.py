"""Time ``tsvae.evaluate`` on 10,000 windows x 24 steps x 28 features (energy-sized).

Run: ``make bench`` (or ``python benchmarks/evaluation_speed.py [--repeats 3]``).
Targets: the full evaluation under 2 minutes and ``fast=True`` under 20 seconds on 2 cores.
The synthetic side is the real windows plus noise, so every check has work to do.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import tsvae
from tsvae.data.windows import sliding_windows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--windows", type=int, default=10_000)
    args = parser.parse_args()
    data = tsvae.datasets.load_energy().to_numpy(np.float64)
    windows = np.ascontiguousarray(sliding_windows(data, 24))
    rng = np.random.default_rng(0)
    real = windows[rng.choice(len(windows), args.windows, replace=False)]
    synthetic = real + rng.normal(size=real.shape) * real.std(axis=(0, 1)) * 0.1
    print(f"{args.windows:,} windows x 24 steps x {real.shape[2]} features, "
          f"median of {args.repeats}")
    for label, fast, plots in (("full (all checks, plots)", False, True),
                               ("full (all checks, no plots)", False, False),
                               ("fast=True (no plots)", True, False)):
        times = []
        for seed in range(args.repeats):
            start = time.perf_counter()
            tsvae.evaluate(real, synthetic, fast=fast, plots_in_report=plots, random_state=seed)
            times.append(time.perf_counter() - start)
        print(f"{label:<30} median {statistics.median(times):6.1f} s  "
              f"(runs: {', '.join(f'{t:.1f}' for t in times)})")


if __name__ == "__main__":
    main()
