"""Wide data: fit and generate time and peak memory for thousands of columns.

A random walk of ``--rows`` rows and ``--columns`` columns, the defaults with one epoch.
Prints fit seconds, seconds to generate 2 windows and the process's peak memory. Measured on
the shared 2-core machine (one thread): 2,000 columns fit in 13 s and generate in 0.01 s;
10,000 columns fit in 47 s at 4.4 GB peak. Beyond the available memory ``fit`` refuses
before training (``tsvae.generation.budget.training_bytes``).

    OMP_NUM_THREADS=1 python benchmarks/wide_data.py --columns 2000
    python benchmarks/wide_data.py --quick
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd

import tsvae


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--columns", type=int, nargs="+", default=[2_000, 10_000])
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="smoke run: 200 columns")
    args = parser.parse_args()
    if args.quick:
        args.columns = [200]
    for n_columns in args.columns:
        rng = np.random.default_rng(0)
        frame = pd.DataFrame(rng.normal(size=(args.rows, n_columns)).cumsum(axis=0),
                             columns=[f"c{i}" for i in range(n_columns)])
        start = time.perf_counter()
        model = tsvae.TimeSeriesVAE(n_past=24, max_epochs=1, progress_bar=False,
                                    random_state=0).fit(frame)
        fitted = time.perf_counter()
        model.generate(2, random_state=0)
        done = time.perf_counter()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(f"{n_columns:,} columns x {args.rows} rows: fit {fitted - start:.1f} s, "
              f"generate 2 windows {done - fitted:.2f} s, peak memory so far {peak:.2f} GiB",
              flush=True)


if __name__ == "__main__":
    main()
