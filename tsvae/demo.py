"""The demo behind ``make demo`` / ``tsvae demo``: fit on real data, generate, compare."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tsvae.data.windows import sliding_windows
from tsvae.datasets import load_energy
from tsvae.estimator import TimeSeriesVAE
from tsvae.evaluation.summary import summary_table
from tsvae.io import write_table

logger = logging.getLogger(__name__)

DEMO_METHODS = ("prior", "posterior", "aggregate")


@dataclass
class DemoResult:
    model: TimeSeriesVAE
    files: list[Path]
    summary: pd.DataFrame
    fit_seconds: float


def run_demo(output_dir, *, n_windows: int = 2_000, max_epochs: int = 20,
             max_time: float = 150.0, progress_bar: bool = True,
             trainer_kwargs: dict | None = None) -> DemoResult:
    """Fit a VAE on the bundled energy data, write synthetic windows, summarise them.

    Writes ``energy.tsvae`` and ``synthetic_<method>.csv`` into ``output_dir``, replacing
    those files if an earlier run left them (the demo's own outputs, so re-running it works);
    other files in the folder are never touched.
    """
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    data = load_energy()
    model = TimeSeriesVAE(n_past=24, max_epochs=max_epochs, max_time=max_time, random_state=0,
                          progress_bar=progress_bar, trainer_kwargs=trainer_kwargs)
    start = time.perf_counter()
    model.fit(data)
    fit_seconds = time.perf_counter() - start
    files = [output / "energy.tsvae"]
    model.save(files[0], overwrite=True)
    real = sliding_windows(data.to_numpy(np.float64), model.n_past)
    keep = np.random.default_rng(0).choice(len(real), n_windows, replace=False)
    windows = {"real": real[np.sort(keep)]}
    for method in DEMO_METHODS:
        frame = model.generate(n_windows, method=method, random_state=1)
        path = output / f"synthetic_{method}.csv"
        write_table(frame, path, overwrite=True)
        files.append(path)
        windows[method] = frame[model.columns_].to_numpy().reshape(n_windows, model.n_past, -1)
    return DemoResult(model, files, summary_table(windows, model.columns_), fit_seconds)
