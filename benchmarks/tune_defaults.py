"""Quick comparison of model settings by discriminative score (the measurements behind the
defaults; see the notes in docs/benchmarks.md).

Run: ``python benchmarks/tune_defaults.py energy '{"max_epochs": 20, "alpha": 20}'``
(data sets: sines, stocks, energy, etth, and two the defaults were not tuned on: air (UCI air
quality, gaps interpolated, the 90%-missing NMHC column dropped) and motions (sktime's
BasicMotions, 80 series of 6 sensor channels, fitted as a panel)). Prints one JSON line:
training time, epochs, validation losses, and for the prior and aggregate methods the
discriminative score (TimeGAN protocol: GRU, 2,000 steps; up to 5,000 windows; mean and the
``--seeds`` values) and the mean lag-1 autocorrelation beside the real one. Scores are taken
against the training split only (the first 90% of each series, or of the windows, as ``fit``
splits them): settings are chosen without looking at the held-out end. Uses the public
API only, so an older checkout can be measured the same way
(``PYTHONPATH=/path/to/old/checkout python benchmarks/tune_defaults.py ...``).
"""

from __future__ import annotations

import argparse
import json
import logging
import time

import numpy as np

import tsvae
from tsvae.data.windows import sliding_windows
from tsvae.evaluation.ml_scores import discriminative_score
from tsvae.evaluation.summary import lag1_autocorrelation


def _basic_motions():
    from sktime.datasets import load_basic_motions

    frame, _ = load_basic_motions(return_type="pd-multiindex")
    frame = frame.reset_index()
    frame.columns = ["case", "t", *frame.columns[2:]]
    return frame


LOADERS = {
    "sines": lambda: tsvae.datasets.make_sines(10_000, length=24, n_features=5, random_state=0),
    "energy": tsvae.datasets.load_energy,
    "stocks": tsvae.datasets.load_stocks,
    "etth": tsvae.datasets.load_etth1,
    "air": lambda: tsvae.datasets.load_air_quality().drop(columns="NMHC(GT)").interpolate(
        limit_direction="both"),
    "motions": _basic_motions,
}
PANEL = {"motions": {"id_col": "case", "time_col": "t"}}


TRAIN_FRACTION = 0.9  # fit's default val_fraction=0.1 holds out the end of each series


def training_windows(name: str, data) -> np.ndarray:
    """Windows of 24 steps from the training split (never the held-out end)."""
    def head(values: np.ndarray) -> np.ndarray:
        return values[: int(len(values) * TRAIN_FRACTION)]

    if isinstance(data, np.ndarray):
        return head(data).astype(np.float64)
    if name in PANEL:
        keys = PANEL[name]
        return np.concatenate([
            sliding_windows(head(part.drop(columns=list(keys.values())).to_numpy(np.float64)),
                            24)
            for _, part in data.groupby(keys["id_col"])])
    return np.ascontiguousarray(sliding_windows(head(data.to_numpy(np.float64)), 24))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", choices=sorted(LOADERS))
    parser.add_argument("params", nargs="?", default="{}", help="TimeSeriesVAE params, JSON")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    name, params = args.data, json.loads(args.params)
    data = LOADERS[name]()
    start = time.time()
    model = tsvae.TimeSeriesVAE(n_past=24, random_state=0, progress_bar=False,
                                trainer_kwargs={"accelerator": "cpu"}, **params)
    model.fit(data, **PANEL.get(name, {}))
    out = {"data": name, "params": params, "fit_s": round(time.time() - start),
           "epochs": model.n_epochs_,
           "val": {k: round(v, 2) for k, v in model.history_.items() if k.startswith("val")}}
    real = training_windows(name, data)
    low, span = real.min((0, 1)), np.ptp(real, axis=(0, 1))
    span[span == 0] = 1

    def scale(w):
        # TimeGAN scores its sines as generated (in [0.5, 1]); real data min-max scaled.
        return (w if name == "sines" else (w - low) / span).astype(np.float32)

    rng = np.random.default_rng(0)
    idx = rng.choice(len(real), min(5000, len(real)), replace=False)
    for method in ("prior", "aggregate"):
        synth = model.generate(len(idx), method=method, random_state=1, as_array=True)
        scores = [discriminative_score(scale(real[idx]), scale(synth), iterations=2000, seed=s)
                  for s in range(args.seeds)]
        out[method] = round(float(np.mean(scores)), 3)
        out[f"{method}_seeds"] = [round(s, 3) for s in scores]
        out[f"{method}_acf"] = round(float(np.nanmean(lag1_autocorrelation(synth))), 2)
    out["real_acf"] = round(float(np.nanmean(lag1_autocorrelation(real[idx]))), 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
