"""Time ``tsvae.evaluate`` on 3,000 real + 3,000 synthetic windows of 24 steps x 28 features
(the bundled energy data), with a table of the seconds each check took.

Run: ``make bench`` (or ``python benchmarks/evaluation_speed.py [--quick] [--compare]``).
Targets on 2 cores: the default evaluation at most 60 s, ``fast=True`` at most 10 s,
``compare_methods`` over the four methods at most 4 minutes (``--compare``: trains a small
model first). The TimeGAN-protocol GRU scores (group ``timegan``, not in the default) are
timed on their own row. The synthetic side is the real windows plus noise, so every check has
work to do. ``--quick``: 600 windows a side, one run, for a smoke test.
"""

from __future__ import annotations

import argparse
import logging
import os
import time

import numpy as np
import pandas as pd

import tsvae
from tsvae.data.windows import sliding_windows


def _windows(n: int) -> tuple[np.ndarray, np.ndarray]:
    data = tsvae.datasets.load_energy().to_numpy(np.float64)
    windows = np.ascontiguousarray(sliding_windows(data, 24))
    rng = np.random.default_rng(0)
    real = windows[np.sort(rng.choice(len(windows), n, replace=False))]
    synthetic = real + rng.normal(size=real.shape) * real.std(axis=(0, 1)) * 0.1
    return real, synthetic


def _load() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - platforms without getloadavg
        return "n/a"


def time_evaluations(real, synthetic, runs) -> pd.DataFrame:
    """One column per run (label -> evaluate keyword arguments): seconds per check, and the
    total wall time in the last row."""
    table = {}
    for label, kwargs in runs.items():
        start = time.perf_counter()
        report = tsvae.evaluate(real, synthetic, random_state=0, progress=False, **kwargs)
        total = time.perf_counter() - start
        column = dict(report.meta["seconds"])
        column["TOTAL (wall)"] = total
        table[label] = column
        print(f"{label}: {total:.1f} s (load average {_load()})", flush=True)
    return pd.DataFrame(table)


def time_compare(real_frame: pd.DataFrame, n: int) -> float:
    model = tsvae.TimeSeriesVAE(n_past=24, max_epochs=2, progress_bar=False, random_state=0)
    model.fit(real_frame)
    start = time.perf_counter()
    tsvae.compare_methods(model, real_frame, n=n, random_state=0, progress=False,
                          plots_in_report=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="600 windows a side, no GRU row: a smoke test of the script")
    parser.add_argument("--windows", type=int, default=None,
                        help="windows a side (default: 3,000; 600 with --quick)")
    parser.add_argument("--compare", action="store_true",
                        help="also time compare_methods over the four methods")
    parser.add_argument("--no-timegan", action="store_true",
                        help="skip the row of the TimeGAN GRU scores (minutes)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="  %(message)s")
    logging.getLogger("tsvae.evaluation").setLevel(logging.INFO)
    n = args.windows or (600 if args.quick else 3_000)
    real, synthetic = _windows(n)
    print(f"{n:,} real + {n:,} synthetic windows x 24 steps x {real.shape[2]} features; "
          f"load average before: {_load()}", flush=True)
    runs = {"default": {}, "default, no plots": {"plots_in_report": False},
            "fast=True": {"fast": True, "plots_in_report": False}}
    if not (args.quick or args.no_timegan):
        runs["timegan group"] = {"checks": ["timegan"], "plots_in_report": False}
    table = time_evaluations(real, synthetic, runs)
    with pd.option_context("display.float_format", "{:.1f}".format,
                           "display.max_rows", 100):
        print("\nseconds per check (blank: not run)")
        print(table.to_string(na_rep=""))
    if args.compare:
        frame = tsvae.datasets.load_energy()
        seconds = time_compare(frame, n)
        print(f"\ncompare_methods, four methods, {n:,} windows each: {seconds:.1f} s "
              f"(load average {_load()})")


if __name__ == "__main__":
    main()
