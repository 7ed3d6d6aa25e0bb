"""Conditional generation end to end: condition fidelity and per-condition checks.

Run: ``python benchmarks/condition_fidelity.py [--epochs 30]``.
1. Two-class sines (slow 0.1-0.25 vs fast 0.6-0.8 rad/step, 2 features, 1,600 windows),
   fitted with ``conditions=``; 2. bundled Energy with a per-row ``weekend`` label
   (``condition_cols=["weekend"]``), default network sizes. For each architecture and the
   ``prior`` and ``aggregate`` methods it generates windows for every condition and prints
   ``evaluate(..., by=...)``: accuracy of a real-trained condition classifier on held-out real
   windows vs on the synthetic ones, and the verdict per condition (``fast=True`` checks).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _common import quiet_lightning  # noqa: E402

import tsvae  # noqa: E402
from tests.test_conditional import as_long, two_class_sines  # noqa: E402


def report_line(name: str, report, seconds: float) -> str:
    f = report.fidelity
    table = report.table
    verdicts = ", ".join(f"{k}: {'pass' if p else 'fail'} ({r:.2f})" for k, p, r in
                         zip(table.iloc[:, 0], table["passed"], table["pass_rate"], strict=True))
    return (f"{name:<28} real held-out acc {f['real_holdout_accuracy']:.3f}  synthetic acc "
            f"{f['synthetic_accuracy']:.3f}  gap {f['gap']:+.3f}  fit {seconds:.0f} s  "
            f"[{verdicts}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    quiet_lightning()
    x, y = two_class_sines(800)
    energy = tsvae.datasets.load_energy()
    energy = energy.assign(weekend=energy.index.dayofweek >= 5)
    for architecture in ("lstm", "conv"):
        common = dict(n_past=24, architecture=architecture, max_epochs=args.epochs,
                      progress_bar=False, random_state=0, trainer_kwargs={"accelerator": "cpu"})
        start = time.perf_counter()
        model = tsvae.TimeSeriesVAE(batch_size=64, learning_rate=3e-3, **common).fit(
            x, conditions=y)
        seconds = time.perf_counter() - start
        for method in ("prior", "aggregate"):
            wanted = pd.DataFrame({"condition": ["slow"] * 500 + ["fast"] * 500})
            synthetic = model.generate(method=method, conditions=wanted, random_state=1)
            report = tsvae.evaluate(as_long(x, y), synthetic, by="condition", fast=True,
                                    plots_in_report=False)
            print(report_line(f"sines {architecture} {method}", report, seconds), flush=True)
        start = time.perf_counter()
        model = tsvae.TimeSeriesVAE(max_time=300, **common).fit(energy,
                                                                condition_cols=["weekend"])
        seconds = time.perf_counter() - start
        share = float(energy["weekend"].mean())
        n = 2_000
        labels = np.array([True] * int(n * share) + [False] * (n - int(n * share)))
        for method in ("prior", "aggregate"):
            synthetic = model.generate(method=method, conditions=pd.DataFrame(
                {"weekend": labels}), random_state=1)
            report = tsvae.evaluate(energy, synthetic, n_past=24, by="weekend", fast=True,
                                    plots_in_report=False)
            print(report_line(f"energy {architecture} {method}", report, seconds), flush=True)


if __name__ == "__main__":
    main()
