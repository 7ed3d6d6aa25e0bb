"""Helpers shared by the benchmark scripts (not part of the package)."""

from __future__ import annotations

import logging
import resource
import statistics
import time
from pathlib import Path


def append_rows(table, output) -> None:
    """Add ``table``'s rows to the CSV at ``output`` (nothing when ``output`` is None), merged
    by column name: runs with other options score other columns."""
    if not output:
        return
    import pandas as pd

    path = Path(output)
    if path.exists():
        table = pd.concat([pd.read_csv(path), table], ignore_index=True)
    table.to_csv(path, index=False)


def quiet_lightning() -> None:
    for name in ("pytorch_lightning", "lightning.pytorch"):
        logging.getLogger(name).setLevel(logging.ERROR)


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def median_time(fn, repeats: int = 3) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def load_energy_and_describe(setting: str):
    """The bundled Energy data, after printing the machine and data line of a benchmark."""
    import torch

    import tsvae

    data = tsvae.datasets.load_energy()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; energy "
          f"{data.shape[0]} rows x {data.shape[1]} features, n_past=24, {setting}")
    return data
