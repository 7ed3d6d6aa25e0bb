"""Peak memory of ``fit`` on a big Parquet file: 20,000,000 rows x 8 float32 columns.

Run: ``make bench`` (or ``python benchmarks/large_input_memory.py [--rows 20000000]
[--features 8] [--n-past 24]``).
Writes the file (row group by row group, with a minutely ``time`` column) to a temporary
folder, then fits in a fresh process and prints the peak resident memory above the process's
memory just before ``fit`` (torch, Lightning, pyarrow and the package already imported, their
cost printed beside it), as a multiple of the raw float32 feature array. Targets: below 2.5x
for 20,000,000 x 8 with ``n_past=24``; below 4x for 2,000,000 x 16 with ``n_past=64``. For
comparison, ``fit(frame)`` on a frame the user already read (its memory counted before
``fit``). Training is cut to a few batches (``limit_train_batches``): memory does not grow with
the number of batches, time does.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

N_FEATURES = 8

CHILD = r"""
import json, logging, resource, sys, time

def rss_mib():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS")) / 1024

bare = rss_mib()
# The libraries fit loads (torch, Lightning, pandas, pyarrow) are loaded before the baseline:
# the figure is what fit itself adds, not the cost of importing torch (about 400 MiB).
import pyarrow.parquet, pytorch_lightning, torch
import tsvae, tsvae.estimator, tsvae.io
logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
libraries = rss_mib() - bare

path, source, n_past = sys.argv[1], sys.argv[2], int(sys.argv[3])
if source == "frame":
    import pandas as pd
    frame = pd.read_parquet(path)  # the user's frame, in memory before fit starts
before = rss_mib()
start = time.perf_counter()
model = tsvae.TimeSeriesVAE(
    n_past=n_past, max_epochs=1, progress_bar=False, random_state=0,
    trainer_kwargs={"accelerator": "cpu", "limit_train_batches": 20, "limit_val_batches": 5})
model.fit(path if source == "path" else frame, time_col="time")
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"before": before, "peak": peak, "seconds": seconds, "libraries": libraries,
                  "windows": int(len(model.train_latents_.latents.mu))}))
"""


def write_parquet(path: Path, rows: int, n_features: int = N_FEATURES,
                  chunk: int = 1_000_000) -> None:
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    writer = None
    start = pd.Timestamp("2000-01-01")
    for first in range(0, rows, chunk):
        n = min(chunk, rows - first)
        t = np.arange(first, first + n)
        columns = {"time": pd.date_range(start + pd.Timedelta(minutes=first), periods=n,
                                            freq="min")}
        for j in range(n_features):
            columns[f"x{j}"] = (np.sin(2 * np.pi * t / (24 * (j + 1)))
                                + 0.3 * rng.standard_normal(n)).astype(np.float32)
        table = pa.Table.from_pandas(pd.DataFrame(columns), preserve_index=False)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--sources", nargs="+", default=["path", "frame"],
                        help="fit(path) and/or fit(frame) of a frame already read")
    parser.add_argument("--features", type=int, default=N_FEATURES)
    parser.add_argument("--n-past", type=int, default=24)
    args = parser.parse_args()
    raw_mib = args.rows * args.features * 4 / 2**20
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.parquet"
        start = time.perf_counter()
        write_parquet(path, args.rows, args.features)
        print(f"{args.rows:,} rows x {args.features} float32 columns + time, n_past "
              f"{args.n_past}: raw float32 array "
              f"{raw_mib:,.0f} MiB, file {path.stat().st_size / 2**20:,.0f} MiB "
              f"(written in {time.perf_counter() - start:.0f} s)")
        for source in args.sources:
            done = subprocess.run([sys.executable, "-c", CHILD, str(path), source,
                                   str(args.n_past)],
                                  capture_output=True, text=True, check=True)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            extra = result["peak"] - result["before"]
            label = "fit(path)" if source == "path" else "fit(frame already in memory)"
            print(f"{label:<28} peak above pre-fit memory {extra:,.0f} MiB = "
                  f"{extra / raw_mib:.2f}x raw (pre-fit {result['before']:,.0f} MiB, of which "
                  f"libraries {result['libraries']:,.0f} MiB; fit {result['seconds']:.0f} s, "
                  f"{result['windows']:,} windows encoded)")


if __name__ == "__main__":
    main()
