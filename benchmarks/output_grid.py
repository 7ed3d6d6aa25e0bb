"""Is synthetic output on the data's own grid? Energy's ``Appliances`` is recorded in tens.

Run: ``make bench`` (or ``python benchmarks/output_grid.py [--quick]``). Fits a small model on
the bundled energy data, generates windows and prints, per column, the grid the schema found
at fit (its step), the share of real and synthetic values on it, and the most decimal places a
CSV of the synthetic windows writes. Target: the share of synthetic ``Appliances`` values that
are multiples of 10 is 1.0 (before the grid: 16-18%).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

import tsvae
from tsvae.io import write_table


def on_grid(values: pd.Series, step: float | None) -> float:
    """Share of ``values`` that are whole multiples of ``step`` (NaN without a step)."""
    if step is None:
        return float("nan")
    ratio = values.to_numpy(np.float64) / step
    return float(np.mean(np.abs(ratio - np.rint(ratio)) < 1e-6))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2,000 rows, 1 epoch")
    args = parser.parse_args()
    data = tsvae.datasets.load_energy().iloc[:2_000 if args.quick else None, :8]
    model = tsvae.TimeSeriesVAE(n_past=24, max_epochs=1 if args.quick else 5,
                                progress_bar=False, random_state=0,
                                trainer_kwargs={"accelerator": "cpu"}).fit(data)
    synthetic = model.generate(200 if args.quick else 1_000, random_state=0)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "synthetic.csv"
        write_table(synthetic, path)
        text = pd.read_csv(path, dtype=str)
    rows = []
    for column in model.output_schema.columns:
        name = column.name
        decimals = text[str(name)].str.partition(".")[2].str.len().max()
        rows.append({"column": name, "step": column.step,
                     "real on grid": on_grid(data[name], column.step),
                     "synthetic on grid": on_grid(synthetic[name], column.step),
                     "CSV decimals (most)": int(decimals)})
    with pd.option_context("display.float_format", "{:.4g}".format, "display.width", 120):
        print(pd.DataFrame(rows).to_string(index=False))
    share = float((synthetic["Appliances"] % 10 == 0).mean())
    print(f"\nshare of synthetic Appliances values that are multiples of 10: {share:.3f}")


if __name__ == "__main__":
    main()
