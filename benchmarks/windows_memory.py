"""Peak memory of window preparation for a large frame: views, not copies.

Run: ``make bench`` (or ``python benchmarks/windows_memory.py [--rows 2000000]``).
A 2,000,000 x 16 float32 frame with n_past=64: materialised windows would take 64x the raw
array; the target is a peak under 3x (measured with tracemalloc, which sees numpy buffers).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
import pandas as pd

from tsvae.data.datamodule import WindowDataModule
from tsvae.data.prepare import prepare_training_data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--columns", type=int, default=16)
    parser.add_argument("--n-past", type=int, default=64)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(args.rows, args.columns)).astype(np.float32),
                         columns=[f"c{j}" for j in range(args.columns)])
    raw = args.rows * args.columns * 4
    tracemalloc.start()
    start = time.perf_counter()
    prepared = prepare_training_data(frame, length=args.n_past)
    module = WindowDataModule(prepared.values, prepared.split.train_starts,
                              prepared.split.val_starts, args.n_past, batch_size=128)
    batch = next(iter(module.train_dataloader()))
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    n_windows = len(module.train_set) + len(module.val_set)
    print(f"frame {args.rows:,} x {args.columns} float32 = {raw / 2**20:,.0f} MiB raw; "
          f"n_past={args.n_past}: {n_windows:,} windows, batch {tuple(batch.shape)}")
    materialised = n_windows * args.n_past * args.columns * 4
    print(f"materialised windows would need {materialised / 2**20:,.0f} MiB "
          f"({materialised / raw:.0f}x raw)")
    print(f"peak traced memory of preparation: {peak / 2**20:,.0f} MiB = {peak / raw:.2f}x raw "
          f"(target < 3x); {elapsed:.2f} s")


if __name__ == "__main__":
    main()
