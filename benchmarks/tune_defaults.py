"""Quick comparison of model settings by discriminative score (the measurements behind the
defaults; see the notes in docs/benchmarks.md).

Run: ``python benchmarks/tune_defaults.py energy '{"max_epochs": 20, "alpha": 20}'``
(data sets: energy, stocks, etth, air). Prints one JSON line: training time, epochs,
validation losses, and for the prior and aggregate methods the discriminative score (GRU,
1,000 steps, up to 5,000 windows) and the mean lag-1 autocorrelation beside the real one.
"""

from __future__ import annotations

import json
import logging
import sys
import time

import numpy as np

import tsvae
from tsvae.data.windows import sliding_windows
from tsvae.evaluation.ml_scores import discriminative_score
from tsvae.evaluation.summary import lag1_autocorrelation

LOADERS = {
    "energy": tsvae.datasets.load_energy,
    "stocks": tsvae.datasets.load_stocks,
    "etth": tsvae.datasets.load_etth1,
    "air": lambda: tsvae.datasets.load_air_quality().drop(columns="NMHC(GT)").interpolate(
        limit_direction="both"),
}


def main() -> None:
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    name, params = sys.argv[1], json.loads(sys.argv[2] if len(sys.argv) > 2 else "{}")
    frame = LOADERS[name]()
    start = time.time()
    model = tsvae.TimeSeriesVAE(n_past=24, random_state=0, progress_bar=False,
                                trainer_kwargs={"accelerator": "cpu"}, **params).fit(frame)
    out = {"data": name, "params": params, "fit_s": round(time.time() - start),
           "epochs": model.n_epochs_,
           "val": {k: round(v, 2) for k, v in model.history_.items() if k.startswith("val")}}
    real = np.ascontiguousarray(sliding_windows(frame.to_numpy(np.float64), 24))
    low, span = real.min((0, 1)), np.ptp(real, axis=(0, 1))
    span[span == 0] = 1

    def scale(w):
        return ((w - low) / span).astype(np.float32)

    rng = np.random.default_rng(0)
    idx = rng.choice(len(real), min(5000, len(real)), replace=False)
    for method in ("prior", "aggregate"):
        synth = model.generate(len(idx), method=method, random_state=1, as_array=True)
        out[method] = round(discriminative_score(scale(real[idx]), scale(synth),
                                                 iterations=1000), 3)
        out[f"{method}_acf"] = round(float(np.nanmean(lag1_autocorrelation(synth))), 2)
    out["real_acf"] = round(float(np.nanmean(lag1_autocorrelation(real[idx]))), 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
